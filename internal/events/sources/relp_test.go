package sources

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/testenv"
)

func startRELP(t *testing.T, sink events.Sink, opts RELPOptions) (*RELP, *prometheus.Registry, func()) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Listen = orDefault(opts.Listen, "127.0.0.1:0")
	opts.Registerer = reg
	r, err := ListenRELP(opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	return r, reg, run(t, r.Run)
}

// relpClient speaks RELP by hand, to test what rsyslog never sends.
type relpClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRELP(t *testing.T, addr string) *relpClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &relpClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *relpClient) send(txnr int, cmd, data string) {
	c.t.Helper()
	s := fmt.Sprintf("%d %s %d", txnr, cmd, len(data))
	if data != "" {
		s += " " + data
	}
	if _, err := io.WriteString(c.conn, s+"\n"); err != nil {
		c.t.Fatal(err)
	}
}

// answer reads one frame from vigie, or fails the test after 10s.
func (c *relpClient) answer() relpFrame {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := readRELPFrame(c.r, 1<<20)
	if err != nil {
		c.t.Fatalf("reading an answer: %v", err)
	}
	return f
}

func (c *relpClient) open() {
	c.t.Helper()
	c.send(1, "open", "relp_version=0\nrelp_software=test\ncommands=syslog")
	f := c.answer()
	if f.txnr != 1 || f.command != "rsp" || !strings.HasPrefix(string(f.data), "200 OK\n") || !strings.Contains(string(f.data), "commands=syslog") {
		c.t.Fatalf("open answered %d %s %q", f.txnr, f.command, f.data)
	}
}

// closed says whether vigie closed the connection (after any frames it
// still had to send).
func (c *relpClient) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(c.r)
	return err == nil
}

func TestRELPFrames(t *testing.T) {
	for _, tc := range []struct {
		in      string
		txnr    int
		command string
		data    string
		err     error
	}{
		{in: "1 open 5 hello\n", txnr: 1, command: "open", data: "hello"},
		{in: "999999999 syslog 3 a\nb\n", txnr: 999999999, command: "syslog", data: "a\nb"},
		{in: "2 close 0\n", txnr: 2, command: "close"},
		{in: "2 close 0 \n", txnr: 2, command: "close"},
		{in: "0 serverclose 0\n", command: "serverclose"},
		{in: "x open 0\n", err: errRELPFrame},
		{in: "1234567890 open 0\n", err: errRELPFrame},
		{in: "1  open 0\n", err: errRELPFrame},
		{in: "1 op3n 0\n", err: errRELPFrame},
		{in: "1 " + strings.Repeat("a", 33) + " 0\n", err: errRELPFrame},
		{in: "1 open 5 hello!", err: errRELPFrame},
		{in: "1 open 5hello\n", err: errRELPFrame},
		{in: "1 open -1\n", err: errRELPFrame},
		{in: "1 open 17 short\n", err: io.ErrUnexpectedEOF},
		{in: "1 open 101 " + strings.Repeat("x", 101) + "\n", err: errRELPTooLarge},
		{in: "1 open", err: io.ErrUnexpectedEOF},
		{in: "", err: io.EOF},
	} {
		f, err := readRELPFrame(bufio.NewReader(strings.NewReader(tc.in)), 100)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || f.txnr != tc.txnr || f.command != tc.command || string(f.data) != tc.data {
			t.Errorf("%q: %d %q %q %v", tc.in, f.txnr, f.command, f.data, err)
		}
	}
}

