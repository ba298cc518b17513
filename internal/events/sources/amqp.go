package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// AMQPOptions configures the AMQP consumer. Zero values take the defaults
// given beside each field.
type AMQPOptions struct {
	// URL of the broker, amqp://user:pass@host:5672/vhost.
	URL string
	// Exchange is the topic exchange events are published to (default
	// "canopsis.events", declared durable), with routing keys
	// connector.connector_name.event_type.source_type.component[.resource].
	Exchange string
	// Queue is the durable queue bound to it with "#" (default
	// "vigie.events"); DeadLetterQueue takes malformed messages (default
	// Queue + ".dead").
	Queue           string
	DeadLetterQueue string
	// Prefetch bounds the messages delivered and not yet acknowledged
	// (default 256). BatchSize messages (default 64) or FlushInterval
	// (default 50ms) after the first one go to the sink together.
	Prefetch      int
	BatchSize     int
	FlushInterval time.Duration
	// MaxMessageBytes bounds one message (default events.MaxDecodeBytes).
	MaxMessageBytes int
	// MinBackoff and MaxBackoff bound the wait before reconnecting
	// (defaults 500ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Registerer             prometheus.Registerer
}

// AMQP consumes Canopsis events from a RabbitMQ topic exchange. A message
// is acknowledged only once the sink stored its events (in batches, with
// "multiple"); a malformed one is published to the dead-letter queue with
// the error in the x-vigie-error header, then acknowledged. When the sink
// fails or the broker goes away, the connection is dropped (so that the
// broker redelivers what was not acknowledged) and opened again after a
// growing pause.
type AMQP struct {
	opts  AMQPOptions
	sink  events.Sink
	log   *slog.Logger
	count *counters
}

// NewAMQP checks the options; Run connects.
func NewAMQP(opts AMQPOptions, sink events.Sink) (*AMQP, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		return nil, errors.New("amqp: the URL must be amqp:// or amqps://host:port/")
	}
	opts.Exchange = orDefault(opts.Exchange, "canopsis.events")
	opts.Queue = orDefault(opts.Queue, "vigie.events")
	opts.DeadLetterQueue = orDefault(opts.DeadLetterQueue, opts.Queue+".dead")
	opts.Prefetch = orDefault(opts.Prefetch, 256)
	opts.BatchSize = min(orDefault(opts.BatchSize, 64), opts.Prefetch)
	opts.FlushInterval = orDefault(opts.FlushInterval, 50*time.Millisecond)
	opts.MaxMessageBytes = orDefault(opts.MaxMessageBytes, events.MaxDecodeBytes)
	opts.MinBackoff = orDefault(opts.MinBackoff, 500*time.Millisecond)
	opts.MaxBackoff = orDefault(opts.MaxBackoff, 30*time.Second)
	return &AMQP{opts: opts, sink: sink, log: logger(opts.Logger, "amqp"), count: newCounters(opts.Registerer, "amqp", logger(opts.Logger, "amqp"))}, nil
}

