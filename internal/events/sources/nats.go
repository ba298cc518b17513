package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// NATSOptions configures the NATS consumer. Zero values take the defaults
// given beside each field.
type NATSOptions struct {
	// URL of the server (default nats://127.0.0.1:4222).
	URL string
	// Subject carries Canopsis events (default "canopsis.events.>").
	Subject string
	// Stream is the JetStream stream created (or updated) over Subject
	// (default "CANOPSIS_EVENTS"), Durable the consumer's name (default
	// "vigie"). Without JetStream on the server, the subject is read with
	// a plain queue subscription, and nothing can be acknowledged.
	Stream  string
	Durable string
	// MaxAckPending bounds the messages delivered and not acknowledged
	// (default 1024); AckWait is how long the server waits for an ack
	// before redelivering (default 30s).
	MaxAckPending int
	AckWait       time.Duration
	// BatchSize messages (default 64) or FlushInterval (default 50ms)
	// after the first one go to the sink together.
	BatchSize     int
	FlushInterval time.Duration
	// MaxMessageBytes bounds one message (default events.MaxDecodeBytes).
	MaxMessageBytes int
	// MinBackoff and MaxBackoff bound the pause after a failure (defaults
	// 500ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Registerer             prometheus.Registerer
}

// NATS consumes Canopsis events from NATS subjects: with JetStream, a
// durable pull consumer whose messages are acknowledged only once the
// sink stored their events (a failed batch is negatively acknowledged
// with a delay, so redelivered); a malformed message is terminated
// (never redelivered), counted and logged.
type NATS struct {
	opts  NATSOptions
	sink  events.Sink
	log   *slog.Logger
	count *counters
}

// NewNATS checks the options; Run connects.
func NewNATS(opts NATSOptions, sink events.Sink) (*NATS, error) {
	opts.URL = orDefault(opts.URL, nats.DefaultURL)
	opts.Subject = orDefault(opts.Subject, "canopsis.events.>")
	opts.Stream = orDefault(opts.Stream, "CANOPSIS_EVENTS")
	opts.Durable = orDefault(opts.Durable, "vigie")
	opts.MaxAckPending = orDefault(opts.MaxAckPending, 1024)
	opts.AckWait = orDefault(opts.AckWait, 30*time.Second)
	opts.BatchSize = min(orDefault(opts.BatchSize, 64), opts.MaxAckPending)
	opts.FlushInterval = orDefault(opts.FlushInterval, 50*time.Millisecond)
	opts.MaxMessageBytes = orDefault(opts.MaxMessageBytes, events.MaxDecodeBytes)
	opts.MinBackoff = orDefault(opts.MinBackoff, 500*time.Millisecond)
	opts.MaxBackoff = orDefault(opts.MaxBackoff, 30*time.Second)
	if opts.Subject == "" || opts.Stream == "" {
		return nil, errors.New("nats: subject and stream are required")
	}
	return &NATS{opts: opts, sink: sink, log: logger(opts.Logger, "nats"), count: newCounters(opts.Registerer, "nats", logger(opts.Logger, "nats"))}, nil
}

