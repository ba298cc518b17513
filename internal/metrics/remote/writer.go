package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Dir holds the target's queue.
	Dir string
	// QueueMaxBytes bounds the queue on disk (default 1 GiB); past it the
	// oldest segment is dropped. SegmentBytes is one segment's size
	// (default an eighth of that, at most 16 MiB).
	QueueMaxBytes int64
	SegmentBytes  int64
	// BatchSamples is the most samples in one request (default 2,000).
	BatchSamples int
	// SyncInterval is how often the queue is fsync'd (default 1 s).
	SyncInterval time.Duration
	// MinBackoff and MaxBackoff bound the waits between retries (default
	// 250 ms and 30 s); a Retry-After answer is honoured up to MaxRetryAfter
	// (default 5 min).
	MinBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// CloseGrace is how long Close lets a request in flight finish
	// (default 5 s); one cut short is sent again after a restart.
	CloseGrace time.Duration
	Metrics    *Metrics
	Logger     *slog.Logger
}

// Writer forwards samples to one target through its disk queue: Enqueue
// writes to the queue, a sender goroutine reads it in order, batches, posts
// and moves the queue's cursor only after a 2xx.
type Writer struct {
	t      Target
	opts   WriterOptions
	client *Client
	q      *queue
	log    *slog.Logger

	sent, failed, retries prometheus.Counter
	dropped               func(reason string) prometheus.Counter
	lastSuccess           prometheus.Gauge

	// health: since when the target fails (zero when it does not) and
	// with what, for the server's self check.
	mu        sync.Mutex
	downSince time.Time
	lastErr   string

	stop     chan struct{}
	sendCtx  context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	syncDone chan struct{}
	once     sync.Once
}

// NewWriter opens the target's queue and starts sending.
func NewWriter(t Target, opts WriterOptions) (*Writer, error) {
	if opts.QueueMaxBytes <= 0 {
		opts.QueueMaxBytes = 1 << 30
	}
	if opts.BatchSamples <= 0 {
		opts.BatchSamples = 2000
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 5 * time.Minute
	}
	if opts.CloseGrace <= 0 {
		opts.CloseGrace = 5 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("remote write %s: no queue directory", t.Name)
	}
	client, err := NewClient(t)
	if err != nil {
		return nil, err
	}
	m := opts.Metrics
	log := opts.Logger.With("remote_write", t.Name)
	w := &Writer{
		t: t, opts: opts, client: client, log: log,
		sent:        m.sent.WithLabelValues(t.Name),
		failed:      m.failed.WithLabelValues(t.Name),
		retries:     m.retries.WithLabelValues(t.Name),
		dropped:     func(reason string) prometheus.Counter { return m.dropped.WithLabelValues(t.Name, reason) },
		lastSuccess: m.lastSuccess.WithLabelValues(t.Name),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		syncDone:    make(chan struct{}),
	}
	qBytes, qSamples := m.queueBytes.WithLabelValues(t.Name), m.queueSamples.WithLabelValues(t.Name)
	corrupt := m.corrupt.WithLabelValues(t.Name)
	w.q, err = openQueue(opts.Dir, queueOptions{
		MaxBytes: opts.QueueMaxBytes, SegmentBytes: opts.SegmentBytes, Logger: log,
		Dropped: func(reason string, n int64) { w.dropped(reason).Add(float64(n)) },
		Corrupt: corrupt.Inc,
		Changed: func(b, s int64) { qBytes.Set(float64(b)); qSamples.Set(float64(s)) },
	})
	if err != nil {
		return nil, fmt.Errorf("remote write %s: %w", t.Name, err)
	}
	w.sendCtx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	go w.syncLoop()
	if _, n := w.q.stats(); n > 0 {
		log.Info("remote write resuming its queue", "samples", n)
	}
	return w, nil
}

// Name is the target's name.
func (w *Writer) Name() string { return w.t.Name }

// Enqueue queues samples for the target. It fails only when the disk does
// (the samples are then counted as dropped, reason write_error).
func (w *Writer) Enqueue(samples []metrics.Sample) error {
	if err := w.q.enqueue(samples, w.opts.BatchSamples); err != nil {
		w.dropped("write_error").Add(float64(len(samples)))
		return fmt.Errorf("remote write %s: %w", w.t.Name, err)
	}
	return nil
}