// Run consumes until ctx ends, reconnecting whenever the connection is
// lost; it stores and acknowledges what it holds before returning.
func (a *AMQP) Run(ctx context.Context) error {
	b := backoff{min: a.opts.MinBackoff, max: a.opts.MaxBackoff}
	for {
		consumed, err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// A session that consumed restarts at once, unless the sink
		// failed: then the pause grows until the sink recovers.
		var se *sinkError
		if consumed && !errors.As(err, &se) {
			b.reset()
		}
		wait := b.next()
		a.log.Warn("amqp consumer stopped; reconnecting", "err", err, "in", wait, "broker", redactURL(a.opts.URL))
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// sinkError is a failure of the sink, as opposed to the broker.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return "storing events: " + e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// redactURL keeps the password of a URL out of logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// session runs one connection: it returns when ctx ends, the connection
// drops or the sink fails; consumed says whether it got as far as
// consuming.
func (a *AMQP) session(ctx context.Context) (consumed bool, err error) {
	conn, err := amqp.DialConfig(a.opts.URL, amqp.Config{
		Heartbeat:  10 * time.Second,
		Dial:       amqp.DefaultDial(10 * time.Second),
		Properties: amqp.Table{"connection_name": "vigie events"},
	})
	if err != nil {
		return false, fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("opening a channel: %w", err)
	}
	if err := a.declare(ch); err != nil {
		return false, err
	}
	if err := ch.Qos(a.opts.Prefetch, 0, false); err != nil {
		return false, fmt.Errorf("setting the prefetch: %w", err)
	}
	dead, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("opening the dead-letter channel: %w", err)
	}
	if err := dead.Confirm(false); err != nil {
		return false, fmt.Errorf("confirm mode: %w", err)
	}
	deliveries, err := ch.Consume(a.opts.Queue, "", false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consuming %s: %w", a.opts.Queue, err)
	}
	a.log.Info("amqp consuming", "broker", redactURL(a.opts.URL), "exchange", a.opts.Exchange, "queue", a.opts.Queue)

	var (
		pending []events.Event
		msgs    int    // messages behind pending
		lastTag uint64 // the newest of them
		timer   = time.NewTimer(time.Hour)
		timerC  <-chan time.Time
	)
	timer.Stop()
	defer timer.Stop()
	flush := func() error {
		timerC = nil
		if msgs == 0 {
			return nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := a.sink.Ingest(fctx, pending); err != nil {
			// Not acknowledged: the broker redelivers them once the
			// connection closes.
			a.log.Error("storing amqp events; the broker will redeliver", "err", err, "messages", msgs)
			return &sinkError{err}
		}
		if err := ch.Ack(lastTag, true); err != nil {
			return fmt.Errorf("acknowledging: %w", err)
		}
		a.count.received.Add(float64(len(pending)))
		pending, msgs = pending[:0], 0
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return true, flush()
		case e := <-closed:
			if e == nil {
				return true, errors.New("connection closed")
			}
			return true, e
		case <-timerC:
			if err := flush(); err != nil {
				return true, err
			}
		case d, ok := <-deliveries:
			if !ok {
				return true, errors.New("the broker cancelled the consumer")
			}
			evs, reason, err := decodeMessage(d.Body, a.opts.MaxMessageBytes)
			if err != nil {
				if err := a.deadLetter(ctx, dead, d, reason, err); err != nil {
					return true, err
				}
				continue
			}
			pending = append(pending, evs...)
			msgs++
			lastTag = d.DeliveryTag
			if msgs >= a.opts.BatchSize {
				if err := flush(); err != nil {
					return true, err
				}
			} else if timerC == nil {
				timer.Reset(a.opts.FlushInterval)
				timerC = timer.C
			}
		}
	}
}

func (a *AMQP) declare(ch *amqp.Channel) error {
	if err := ch.ExchangeDeclare(a.opts.Exchange, "topic", true, false, false, false, nil); err != nil {
		return fmt.Errorf("declaring the exchange %s: %w", a.opts.Exchange, err)
	}
	for _, q := range []string{a.opts.Queue, a.opts.DeadLetterQueue} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declaring the queue %s: %w", q, err)
		}
	}
	if err := ch.QueueBind(a.opts.Queue, "#", a.opts.Exchange, false, nil); err != nil {
		return fmt.Errorf("binding %s to %s: %w", a.opts.Queue, a.opts.Exchange, err)
	}
	return nil
}

// deadLetter publishes a refused message to the dead-letter queue, waits
// for the broker to confirm it, then acknowledges the original.
func (a *AMQP) deadLetter(ctx context.Context, ch *amqp.Channel, d amqp.Delivery, reason string, cause error) error {
	a.count.refuse(reason, 1)
	a.count.warn("amqp message refused; dead-lettered", "err", cause, "routing_key", clipName(d.RoutingKey), "queue", a.opts.DeadLetterQueue)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	conf, err := ch.PublishWithDeferredConfirmWithContext(pctx, "", a.opts.DeadLetterQueue, false, false, amqp.Publishing{
		Headers: amqp.Table{
			"x-vigie-error":          cause.Error(),
			"x-vigie-reason":         reason,
			"x-original-exchange":    d.Exchange,
			"x-original-routing-key": d.RoutingKey,
		},
		ContentType:  d.ContentType,
		DeliveryMode: amqp.Persistent,
		Timestamp:    time.Now().UTC(),
		Body:         d.Body,
	})
	if err != nil {
		return fmt.Errorf("dead-lettering: %w", err)
	}
	if ok, err := conf.WaitContext(pctx); err != nil || !ok {
		return fmt.Errorf("dead-lettering: not confirmed by the broker (%v)", err)
	}
	if err := d.Ack(false); err != nil {
		return fmt.Errorf("acknowledging a dead-lettered message: %w", err)
	}
	return nil
}
