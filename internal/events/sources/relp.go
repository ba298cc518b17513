package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
)

var _ Source = (*RELP)(nil)

// RELPOptions configures the RELP receiver. Zero values take the defaults
// given beside each field.
type RELPOptions struct {
	// Listen is the TCP address ("127.0.0.1:2514"; port 0 picks one).
	Listen string
	// ConnectorName names this listener in events (default "syslog",
	// the plain syslog listener's default: a message keeps its alarm
	// whichever transport carried it).
	ConnectorName string
	// MaxFrameBytes bounds the data of one frame (default 131072, the
	// size librelp accepts by default); a larger frame closes the
	// connection.
	MaxFrameBytes int
	// Window bounds the frames of a connection read and not yet answered
	// (default 1024), and MaxPendingBytes their data (default 8 MiB, at
	// least two frames): past either the connection is not read until
	// answers go out, so a sender cannot make vigie hold more.
	Window          int
	MaxPendingBytes int
	// MaxConns bounds open connections (default 256).
	MaxConns int
	// IdleTimeout closes a connection silent for that long (default 5m);
	// WriteTimeout one whose peer does not read the answers (default 30s).
	IdleTimeout  time.Duration
	WriteTimeout time.Duration
	// BatchSize bounds the events of one Ingest (default 256). Frames
	// waiting when the sink is free go together, so batches grow with
	// the load and a lone message waits for no timer.
	BatchSize  int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// RELP receives syslog messages over RELP, the Reliable Event Logging
// Protocol of rsyslog (omrelp) and librelp. Unlike plain TCP syslog, the
// sender keeps every message until the receiver answers "200 OK" for its
// transaction number, and sends again what was not answered when the
// connection breaks. vigie answers a frame only once the sink stored its
// event, so a message answered is never lost, whatever happens to vigie
// after; a message may arrive twice (at-least-once).
type RELP struct {
	opts  RELPOptions
	sink  events.Sink
	log   *slog.Logger
	count *counters
	ln    net.Listener
	conns chan struct{} // a slot per open connection
}

// ListenRELP binds opts.Listen. Run serves it.
func ListenRELP(opts RELPOptions, sink events.Sink) (*RELP, error) {
	if opts.Listen == "" {
		return nil, errors.New("relp: no listen address")
	}
	opts.ConnectorName = orDefault(opts.ConnectorName, "syslog")
	opts.MaxFrameBytes = orDefault(opts.MaxFrameBytes, 128<<10)
	opts.Window = orDefault(opts.Window, 1024)
	opts.MaxPendingBytes = max(orDefault(opts.MaxPendingBytes, 8<<20), 2*opts.MaxFrameBytes)
	opts.MaxConns = orDefault(opts.MaxConns, 256)
	opts.IdleTimeout = orDefault(opts.IdleTimeout, 5*time.Minute)
	opts.WriteTimeout = orDefault(opts.WriteTimeout, 30*time.Second)
	opts.BatchSize = orDefault(opts.BatchSize, 256)
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("relp: listening on %s: %w", opts.Listen, err)
	}
	r := newRELP(opts, sink)
	r.ln = ln
	return r, nil
}

// newRELP is a receiver without its listener: serve runs connections.
func newRELP(opts RELPOptions, sink events.Sink) *RELP {
	log := logger(opts.Logger, "relp")
	return &RELP{
		opts: opts, sink: sink, log: log,
		count: newCounters(opts.Registerer, "relp", log),
		conns: make(chan struct{}, opts.MaxConns),
	}
}

// Addr is the address listened on.
func (r *RELP) Addr() string { return r.ln.Addr().String() }

// Run serves until ctx ends, then stops reading, stores and answers what
// was read, tells each sender the server closes, and returns.
func (r *RELP) Run(ctx context.Context) error {
	r.log.Info("relp listening", "addr", r.Addr(), "connector_name", r.opts.ConnectorName)
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ctx.Done()
		r.ln.Close()
	})
	acceptConns(ctx, r.ln, r.conns, r.count, r.log, "relp", &wg, r.serve)
	wg.Wait()
	return nil
}

// relpItem is what the reader of a connection hands to its writer, in
// the order the frames came: an event to store and answer "200 OK", or
// an answer that needs no storing.
type relpItem struct {
	txnr   int
	size   int // bytes of the frame's data
	ev     *events.Event
	answer string // the rsp data when ev is nil
	// closing: after the answer, send serverclose and close.
	closing bool
}