// Pending returns the samples not yet delivered and the queue's bytes on
// disk.
func (w *Writer) Pending() (samples, bytes int64) {
	b, s := w.q.stats()
	return s, b
}

// Close stops sending, letting a request in flight finish for CloseGrace,
// and syncs the queue. What is left is sent after the next start.
func (w *Writer) Close() error {
	w.once.Do(func() {
		close(w.stop)
		t := time.NewTimer(w.opts.CloseGrace)
		select {
		case <-w.done:
		case <-t.C:
			w.cancel()
			<-w.done
		}
		t.Stop()
		w.cancel()
		<-w.syncDone
	})
	return w.q.close()
}

func (w *Writer) syncLoop() {
	defer close(w.syncDone)
	t := time.NewTicker(w.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			if err := w.q.sync(); err != nil {
				w.log.Error("syncing the remote-write queue", "err", err)
			}
		}
	}
}

func (w *Writer) stopping() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// run is the sender: one batch at a time, in queue order.
func (w *Writer) setHealth(since time.Time, err string) {
	w.mu.Lock()
	w.downSince, w.lastErr = since, err
	w.mu.Unlock()
}

// Health is how a target fares: Failing since when (zero when it does
// not), with the last error, and how full its queue is.
type Health struct {
	Target   string
	Since    time.Time
	LastErr  string
	Samples  int64
	Bytes    int64
	MaxBytes int64
}

func (w *Writer) health() Health {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Health{Target: w.t.Name, Since: w.downSince, LastErr: w.lastErr, MaxBytes: w.opts.QueueMaxBytes}
}

// Health reports the target's state for vigie's self check.
func (w *Writer) Health() Health {
	h := w.health()
	h.Samples, h.Bytes = w.Pending()
	return h
}

func (w *Writer) run() {
	defer close(w.done)
	backoff := w.opts.MinBackoff
	down := false
	for !w.stopping() {
		b, err := w.q.next(int64(w.opts.BatchSamples))
		if err != nil {
			w.log.Error("reading the remote-write queue", "err", err)
		}
		if b == nil {
			select {
			case <-w.stop:
				return
			case <-w.q.notify:
			case <-time.After(time.Second):
			}
			continue
		}
		if b.samples == 0 {
			w.q.commit(b)
			continue
		}
		body := snappy.Encode(nil, b.raw)
		for {
			err := w.client.Send(w.sendCtx, body)
			if err == nil {
				w.q.commit(b)
				w.sent.Add(float64(b.samples))
				w.lastSuccess.Set(float64(time.Now().UnixNano()) / 1e9)
				if down {
					w.log.Info("remote write target reachable again")
					down = false
					w.setHealth(time.Time{}, "")
				}
				backoff = w.opts.MinBackoff
				break
			}
			var se *SendError
			if !errors.As(err, &se) {
				se = &SendError{Retry: true, msg: err.Error()}
			}
			if !se.Retry {
				// A 4xx can never succeed: give the batch up, loudly.
				w.q.commit(b)
				w.dropped("rejected").Add(float64(b.samples))
				w.log.Warn("remote write batch rejected; dropped", "samples", b.samples, "status", se.Status, "err", se.Error())
				break
			}
			if w.stopping() {
				return // not committed: sent again after the next start
			}
			w.failed.Add(float64(b.samples))
			w.retries.Inc()
			wait := backoff
			if se.RetryAfter > wait {
				wait = min(se.RetryAfter, w.opts.MaxRetryAfter)
			}
			if !down {
				w.log.Warn("remote write failed; retrying with backoff", "err", se.Error(), "retry_in", wait.String())
				down = true
				w.setHealth(time.Now(), se.Error())
			} else {
				w.setHealth(w.health().Since, se.Error())
				w.log.Debug("remote write failed again", "err", se.Error(), "retry_in", wait.String(), "status", strconv.Itoa(se.Status))
			}
			select {
			case <-w.stop:
				return
			case <-time.After(wait):
			}
			backoff = min(backoff*2, w.opts.MaxBackoff)
		}
	}
}
