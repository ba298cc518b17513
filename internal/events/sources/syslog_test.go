package sources

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
)

func startSyslog(t *testing.T, sink events.Sink, opts SyslogOptions) (*Syslog, *prometheus.Registry, func()) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Listen = orDefault(opts.Listen, "127.0.0.1:0")
	opts.Registerer = reg
	s, err := ListenSyslog(opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, s.Run)
	return s, reg, stop
}

func needLogger(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("logger")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("logger (util-linux) is missing")
		}
		t.Skip("logger (util-linux) is missing")
	}
	return p
}

func sendLogger(t *testing.T, addr string, args ...string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(needLogger(t), append([]string{"-n", host, "-P", port}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger %v: %v: %s", args, err, out)
	}
}

func findOutput(evs []events.Event, output string) (events.Event, bool) {
	for _, ev := range evs {
		if ev.Output == output {
			return ev, true
		}
	}
	return events.Event{}, false
}

// The real logger sends each RFC and framing; the sink gets the event.
func TestSyslogWithLogger(t *testing.T) {
	needLogger(t)
	host, _ := os.Hostname()
	sink := &recordSink{}
	s, reg, _ := startSyslog(t, sink, SyslogOptions{ConnectorName: "edge-syslog"})
	tests := []struct {
		name string
		args []string
	}{
		{"udp rfc5424", []string{"-d", "--rfc5424"}},
		{"udp rfc3164", []string{"-d", "--rfc3164"}},
		{"tcp rfc5424", []string{"-T", "--rfc5424"}},
		{"tcp rfc3164", []string{"-T", "--rfc3164"}},
		{"tcp rfc5424 octet-counting", []string{"-T", "--rfc5424", "--octet-count"}},
		{"tcp rfc3164 octet-counting", []string{"-T", "--rfc3164", "--octet-count"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := fmt.Sprintf("disk nearly full %d %s", i, tt.name)
			sendLogger(t, s.Addr(), append(tt.args, "-t", "diskwatch", "-p", "daemon.err", msg)...)
			var ev events.Event
			waitFor(t, "the event", func() bool {
				var ok bool
				ev, ok = findOutput(sink.events(), msg)
				return ok
			})
			if ev.Connector != "syslog" || ev.ConnectorName != "edge-syslog" || ev.Component != host ||
				ev.Resource != "diskwatch" || ev.SourceType != "resource" || ev.EventType != events.TypeCheck ||
				ev.State != events.StateMinor || ev.Criticality != events.Green ||
				ev.Tags["facility"] != "daemon" || ev.Tags["severity"] != "3" || ev.Time.IsZero() {
				t.Fatalf("event %+v", ev)
			}
		})
	}
	if got := counterValue(t, reg, "vigie_events_received_total", map[string]string{"source": "syslog"}); got != float64(len(tests)) {
		t.Fatalf("received counter %v, want %d", got, len(tests))
	}
}

// Every severity is qualified by the default rule, through the real logger.
func TestSyslogQualification(t *testing.T) {
	needLogger(t)
	sink := &recordSink{}
	s, _, _ := startSyslog(t, sink, SyslogOptions{})
	tests := []struct {
		prio  string
		typ   string
		state int
		crit  string
	}{
		{"user.emerg", events.TypeCheck, 3, events.Red},
		{"user.alert", events.TypeCheck, 3, events.Red},
		{"user.crit", events.TypeCheck, 2, events.Orange},
		{"user.err", events.TypeCheck, 1, events.Green},
		{"user.warning", events.TypeCheck, 1, events.Green},
		{"user.notice", events.TypeLog, 0, ""},
		{"user.info", events.TypeLog, 0, ""},
		{"user.debug", events.TypeLog, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.prio, func(t *testing.T) {
			msg := "qualify " + tt.prio
			sendLogger(t, s.Addr(), "-T", "--rfc5424", "-p", tt.prio, msg)
			var ev events.Event
			waitFor(t, "the event", func() bool {
				var ok bool
				ev, ok = findOutput(sink.events(), msg)
				return ok
			})
			if ev.EventType != tt.typ || ev.State != tt.state || ev.Criticality != tt.crit {
				t.Fatalf("%s: got type %s state %d criticality %q", tt.prio, ev.EventType, ev.State, ev.Criticality)
			}
		})
	}
}

// Malformed and oversized messages are refused with a counter; the
// listener goes on serving.
func TestSyslogBadInput(t *testing.T) {
	sink := &recordSink{}
	s, reg, _ := startSyslog(t, sink, SyslogOptions{MaxMessageBytes: 1024})
	refused := func(reason string) float64 {
		return counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "syslog", "reason": reason})
	}
	udp, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	udp.Write([]byte("not syslog at all"))
	udp.Write([]byte("<999>1 - - - - - - bad priority"))
	udp.Write([]byte("<14>1 2026-01-02T03:04:05Z h app - - - " + strings.Repeat("x", 2000)))
	waitFor(t, "udp refusals", func() bool { return refused(ReasonParse) == 2 && refused(ReasonTooLarge) == 1 })

	tcp, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	big := "<14>1 2026-01-02T03:04:05Z h app - - - " + strings.Repeat("y", 3000)
	fmt.Fprintf(tcp, "garbage line\n")
	fmt.Fprintf(tcp, "%s\n", big)
	fmt.Fprintf(tcp, "%d %s", len(big), big)
	fmt.Fprintf(tcp, "<11>1 2026-01-02T03:04:05Z h app - - - still served\n")
	waitFor(t, "tcp refusals and the good message", func() bool {
		_, ok := findOutput(sink.events(), "still served")
		return ok && refused(ReasonParse) == 3 && refused(ReasonTooLarge) == 3
	})
	// Bad framing closes the connection, and is counted.
	fmt.Fprintf(tcp, "12x34 nonsense\n")
	waitFor(t, "the framing refusal", func() bool { return refused(ReasonParse) == 4 })
	tcp.SetReadDeadline(time.Now().Add(10 * time.Second))
	assertClosed(t, tcp)
}