// Run consumes until ctx ends. The client reconnects by itself; a failed
// setup is tried again after a growing pause.
func (n *NATS) Run(ctx context.Context) error {
	b := backoff{min: n.opts.MinBackoff, max: n.opts.MaxBackoff}
	for {
		consumed, err := n.session(ctx, &b)
		if ctx.Err() != nil {
			return nil
		}
		if consumed {
			b.reset()
		}
		wait := b.next()
		n.log.Warn("nats consumer stopped; starting again", "err", err, "in", wait)
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

func (n *NATS) session(ctx context.Context, b *backoff) (bool, error) {
	nc, err := nats.Connect(n.opts.URL, nats.Name("vigie events"), nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second), nats.Timeout(10*time.Second))
	if err != nil {
		return false, fmt.Errorf("connecting: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false, err
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = js.AccountInfo(actx)
	cancel()
	switch {
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		n.log.Warn("nats server without JetStream: events are read with a plain subscription and cannot be acknowledged", "subject", n.opts.Subject)
		return n.core(ctx, nc)
	case err != nil:
		return false, fmt.Errorf("asking for JetStream: %w", err)
	}
	return n.jetStream(ctx, js, b)
}

func (n *NATS) jetStream(ctx context.Context, js jetstream.JetStream, b *backoff) (bool, error) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := js.CreateOrUpdateStream(sctx, jetstream.StreamConfig{
		Name: n.opts.Stream, Subjects: []string{n.opts.Subject}, Storage: jetstream.FileStorage,
		MaxMsgSize: int32(n.opts.MaxMessageBytes),
	})
	if err != nil {
		return false, fmt.Errorf("creating the stream %s: %w", n.opts.Stream, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(sctx, jetstream.ConsumerConfig{
		Durable: n.opts.Durable, AckPolicy: jetstream.AckExplicitPolicy, AckWait: n.opts.AckWait,
		MaxAckPending: n.opts.MaxAckPending, FilterSubject: n.opts.Subject,
	})
	if err != nil {
		return false, fmt.Errorf("creating the consumer %s: %w", n.opts.Durable, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(n.opts.BatchSize * 2))
	if err != nil {
		return false, fmt.Errorf("consuming: %w", err)
	}
	defer it.Stop()
	n.log.Info("nats consuming", "url", redactURL(n.opts.URL), "stream", n.opts.Stream, "durable", n.opts.Durable, "subject", n.opts.Subject)

	var (
		pending  []events.Event
		msgs     []jetstream.Msg
		deadline time.Time
	)
	flush := func() {
		if len(msgs) == 0 {
			return
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := n.sink.Ingest(fctx, pending); err != nil {
			wait := b.next()
			n.log.Error("storing nats events; they will be redelivered", "err", err, "messages", len(msgs), "in", wait)
			for _, m := range msgs {
				m.NakWithDelay(wait)
			}
			pending, msgs = pending[:0], msgs[:0]
			sleep(ctx, wait)
			return
		}
		b.reset()
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				n.log.Warn("acknowledging a nats message; it will be redelivered", "err", err)
			}
		}
		n.count.received.Add(float64(len(pending)))
		pending, msgs = pending[:0], msgs[:0]
	}
	for {
		wait := time.Second
		if len(msgs) > 0 {
			wait = time.Until(deadline)
		}
		nctx, cancel := context.WithTimeout(ctx, max(wait, time.Millisecond))
		m, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		switch {
		case ctx.Err() != nil:
			flush()
			return true, nil
		case errors.Is(err, context.DeadlineExceeded):
			flush()
			continue
		case err != nil:
			flush()
			return true, err
		}
		evs, reason, err := decodeMessage(m.Data(), n.opts.MaxMessageBytes)
		if err != nil {
			n.count.refuse(reason, 1)
			n.count.warn("nats message refused; terminated", "err", err, "subject", clipName(m.Subject()))
			// Term, not TermWithReason: servers before 2.11 ignore the latter.
			if err := m.Term(); err != nil {
				n.log.Warn("terminating a refused nats message", "err", err)
			}
			continue
		}
		if len(msgs) == 0 {
			deadline = time.Now().Add(n.opts.FlushInterval)
		}
		pending = append(pending, evs...)
		msgs = append(msgs, m)
		if len(msgs) >= n.opts.BatchSize {
			flush()
		}
	}
}

// core reads the subject without JetStream: nothing can be acknowledged,
// so events the sink fails to store are lost, counted and logged.
func (n *NATS) core(ctx context.Context, nc *nats.Conn) (bool, error) {
	ch := make(chan *nats.Msg, n.opts.BatchSize*4)
	sub, err := nc.ChanQueueSubscribe(n.opts.Subject, n.opts.Durable, ch)
	if err != nil {
		return false, fmt.Errorf("subscribing to %s: %w", n.opts.Subject, err)
	}
	defer sub.Unsubscribe()
	var pending []events.Event
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var timerC <-chan time.Time
	flush := func() {
		timerC = nil
		if len(pending) == 0 {
			return
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := n.sink.Ingest(fctx, pending); err != nil {
			n.count.refuse(ReasonSink, len(pending))
			n.log.Error("storing nats events; lost (no JetStream)", "err", err, "events", len(pending))
		} else {
			n.count.received.Add(float64(len(pending)))
		}
		pending = pending[:0]
	}
	for {
		select {
		case <-ctx.Done():
			flush()
			return true, nil
		case <-timerC:
			flush()
		case m := <-ch:
			evs, reason, err := decodeMessage(m.Data, n.opts.MaxMessageBytes)
			if err != nil {
				n.count.refuse(reason, 1)
				n.count.warn("nats message refused", "err", err, "subject", clipName(m.Subject))
				continue
			}
			pending = append(pending, evs...)
			if len(pending) >= n.opts.BatchSize {
				flush()
			} else if timerC == nil {
				timer.Reset(n.opts.FlushInterval)
				timerC = timer.C
			}
		}
	}
}

// decodeMessage decodes a bus message, saying why it was refused.
func decodeMessage(data []byte, maxBytes int) ([]events.Event, string, error) {
	if len(data) > maxBytes {
		return nil, ReasonTooLarge, fmt.Errorf("message is larger than %d bytes", maxBytes)
	}
	evs, err := events.Decode(data)
	if err != nil {
		var de *events.DecodeError
		if errors.As(err, &de) && de.Syntax {
			return nil, ReasonParse, err
		}
		return nil, ReasonInvalid, err
	}
	return evs, "", nil
}