// A session: open, messages answered in txnr order once stored, a bad
// message and an unknown command answered 500, close answered then
// serverclose.
func TestRELPSession(t *testing.T) {
	sink := &recordSink{}
	r, reg, _ := startRELP(t, sink, RELPOptions{})
	c := dialRELP(t, r.Addr())
	c.open()
	c.send(2, "syslog", "<11>1 2026-01-02T03:04:05Z db1 postgres - - - disk full")
	c.send(3, "syslog", "<14>Nov 23 06:00:00 web1 nginx[12]: reload")
	c.send(4, "syslog", "not syslog")
	c.send(5, "starttls", "")
	c.send(6, "syslog", "<8>1 2026-01-02T03:04:05Z db2 app - - - panic")
	c.send(7, "close", "")
	want := []string{"2 rsp 200 OK", "3 rsp 200 OK", "4 rsp 500", "5 rsp 500 unknown command starttls", "6 rsp 200 OK", "7 rsp ", "0 serverclose "}
	for _, w := range want {
		f := c.answer()
		got := fmt.Sprintf("%d %s %s", f.txnr, f.command, f.data)
		if !strings.HasPrefix(got, w) {
			t.Fatalf("answer %q, want %q", got, w)
		}
	}
	if !c.closed() {
		t.Fatal("connection not closed after close")
	}
	evs := sink.events()
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(evs), evs)
	}
	if ev := evs[0]; ev.Connector != "syslog" || ev.ConnectorName != "syslog" || ev.Component != "db1" || ev.Resource != "postgres" ||
		ev.Output != "disk full" || ev.State != 1 {
		t.Fatalf("first event %+v", ev)
	}
	if evs[2].Criticality != "red" {
		t.Fatalf("emergency not red: %+v", evs[2])
	}
	if n := counterValue(t, reg, "vigie_events_received_total", map[string]string{"source": "relp"}); n != 3 {
		t.Fatalf("received %v", n)
	}
	if n := counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "relp", "reason": ReasonParse}); n != 1 {
		t.Fatalf("parse refusals %v", n)
	}
	if n := counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "relp", "reason": ReasonInvalid}); n != 1 {
		t.Fatalf("invalid refusals %v", n)
	}
}

// Bad input closes the connection with a counter; what was read before
// is still stored and answered.
func TestRELPBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames string
		reason string
		open   bool
	}{
		{"malformed", "2 syslog 21 <11>1 - h app - - - a\n3 syslog x\n", ReasonParse, true},
		{"too large", "2 syslog 21 <11>1 - h app - - - a\n3 syslog 5000 ", ReasonTooLarge, true},
		{"no open", "1 syslog 21 <11>1 - h app - - - a\n", ReasonInvalid, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recordSink{}
			r, reg, _ := startRELP(t, sink, RELPOptions{MaxFrameBytes: 4096})
			c := dialRELP(t, r.Addr())
			if tc.open {
				c.open()
			}
			io.WriteString(c.conn, tc.frames)
			if !c.closed() {
				t.Fatal("connection not closed")
			}
			waitFor(t, "the refusal counted", func() bool {
				return counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "relp", "reason": tc.reason}) == 1
			})
			// The good frame before the bad one is stored all the same.
			if want := map[bool]int{true: 1, false: 0}[tc.open]; len(sink.events()) != want {
				t.Fatalf("%d events stored, want %d", len(sink.events()), want)
			}
		})
	}
}

// A failing sink: nothing is answered and the connection closes, so that
// the sender sends again; once the sink is back, the same frames are
// stored and answered.
func TestRELPSinkFailureLeavesUnanswered(t *testing.T) {
	sink := &recordSink{}
	sink.setFail(errSinkDown)
	r, reg, _ := startRELP(t, sink, RELPOptions{})
	c := dialRELP(t, r.Addr())
	c.open()
	c.send(2, "syslog", "<11>1 2026-01-02T03:04:05Z db1 app - - - one")
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(c.r)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after a sink failure: %q %v, want a close with no answer", rest, err)
	}
	if n := counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "relp", "reason": ReasonSink}); n != 1 {
		t.Fatalf("sink refusals %v", n)
	}
	sink.setFail(nil)
	c = dialRELP(t, r.Addr())
	c.open()
	c.send(2, "syslog", "<11>1 2026-01-02T03:04:05Z db1 app - - - one")
	if f := c.answer(); f.txnr != 2 || string(f.data) != "200 OK" {
		t.Fatalf("answer %d %q", f.txnr, f.data)
	}
	if len(sink.events()) != 1 {
		t.Fatalf("%d events", len(sink.events()))
	}
}

// The window and the byte budget: a sender that does not wait for
// answers is read at most Window frames, or MaxPendingBytes, ahead of
// what was stored.
func TestRELPWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     RELPOptions
		msgBytes int
		maxBatch int
	}{
		{"frames", RELPOptions{Window: 4}, 10, 4},
		{"bytes", RELPOptions{MaxFrameBytes: 4096, MaxPendingBytes: 8192}, 3000, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			block := make(chan struct{})
			sink := &blockingSink{recordSink: &recordSink{}, block: block}
			r, _, _ := startRELP(t, sink, tc.opts)
			c := dialRELP(t, r.Addr())
			c.open()
			msg := "<11>1 2026-01-02T03:04:05Z db1 app - - - " + strings.Repeat("m", tc.msgBytes)
			go func() {
				for i := range 50 {
					c.send(2+i, "syslog", msg)
				}
			}()
			waitFor(t, "a first batch", func() bool { return sink.waiting() > 0 })
			time.Sleep(200 * time.Millisecond)
			close(block)
			for i := range 50 {
				if f := c.answer(); f.txnr != 2+i || string(f.data) != "200 OK" {
					t.Fatalf("answer %d: %d %q", i, f.txnr, f.data)
				}
			}
			if m := sink.largest(); m > tc.maxBatch {
				t.Fatalf("a batch of %d events, want at most %d", m, tc.maxBatch)
			}
		})
	}
}