// When the sink fails, a TCP connection is closed (the sender keeps what
// follows) and the loss is counted; the listener serves the next one.
func TestSyslogSinkFailureClosesTCP(t *testing.T) {
	sink := &recordSink{}
	sink.setFail(errSinkDown)
	s, reg, _ := startSyslog(t, sink, SyslogOptions{})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<11>1 2026-01-02T03:04:05Z h app - - - lost\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	assertClosed(t, conn)
	if got := counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "syslog", "reason": ReasonSink}); got != 1 {
		t.Fatalf("sink refusals %v, want 1", got)
	}
	sink.setFail(nil)
	conn2, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "<11>1 2026-01-02T03:04:05Z h app - - - kept\n")
	waitFor(t, "the event after recovery", func() bool { _, ok := findOutput(sink.events(), "kept"); return ok })
}

// Over UDP nothing can be acknowledged: what the sink fails to store is
// counted as lost.
func TestSyslogUDPSinkFailureCounted(t *testing.T) {
	sink := &recordSink{}
	sink.setFail(errSinkDown)
	s, reg, _ := startSyslog(t, sink, SyslogOptions{})
	conn, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<11>1 2026-01-02T03:04:05Z h app - - - lost over udp")
	waitFor(t, "the loss to be counted", func() bool {
		return counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "syslog", "reason": ReasonSink}) == 1
	})
}

// Many messages on one connection arrive in batches, in order, none lost,
// and what was read is stored when the listener stops.
func TestSyslogTCPBatchesAndStop(t *testing.T) {
	sink := &recordSink{}
	s, _, stop := startSyslog(t, sink, SyslogOptions{BatchSize: 16})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	w := bufio.NewWriter(conn)
	for i := range n {
		fmt.Fprintf(w, "<13>1 2026-01-02T03:04:05Z h app - - - m%d\n", i)
	}
	w.Flush()
	waitFor(t, "all events", func() bool { return len(sink.events()) == n })
	conn.Close()
	stop()
	evs := sink.events()
	for i, ev := range evs {
		if ev.Output != fmt.Sprintf("m%d", i) {
			t.Fatalf("event %d is %q", i, ev.Output)
		}
	}
	if c := sink.ingestCalls(); c < n/16 || c >= n {
		t.Fatalf("%d Ingest calls for %d events in batches of 16", c, n)
	}
}

