package sources

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// recordSink is a test events.Sink: it keeps what it is given, or fails
// while fail is set.
type recordSink struct {
	mu   sync.Mutex
	evs  []events.Event
	fail error
	// calls counts Ingest calls, failed ones included.
	calls int
}

var _ events.Sink = (*recordSink)(nil)

func (s *recordSink) Ingest(_ context.Context, evs []events.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		return s.fail
	}
	s.evs = append(s.evs, evs...)
	return nil
}

func (s *recordSink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *recordSink) events() []events.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]events.Event(nil), s.evs...)
}

func (s *recordSink) ingestCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

var errSinkDown = errors.New("sink down")

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// counterValue reads one counter of a registry by name and labels.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				if labelValue(m, k) != v {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// run starts a source's Run in the background and stops it at cleanup,
// failing the test if Run returns an error.
func run(t *testing.T, fn func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// A flood of refusals logs at most refusalBurst lines a second, and the
// next line says how many were held back.
func TestRefusalLogIsBounded(t *testing.T) {
	var buf bytes.Buffer
	c := newCounters(nil, "test", slog.New(slog.NewTextHandler(&buf, nil)))
	now := time.Unix(1000, 0)
	c.rlog.now = func() time.Time { return now }
	for range refusalBurst + 30 {
		c.warn("refused", "n", 1)
	}
	if got := strings.Count(buf.String(), "msg=refused"); got != refusalBurst {
		t.Fatalf("%d lines in the first second, want %d", got, refusalBurst)
	}
	now = now.Add(time.Second)
	buf.Reset()
	c.warn("refused again")
	if !strings.Contains(buf.String(), "refusals_not_logged_before=30") {
		t.Fatalf("held-back refusals not reported: %s", buf.String())
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.next())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff %v, want %v ms", got, want)
		}
	}
	b.reset()
	if b.next() != 100*time.Millisecond {
		t.Fatal("reset did not restart at min")
	}
}