// blockingSink holds every Ingest until block closes.
type blockingSink struct {
	*recordSink
	block chan struct{}
	n     int
	max   int
}

func (s *blockingSink) Ingest(ctx context.Context, evs []events.Event) error {
	s.recordSink.mu.Lock()
	s.n++
	s.max = max(s.max, len(evs))
	s.recordSink.mu.Unlock()
	<-s.block
	return s.recordSink.Ingest(ctx, evs)
}

func (s *blockingSink) waiting() int {
	s.recordSink.mu.Lock()
	defer s.recordSink.mu.Unlock()
	return s.n
}

func (s *blockingSink) largest() int {
	s.recordSink.mu.Lock()
	defer s.recordSink.mu.Unlock()
	return s.max
}

// The real sender: a private rsyslogd takes messages on its TCP input and
// forwards them with omrelp; every one becomes an event. A payload that
// is not syslog is answered 500, counted, and rsyslog goes on with the
// rest.
func TestRELPWithRsyslog(t *testing.T) {
	sink := &recordSink{}
	r, reg, _ := startRELP(t, sink, RELPOptions{ConnectorName: "relp-test"})
	input, _ := testenv.Rsyslog(t, r.Addr())
	conn, err := net.Dial("tcp", input)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 500
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, "<11>1 2026-01-02T03:04:05Z host-%d kernel - - - message %d\n", i, i)
		if i == n/2 {
			// Two on one connection: the refused one holds up nothing.
			buf.WriteString("<11>1 2026-01-02T03:04:05Z host-x kernel - - - raw:not syslog\n")
			buf.WriteString("<11>1 2026-01-02T03:04:05Z host-x kernel - - - raw:<11>1 2026-01-02T03:04:05Z host-after kernel - - - after\n")
		}
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message forwarded", func() bool { return len(sink.events()) >= n+1 })
	waitFor(t, "the raw payload refused", func() bool {
		return counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "relp", "reason": ReasonParse}) == 1
	})
	seen := map[string]bool{}
	for _, ev := range sink.events() {
		if ev.Component == "host-after" {
			continue
		}
		if ev.ConnectorName != "relp-test" || ev.Resource != "kernel" || ev.State != 1 {
			t.Fatalf("event %+v", ev)
		}
		seen[ev.Component] = true
	}
	if _, ok := findOutput(sink.events(), "after"); !ok {
		t.Fatal("the message after the refused one on its connection is missing")
	}
	for i := range n {
		if !seen[fmt.Sprintf("host-%d", i)] {
			t.Fatalf("message %d missing", i)
		}
	}
}

// FuzzRELP runs the frame reader over any bytes: never a panic or a
// frame over the bound, and every frame read writes back the same.
func FuzzRELP(f *testing.F) {
	f.Add([]byte("1 open 44 relp_version=0\nrelp_software=x\ncommands=syslog\n2 syslog 5 <11>x\n3 close 0\n"))
	f.Add([]byte("2 syslog 70 <11>1 2026-01-02T03:04:05Z db1 postgres - - - disk full on /var/lib/pg\n"))
	f.Add([]byte("0 serverclose 0 \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 256
		r := bufio.NewReader(bytes.NewReader(data))
		p := newSyslogParser()
		for range 1000 {
			fr, err := readRELPFrame(r, max)
			if err != nil {
				return
			}
			if len(fr.data) > max || len(fr.command) == 0 || len(fr.command) > relpMaxCommand || fr.txnr < 0 || fr.txnr > 999999999 {
				t.Fatalf("frame out of bounds: %+v", fr)
			}
			var b bytes.Buffer
			fmt.Fprintf(&b, "%d %s %d", fr.txnr, fr.command, len(fr.data))
			if len(fr.data) > 0 {
				b.WriteByte(' ')
				b.Write(fr.data)
			}
			b.WriteByte('\n')
			again, err := readRELPFrame(bufio.NewReader(&b), max)
			if err != nil || again.txnr != fr.txnr || again.command != fr.command || !bytes.Equal(again.data, fr.data) {
				t.Fatalf("round trip of %+v: %+v %v", fr, again, err)
			}
			if fr.command == "syslog" {
				p.event(trimMessage(fr.data), "syslog", "192.0.2.1", time.Unix(0, 0))
			}
		}
	})
}

