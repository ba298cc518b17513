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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/auto"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// SyslogOptions configures the syslog listener. Zero values take the
// defaults given beside each field.
type SyslogOptions struct {
	// Listen is the address for both UDP and TCP ("127.0.0.1:5514"; port
	// 0 picks one free for both).
	Listen string
	// ConnectorName names this listener in events (default "syslog").
	ConnectorName string
	// MaxMessageBytes bounds one message (default 65536); larger ones are
	// refused, counted and logged.
	MaxMessageBytes int
	// MaxConns bounds open TCP connections (default 256).
	MaxConns int
	// IdleTimeout closes a TCP connection silent for that long (default 5m).
	IdleTimeout time.Duration
	// BatchSize and FlushInterval: events go to the sink by BatchSize or
	// FlushInterval after the first one waiting, whichever comes first
	// (defaults 256 and 50ms).
	BatchSize     int
	FlushInterval time.Duration
	Logger        *slog.Logger
	Registerer    prometheus.Registerer
}

// Syslog receives RFC 3164 and RFC 5424 messages over UDP and TCP
// (octet-counting and newline framing, detected per message).
//
// On TCP a message counts as acknowledged once read, so a connection is
// read only while the sink keeps up: events go to the sink in small
// batches, and the next message is read only once the batch it would
// join has room; when Ingest fails the connection is closed so that the
// sender keeps (and resends) what follows.
type Syslog struct {
	opts  SyslogOptions
	sink  events.Sink
	log   *slog.Logger
	count *counters
	tcp   net.Listener
	udp   net.PacketConn
	conns chan struct{} // a slot per open TCP connection
}

// ListenSyslog binds UDP and TCP on opts.Listen. Run serves them.
func ListenSyslog(opts SyslogOptions, sink events.Sink) (*Syslog, error) {
	if opts.Listen == "" {
		return nil, errors.New("syslog: no listen address")
	}
	opts.ConnectorName = orDefault(opts.ConnectorName, "syslog")
	opts.MaxMessageBytes = orDefault(opts.MaxMessageBytes, 64<<10)
	opts.MaxConns = orDefault(opts.MaxConns, 256)
	opts.IdleTimeout = orDefault(opts.IdleTimeout, 5*time.Minute)
	opts.BatchSize = orDefault(opts.BatchSize, 256)
	opts.FlushInterval = orDefault(opts.FlushInterval, 50*time.Millisecond)
	s := &Syslog{
		opts:  opts,
		sink:  sink,
		log:   logger(opts.Logger, "syslog"),
		count: newCounters(opts.Registerer, "syslog", logger(opts.Logger, "syslog")),
		conns: make(chan struct{}, opts.MaxConns),
	}
	var err error
	// With port 0, the TCP port picked must also be free for UDP.
	for range 10 {
		if s.tcp, err = net.Listen("tcp", opts.Listen); err != nil {
			return nil, fmt.Errorf("syslog: listening on tcp %s: %w", opts.Listen, err)
		}
		if s.udp, err = net.ListenPacket("udp", s.tcp.Addr().String()); err == nil {
			return s, nil
		}
		s.tcp.Close()
		if _, port, _ := net.SplitHostPort(opts.Listen); port != "0" {
			break
		}
	}
	return nil, fmt.Errorf("syslog: listening on udp %s: %w", opts.Listen, err)
}

// Addr is the address listened on, for UDP and TCP alike.
func (s *Syslog) Addr() string { return s.tcp.Addr().String() }

// Run serves until ctx ends, then closes the listeners, stores what was
// read and returns.
func (s *Syslog) Run(ctx context.Context) error {
	s.log.Info("syslog listening", "addr", s.Addr(), "connector_name", s.opts.ConnectorName)
	var wg sync.WaitGroup
	udpEvents := make(chan events.Event)
	wg.Go(func() { s.batch(ctx, udpEvents, nil) })
	wg.Go(func() { s.serveUDP(ctx, udpEvents) })
	wg.Go(func() { s.acceptTCP(ctx, &wg) })
	<-ctx.Done()
	s.tcp.Close()
	s.udp.Close()
	wg.Wait()
	return nil
}

func (s *Syslog) serveUDP(ctx context.Context, out chan<- events.Event) {
	defer close(out)
	p := newSyslogParser()
	buf := make([]byte, s.opts.MaxMessageBytes+1)
	for {
		n, addr, err := s.udp.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("reading syslog over udp", "err", err)
			continue
		}
		if n > s.opts.MaxMessageBytes {
			s.count.refuse(ReasonTooLarge, 1)
			s.count.warn("syslog message refused: too large", "proto", "udp", "remote", addr.String(), "max_bytes", s.opts.MaxMessageBytes)
			continue
		}
		if ev, ok := s.parseFrame(p, buf[:n], addr, "udp"); ok {
			out <- ev
		}
	}
}