// serve runs one connection: a reader goroutine frames and parses, and
// this goroutine stores events in batches and answers in txnr order.
func (r *RELP) serve(ctx context.Context, conn net.Conn) {
	remote := conn.RemoteAddr().String()
	items := make(chan relpItem, r.opts.Window)
	// A slot per frame read and not answered: the reader takes one
	// before reading, the writer gives it back with the answer.
	slots := make(chan struct{}, r.opts.Window)
	held := &relpHeld{freed: make(chan struct{}, 1)}
	quit := make(chan struct{}) // the writer gave up: the reader stops
	go func() {
		defer close(items)
		r.read(ctx, conn, items, slots, held, quit)
	}()
	stopRead := context.AfterFunc(ctx, func() {
		// Unblocks the reader; what it read is still stored and answered.
		conn.SetReadDeadline(time.Now())
	})
	defer stopRead()
	defer func() {
		close(quit)
		conn.Close() // unblocks a reader still reading
		// The reader may wait to hand over a frame: let it end.
		for range items {
		}
	}()

	w := bufio.NewWriter(conn)
	var pending []relpItem
	write := func(txnr int, data string) {
		w.WriteString(strconv.Itoa(txnr))
		w.WriteString(" rsp ")
		w.WriteString(strconv.Itoa(len(data)))
		if data != "" {
			w.WriteByte(' ')
			w.WriteString(data)
		}
		w.WriteByte('\n')
	}
	// send writes the answers out, then frees the n frames and their
	// bytes for the reader.
	send := func(n, bytes int) bool {
		conn.SetWriteDeadline(time.Now().Add(r.opts.WriteTimeout))
		if err := w.Flush(); err != nil {
			r.log.Warn("relp connection closed: answering failed", "remote", remote, "err", err)
			return false
		}
		for range n {
			<-slots
		}
		held.add(-bytes)
		return true
	}
	// flush stores the pending events and answers them; when the sink
	// fails nothing is answered and the connection closes, so that the
	// sender sends them again.
	flush := func() bool {
		if len(pending) == 0 {
			return true
		}
		evs := make([]events.Event, len(pending))
		for i, it := range pending {
			evs[i] = *it.ev
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := r.sink.Ingest(fctx, evs)
		cancel()
		if err != nil {
			r.count.refuse(ReasonSink, len(evs))
			r.log.Error("storing relp events; connection closed unanswered, the sender will resend", "remote", remote, "err", err, "events", len(evs))
			return false
		}
		r.count.received.Add(float64(len(evs)))
		bytes := 0
		for _, it := range pending {
			write(it.txnr, "200 OK")
			bytes += it.size
		}
		n := len(pending)
		pending = pending[:0]
		return send(n, bytes)
	}
	for {
		var (
			it relpItem
			ok bool
		)
		if len(pending) == 0 {
			it, ok = <-items
		} else {
			select {
			case it, ok = <-items:
			default:
				// Nothing more waiting: store what is.
				if !flush() {
					return
				}
				continue
			}
		}
		if !ok {
			if flush() && ctx.Err() != nil {
				// Shutting down: tell the sender, who reconnects later.
				w.WriteString("0 serverclose 0\n")
				send(0, 0)
			}
			return
		}
		if it.ev != nil {
			pending = append(pending, it)
			if len(pending) >= r.opts.BatchSize && !flush() {
				return
			}
			continue
		}
		// Answers go in txnr order: the events before this one first.
		if !flush() {
			return
		}
		write(it.txnr, it.answer)
		if it.closing {
			w.WriteString("0 serverclose 0\n")
			send(1, it.size)
			return
		}
		if !send(1, it.size) {
			return
		}
	}
}

// read frames and parses one connection until it ends, a frame is
// malformed, the sender closes, or quit.
func (r *RELP) read(ctx context.Context, conn net.Conn, items chan<- relpItem, slots chan<- struct{}, held *relpHeld, quit <-chan struct{}) {
	remote := conn.RemoteAddr().String()
	host := hostOf(conn.RemoteAddr())
	br := bufio.NewReaderSize(conn, 64<<10)
	p := newSyslogParser()
	opened := false
	for {
		select {
		case slots <- struct{}{}:
		case <-quit:
			return
		case <-ctx.Done():
			return
		}
		for held.get() > r.opts.MaxPendingBytes-r.opts.MaxFrameBytes {
			select {
			case <-held.freed:
			case <-quit:
				return
			case <-ctx.Done():
				return
			}
		}
		conn.SetReadDeadline(time.Now().Add(r.opts.IdleTimeout))
		f, err := readRELPFrame(br, r.opts.MaxFrameBytes)
		switch {
		case err == nil:
		case errors.Is(err, errRELPTooLarge):
			r.count.refuse(ReasonTooLarge, 1)
			r.count.warn("relp connection closed: frame too large", "remote", remote, "err", err, "max_frame_bytes", r.opts.MaxFrameBytes)
			return
		case errors.Is(err, errRELPFrame):
			r.count.refuse(ReasonParse, 1)
			r.count.warn("relp connection closed: malformed frame", "remote", remote, "err", err)
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() == nil {
				r.log.Info("relp connection closed: idle", "remote", remote, "idle_timeout", r.opts.IdleTimeout)
			}
			return
		default:
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.log.Debug("relp connection ended", "remote", remote, "err", err)
			}
			return
		}
		it := relpItem{txnr: f.txnr, size: len(f.data)}
		held.add(it.size)
		switch {
		case f.command == "open":
			// The offers vigie makes; the sender's own need no answer:
			// version 0 and the syslog command are all there is.
			opened = true
			it.answer = "200 OK\nrelp_version=0\nrelp_software=vigie\ncommands=syslog"
		case !opened:
			r.count.refuse(ReasonInvalid, 1)
			r.count.warn("relp connection closed: no open command first", "remote", remote, "command", f.command)
			it.answer, it.closing = "500 session not open", true
		case f.command == "syslog":
			ev, err := p.event(trimMessage(f.data), r.opts.ConnectorName, host, time.Now())
			if err != nil {
				// Answered 500: rsyslog drops it (seen with rsyslog
				// 8.2302) rather than send it forever and hold up the
				// rest; it is counted and logged here.
				r.count.refuse(ReasonParse, 1)
				r.count.warn("relp syslog message refused", "remote", remote, "err", err, "bytes", len(f.data))
				it.answer = "500 not a syslog message: " + clipName(err.Error())
				break
			}
			it.ev = &ev
		case f.command == "close":
			it.closing = true
		default:
			r.count.refuse(ReasonInvalid, 1)
			r.count.warn("relp command refused: unknown", "remote", remote, "command", f.command)
			it.answer = "500 unknown command " + f.command
		}
		select {
		case items <- it:
		case <-quit:
			return
		}
		if it.closing {
			return
		}
	}
}