// Connections over MaxConns are closed at once and counted; an idle one
// is closed after IdleTimeout.
func TestRELPConnectionBounds(t *testing.T) {
	sink := &recordSink{}
	r, reg, _ := startRELP(t, sink, RELPOptions{MaxConns: 1, IdleTimeout: 300 * time.Millisecond})
	first := dialRELP(t, r.Addr())
	first.open()
	second := dialRELP(t, r.Addr())
	if !second.closed() {
		t.Fatal("a connection over max_conns was served")
	}
	if n := counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "relp", "reason": ReasonConns}); n != 1 {
		t.Fatalf("conns refusals %v", n)
	}
	start := time.Now()
	if !first.closed() {
		t.Fatal("an idle connection stayed open")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("closed after %v", d)
	}
	// Its slot is free again (soon after the close: the server releases
	// it once the connection's goroutines ended).
	waitFor(t, "a connection served again", func() bool {
		conn, err := net.Dial("tcp", r.Addr())
		if err != nil {
			return false
		}
		defer conn.Close()
		io.WriteString(conn, "1 open 0\n")
		conn.SetReadDeadline(time.Now().Add(time.Second))
		f, err := readRELPFrame(bufio.NewReader(conn), 1<<10)
		return err == nil && f.command == "rsp"
	})
}

// On shutdown, what was read is stored and answered, then serverclose.
func TestRELPShutdown(t *testing.T) {
	sink := &recordSink{}
	r, _, stop := startRELP(t, sink, RELPOptions{})
	c := dialRELP(t, r.Addr())
	c.open()
	c.send(2, "syslog", "<11>1 2026-01-02T03:04:05Z db1 app - - - one")
	if f := c.answer(); f.txnr != 2 {
		t.Fatalf("answer %d", f.txnr)
	}
	stop()
	if f := c.answer(); f.txnr != 0 || f.command != "serverclose" {
		t.Fatalf("after stop: %d %s", f.txnr, f.command)
	}
	if !c.closed() {
		t.Fatal("connection open after serverclose")
	}
}

// FuzzRELPSession runs a whole connection over any bytes the sender
// writes: never a panic or a hang, every answer a well-formed frame, and
// every event stored well-formed.
func FuzzRELPSession(f *testing.F) {
	f.Add([]byte("1 open 44 relp_version=0\nrelp_software=x\ncommands=syslog\n2 syslog 21 <11>1 - h app - - - a\n3 close 0\n"))
	f.Add([]byte("1 open 0\n2 syslog 3 abc\n3 starttls 0\n4 syslog 99999 x"))
	f.Add([]byte("2 syslog 21 <11>1 - h app - - - a\n"))
	// Real TCP, not net.Pipe: the sender closes its side only, and reads
	// every answer after.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := &recordSink{}
		r := newRELP(RELPOptions{
			ConnectorName: "syslog", MaxFrameBytes: 1024, Window: 4, MaxPendingBytes: 2048, MaxConns: 1,
			IdleTimeout: time.Second, WriteTimeout: time.Second, BatchSize: 2,
			Logger: slog.New(slog.DiscardHandler),
		}, sink)
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.serve(context.Background(), server)
		}()
		answers := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(client)
			answers <- b
		}()
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(data)
		client.(*net.TCPConn).CloseWrite()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the connection did not end")
		}
		var got []byte
		select {
		case got = <-answers:
		case <-time.After(5 * time.Second):
			t.Fatal("the connection was not closed")
		}
		br := bufio.NewReader(bytes.NewReader(got))
		for {
			fr, err := readRELPFrame(br, 1<<10)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("a malformed answer: %v", err)
			}
			if fr.command != "rsp" && fr.command != "serverclose" {
				t.Fatalf("answered %q", fr.command)
			}
		}
		for _, ev := range sink.events() {
			if ev.Component == "" || ev.State < 0 || ev.State > 3 || ev.Connector != "syslog" {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}