// parseFrame parses one message into its event, or counts and logs why
// it was refused.
func (s *Syslog) parseFrame(p *syslogParser, frame []byte, addr net.Addr, proto string) (events.Event, bool) {
	frame = bytes.TrimRight(frame, "\r\n\x00")
	if len(frame) == 0 {
		return events.Event{}, false
	}
	ev, err := p.event(frame, s.opts.ConnectorName, hostOf(addr), time.Now())
	if err != nil {
		s.count.refuse(ReasonParse, 1)
		s.count.warn("syslog message refused", "proto", proto, "remote", addr.String(), "err", err, "bytes", len(frame))
		return events.Event{}, false
	}
	return ev, true
}

func hostOf(addr net.Addr) string {
	if h, _, err := net.SplitHostPort(addr.String()); err == nil {
		return h
	}
	return addr.String()
}

func (s *Syslog) acceptTCP(ctx context.Context, wg *sync.WaitGroup) {
	acceptConns(ctx, s.tcp, s.conns, s.count, s.log, "syslog", wg, s.serveTCP)
}

// serveTCP reads one connection: a reader goroutine frames and parses
// messages and hands each event over unbuffered, so that it reads the
// next message only once the batch has taken the last one.
func (s *Syslog) serveTCP(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	evs := make(chan events.Event)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
		case <-stop:
		}
		conn.Close() // unblocks the reader
	}()
	go func() {
		defer close(evs)
		s.readTCP(conn, evs, stop)
	}()
	var once sync.Once
	closeStop := func() { once.Do(func() { close(stop) }) }
	s.batch(ctx, evs, closeStop)
	closeStop()
	// The reader may still wait to hand over an event read before the
	// sink failed: that event was not stored; it is counted there.
	for range evs {
		s.count.refuse(ReasonSink, 1)
	}
	<-done
}

func (s *Syslog) readTCP(conn net.Conn, out chan<- events.Event, stop <-chan struct{}) {
	p := newSyslogParser()
	r := bufio.NewReaderSize(conn, s.opts.MaxMessageBytes+2)
	addr := conn.RemoteAddr()
	for {
		conn.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		frame, err := readFrame(r, s.opts.MaxMessageBytes)
		switch {
		case errors.Is(err, errTooLarge):
			s.count.refuse(ReasonTooLarge, 1)
			s.count.warn("syslog message refused: too large", "proto", "tcp", "remote", addr.String(), "max_bytes", s.opts.MaxMessageBytes)
			continue
		case errors.Is(err, errFraming):
			s.count.refuse(ReasonParse, 1)
			s.count.warn("syslog connection closed: bad framing", "remote", addr.String(), "err", err)
			return
		case err != nil:
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("syslog connection ended", "remote", addr.String(), "err", err)
			}
			return
		}
		ev, ok := s.parseFrame(p, frame, addr, "tcp")
		if !ok {
			continue
		}
		select {
		case out <- ev:
		case <-stop:
			s.count.refuse(ReasonSink, 1)
			return
		}
	}
}

// batch collects events from in and stores them by BatchSize or
// FlushInterval. When the sink fails it counts and logs the loss and,
// when failed is not nil, calls it and returns.
func (s *Syslog) batch(ctx context.Context, in <-chan events.Event, failed func()) {
	var (
		pending []events.Event
		timer   = time.NewTimer(time.Hour)
		timerC  <-chan time.Time
	)
	timer.Stop()
	defer timer.Stop()
	flush := func() bool {
		timerC = nil
		if len(pending) == 0 {
			return true
		}
		// Store what was read even while shutting down.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err := s.sink.Ingest(fctx, pending)
		n := len(pending)
		pending = pending[:0]
		if err != nil {
			s.count.refuse(ReasonSink, n)
			s.log.Error("storing syslog events", "err", err, "events", n)
			return false
		}
		s.count.received.Add(float64(n))
		return true
	}
	for {
		select {
		case ev, ok := <-in:
			if !ok {
				flush()
				return
			}
			pending = append(pending, ev)
			if len(pending) >= s.opts.BatchSize {
				if !flush() && failed != nil {
					failed()
					return
				}
			} else if timerC == nil {
				timer.Reset(s.opts.FlushInterval)
				timerC = timer.C
			}
		case <-timerC:
			if !flush() && failed != nil {
				failed()
				return
			}
		}
	}
}

var (
	errTooLarge = errors.New("message too large")
	errFraming  = errors.New("bad octet count")
)