func TestSyslogMaxConns(t *testing.T) {
	sink := &recordSink{}
	s, reg, _ := startSyslog(t, sink, SyslogOptions{MaxConns: 1})
	c1, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	fmt.Fprintf(c1, "<13>1 - h app - - - first\n")
	waitFor(t, "the first connection's event", func() bool { _, ok := findOutput(sink.events(), "first"); return ok })
	c2, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	assertClosed(t, c2)
	if got := counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "syslog", "reason": ReasonConns}); got != 1 {
		t.Fatalf("conns refusals %v", got)
	}
}

// assertClosed fails unless the peer closed conn.
func assertClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := conn.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); err == nil || (ok && ne.Timeout()) {
		t.Fatalf("connection still open: %v", err)
	}
}

// RFC 3164 has no year: a December message read in January is last year's.
func TestSyslog3164YearRollover(t *testing.T) {
	p := newSyslogParser()
	jan := time.Date(time.Now().Year(), 1, 1, 0, 5, 0, 0, time.Local)
	ev, err := p.event([]byte("<13>Dec 31 23:59:00 h app: late"), "syslog", "192.0.2.1", jan)
	if err != nil {
		t.Fatal(err)
	}
	if y := ev.Time.In(time.Local).Year(); y != jan.Year()-1 {
		t.Fatalf("year %d, want %d", y, jan.Year()-1)
	}
	ev, err = p.event([]byte("<13>Jan  1 00:04:00 h app: on time"), "syslog", "192.0.2.1", jan)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Time.Equal(jan.Add(-time.Minute)) {
		t.Fatalf("time %v, want %v", ev.Time, jan.Add(-time.Minute))
	}
}

func TestSyslogQualifyTable(t *testing.T) {
	want := []int{3, 3, 2, 1, 1, 0, 0, 0}
	for sev, st := range want {
		typ, state, _ := SyslogQualify(uint8(sev))
		if state != st || (sev >= 5) != (typ == events.TypeLog) {
			t.Errorf("severity %d: %s %d", sev, typ, state)
		}
	}
}

// FuzzSyslog runs the TCP framing and the parser over any bytes: never a
// panic, and every event it accepts is well-formed.
func FuzzSyslog(f *testing.F) {
	f.Add([]byte("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed\n"))
	f.Add([]byte("<13>Nov 23 06:00:00 vm app[12]: hello\n"))
	f.Add([]byte("52 <13>1 2026-01-02T03:04:05Z h app - - - octet counted"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newSyslogParser()
		r := bufio.NewReaderSize(bytes.NewReader(data), 256+2)
		for range 1000 {
			frame, err := readFrame(r, 256)
			if err == errTooLarge {
				continue
			}
			if err != nil {
				return
			}
			if len(frame) > 256+2 {
				t.Fatalf("frame of %d bytes over the bound", len(frame))
			}
			frame = bytes.TrimRight(frame, "\r\n\x00")
			ev, err := p.event(frame, "syslog", "192.0.2.1", time.Unix(0, 0))
			if err != nil {
				continue
			}
			if !utf8.ValidString(ev.Output) || !utf8.ValidString(ev.Component) || !utf8.ValidString(ev.Resource) {
				t.Fatalf("invalid UTF-8 in %+v", ev)
			}
			if ev.Component == "" || len(ev.Component) > events.MaxNameBytes || len(ev.Resource) > events.MaxNameBytes ||
				ev.State < 0 || ev.State > 3 || (ev.SourceType == "resource") != (ev.Resource != "") {
				t.Fatalf("bad event %+v from %q", ev, frame)
			}
		}
	})
}