// relpHeld counts the data bytes of a connection's frames read and not
// yet answered; the writer pokes freed when it answers some.
type relpHeld struct {
	mu    sync.Mutex
	n     int
	freed chan struct{}
}

func (h *relpHeld) add(n int) {
	h.mu.Lock()
	h.n += n
	h.mu.Unlock()
	if n < 0 {
		select {
		case h.freed <- struct{}{}:
		default:
		}
	}
}

func (h *relpHeld) get() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func trimMessage(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

// relpFrame is one RELP frame: TXNR SP COMMAND SP DATALEN [SP DATA] LF.
type relpFrame struct {
	txnr    int
	command string
	data    []byte
}

var (
	errRELPFrame    = errors.New("malformed relp frame")
	errRELPTooLarge = errors.New("relp frame too large")
)

// RELP's own bounds: a txnr and a data length have at most 9 digits, a
// command at most 32 letters.
const (
	relpMaxDigits  = 9
	relpMaxCommand = 32
)

// readRELPFrame reads one frame, its data at most maxData bytes. Errors
// wrap errRELPFrame or errRELPTooLarge, or are the reader's own (EOF, a
// deadline); after any the stream is out of step and must be closed.
func readRELPFrame(r *bufio.Reader, maxData int) (relpFrame, error) {
	var f relpFrame
	txnr, end, err := readRELPNumber(r, "txnr")
	if err != nil {
		return f, err
	}
	if end != ' ' {
		return f, fmt.Errorf("%w: txnr not followed by a space", errRELPFrame)
	}
	f.txnr = txnr
	var cmd [relpMaxCommand]byte
	n := 0
	for {
		c, err := r.ReadByte()
		if err != nil {
			return f, eofIsUnexpected(err)
		}
		if c == ' ' && n > 0 {
			break
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') || n == relpMaxCommand {
			return f, fmt.Errorf("%w: command must be 1 to %d letters (byte %q)", errRELPFrame, relpMaxCommand, c)
		}
		cmd[n] = c
		n++
	}
	f.command = string(cmd[:n])
	size, end, err := readRELPNumber(r, "datalen")
	if err != nil {
		return f, eofIsUnexpected(err)
	}
	if size > maxData {
		return f, fmt.Errorf("%w: %d bytes of data, at most %d", errRELPTooLarge, size, maxData)
	}
	if size > 0 {
		if end != ' ' {
			return f, fmt.Errorf("%w: datalen not followed by a space", errRELPFrame)
		}
		f.data = make([]byte, size)
		if _, err := io.ReadFull(r, f.data); err != nil {
			return f, eofIsUnexpected(err)
		}
		if end, err = r.ReadByte(); err != nil {
			return f, eofIsUnexpected(err)
		}
	} else if end == ' ' {
		// An empty frame written "0 \n" by some senders.
		if end, err = r.ReadByte(); err != nil {
			return f, eofIsUnexpected(err)
		}
	}
	if end != '\n' {
		return f, fmt.Errorf("%w: trailer is %q, not a newline", errRELPFrame, end)
	}
	return f, nil
}

// readRELPNumber reads 1 to 9 digits and the byte after them. io.EOF
// before the first digit is a clean end of stream.
func readRELPNumber(r *bufio.Reader, what string) (v int, end byte, err error) {
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if i > 0 {
				err = eofIsUnexpected(err)
			}
			return 0, 0, err
		}
		if c < '0' || c > '9' {
			if i == 0 {
				return 0, 0, fmt.Errorf("%w: %s must start with a digit, not %q", errRELPFrame, what, c)
			}
			return v, c, nil
		}
		if i == relpMaxDigits {
			return 0, 0, fmt.Errorf("%w: %s longer than %d digits", errRELPFrame, what, relpMaxDigits)
		}
		v = v*10 + int(c-'0')
	}
}

// eofIsUnexpected: a stream ending inside a frame is a sender gone, not
// a malformed frame.
func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