// readFrame reads one message: octet-counted ("<len> <msg>", RFC 6587)
// when it starts with a digit, else up to the next newline. A message
// larger than max is skipped and errTooLarge returned, keeping the stream
// in step.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	b, err := r.Peek(1)
	if err != nil {
		return nil, err
	}
	if b[0] >= '1' && b[0] <= '9' {
		n := 0
		for i := 0; ; i++ {
			c, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			if c == ' ' {
				break
			}
			if c < '0' || c > '9' || i >= 9 {
				return nil, fmt.Errorf("%w: %q", errFraming, c)
			}
			n = n*10 + int(c-'0')
		}
		if n > max {
			if _, err := r.Discard(n); err != nil {
				return nil, err
			}
			return nil, errTooLarge
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil {
			return nil, err
		}
		return frame, nil
	}
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > max+2 {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, errTooLarge
	}
	if err != nil && (!errors.Is(err, io.EOF) || len(line) == 0) {
		return nil, err
	}
	return bytes.Clone(line), nil
}

// syslogParser turns one message into an event. It is not safe for
// concurrent use: each reader has its own.
type syslogParser struct {
	m syslog.Machine
}

func newSyslogParser() *syslogParser {
	return &syslogParser{m: auto.NewMachine(
		// RFC 3164 times carry neither year nor zone: the sender's
		// clock is taken to be in the receiver's zone, as rsyslog does.
		auto.WithRFC3164Options(rfc3164.WithYear(rfc3164.CurrentYear{}), rfc3164.WithLocaleTimezone(time.Local),
			rfc3164.WithLenientDay(), rfc3164.WithRFC3339()),
	)}
}

// SyslogQualify is the default qualification of a syslog severity:
// emergency and alert (0-1) are red, critical (2) orange, error and
// warning (3-4) green; notice, info and debug (5-7) are log events that
// open no alarm.
func SyslogQualify(severity uint8) (eventType string, state int, criticality string) {
	switch {
	case severity <= 1:
		return events.TypeCheck, events.StateCritical, events.Red
	case severity == 2:
		return events.TypeCheck, events.StateMajor, events.Orange
	case severity <= 4:
		return events.TypeCheck, events.StateMinor, events.Green
	default:
		return events.TypeLog, events.StateOK, ""
	}
}

func (p *syslogParser) event(frame []byte, connectorName, remote string, now time.Time) (events.Event, error) {
	msg, err := p.m.Parse(frame)
	if err != nil {
		return events.Event{}, err
	}
	if msg == nil || !msg.Valid() {
		return events.Event{}, errors.New("no valid priority")
	}
	var base *syslog.Base
	switch m := msg.(type) {
	case *rfc5424.SyslogMessage:
		base = &m.Base
	case *rfc3164.SyslogMessage:
		base = &m.Base
	default:
		return events.Event{}, fmt.Errorf("unexpected message type %T", msg)
	}
	if base.Severity == nil {
		return events.Event{}, errors.New("no severity")
	}
	typ, state, crit := SyslogQualify(*base.Severity)
	ev := events.Event{
		Connector:     "syslog",
		ConnectorName: connectorName,
		EventType:     typ,
		SourceType:    "component",
		Component:     remote,
		State:         state,
		Criticality:   crit,
		Time:          now.UTC(),
		Tags: map[string]string{
			"severity": strconv.Itoa(int(*base.Severity)),
		},
	}
	if h := str(base.Hostname); h != "" && h != "-" {
		ev.Component = clipName(h)
	}
	if a := str(base.Appname); a != "" && a != "-" {
		ev.Resource = clipName(a)
		ev.SourceType = "resource"
	}
	// Text is kept valid UTF-8 (RFC 5424 may start it with a BOM).
	ev.Output = strings.ToValidUTF8(strings.TrimPrefix(str(base.Message), "\ufeff"), "\ufffd")
	if base.Timestamp != nil && !base.Timestamp.IsZero() {
		ev.Time = base.Timestamp.UTC()
		// A year-less RFC 3164 time from December read in January lands
		// in the future: it was last year.
		if _, ok := msg.(*rfc3164.SyslogMessage); ok && ev.Time.After(now.Add(48*time.Hour)) {
			ev.Time = ev.Time.AddDate(-1, 0, 0)
		}
	}
	if f := base.FacilityLevel(); f != nil {
		ev.Tags["facility"] = *f
	}
	if v := str(base.ProcID); v != "" {
		ev.Tags["procid"] = clipName(v)
	}
	if v := str(base.MsgID); v != "" {
		ev.Tags["msgid"] = clipName(v)
	}
	ev.Tags["remote"] = remote
	return ev, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// clipName bounds a name and keeps it valid UTF-8.
func clipName(s string) string {
	if len(s) > events.MaxNameBytes {
		s = s[:events.MaxNameBytes]
	}
	return strings.ToValidUTF8(s, "\ufffd")
}
