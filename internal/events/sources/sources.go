// Package sources holds the connectors that turn what other tools send
// (syslog, SNMP traps, Alertmanager webhooks, AMQP and NATS buses) into
// events for one events.Sink. Each source starts with Run(ctx) and stops
// when ctx ends, bounds what it reads, and counts what it received and
// what it refused (by reason) on a prometheus.Registerer; bad input is
// refused with a counter and a log line, never dropped silently.
package sources

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Source is what every connector of this package is: it runs until ctx
// ends, then stores what it holds and returns.
type Source interface {
	Run(ctx context.Context) error
}

var (
	_ Source = (*Syslog)(nil)
	_ Source = (*AMQP)(nil)
	_ Source = (*NATS)(nil)
	_ Source = (*SNMPTrap)(nil)
)

// Reasons an input is refused, the "reason" label of
// vigie_events_refused_total.
const (
	ReasonParse    = "parse"     // not the expected format
	ReasonTooLarge = "too_large" // larger than the source's bound
	ReasonInvalid  = "invalid"   // well-formed but missing or wrong fields
	ReasonSink     = "sink"      // the sink failed to store it (UDP, core NATS: lost)
	ReasonConns    = "conns"     // a connection over the source's bound was closed
)

// counters counts one source's traffic and logs its refusals.
type counters struct {
	received prometheus.Counter
	refused  *prometheus.CounterVec
	rlog     refusalLog
}

// newCounters registers (or reuses, when another source registered them
// first) the shared counter families and returns the source's children.
func newCounters(reg prometheus.Registerer, source string, log *slog.Logger) *counters {
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigie_events_received_total",
		Help: "Events received by a source and handed to the sink.",
	}, []string{"source"})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigie_events_refused_total",
		Help: "Messages a source refused or could not store, by reason.",
	}, []string{"source", "reason"})
	if reg != nil {
		received = register(reg, received)
		refused = register(reg, refused)
	}
	c := &counters{received: received.WithLabelValues(source), refused: refused.MustCurryWith(prometheus.Labels{"source": source})}
	c.rlog.log = log
	for _, r := range []string{ReasonParse, ReasonTooLarge, ReasonInvalid, ReasonSink} {
		c.refused.WithLabelValues(r)
	}
	return c
}

func register(reg prometheus.Registerer, cv *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(cv); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		panic(err) // a programming error: the same name with other labels
	}
	return cv
}

func (c *counters) refuse(reason string, n int) {
	c.refused.WithLabelValues(reason).Add(float64(n))
}

// refusalBurst is the most refusal lines a source logs in a second.
const refusalBurst = 20

// refusalLog logs refusals, at most refusalBurst lines a second, so that
// a flood of bad input cannot flood the log; the next line written says
// how many were held back (the counters have them all).
type refusalLog struct {
	log *slog.Logger
	now func() time.Time // time.Now unless a test says

	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

// warn logs one refusal.
func (c *counters) warn(msg string, args ...any) {
	r := &c.rlog
	r.mu.Lock()
	now := time.Now()
	if r.now != nil {
		now = r.now()
	}
	if now.Sub(r.window) >= time.Second {
		r.window, r.n = now, 0
	}
	if r.n >= refusalBurst {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.n++
	held := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	if held > 0 {
		args = append(args, "refusals_not_logged_before", held)
	}
	r.log.Warn(msg, args...)
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func logger(l *slog.Logger, source string) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return l.With("source", source)
}

// sleep waits for d or until ctx ends, saying which.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff doubles a delay up to a bound.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// acceptConns accepts connections on ln until it closes (ctx ending closes
// it), at most cap(slots) served at once: one more is refused, counted and
// logged rather than queued. Each is served by serve in wg.
func acceptConns(ctx context.Context, ln net.Listener, slots chan struct{}, count *counters, log *slog.Logger, what string,
	wg *sync.WaitGroup, serve func(context.Context, net.Conn)) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			log.Warn("accepting a "+what+" connection", "err", err)
			sleep(ctx, 50*time.Millisecond)
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			count.refuse(ReasonConns, 1)
			count.warn(what+" connection refused: too many open", "remote", conn.RemoteAddr().String(), "max_conns", cap(slots))
			conn.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			serve(ctx, conn)
		})
	}
}
