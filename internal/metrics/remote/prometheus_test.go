package remote

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/prompeer"
)

// TestPrometheusOutage forwards samples to the real Prometheus (Debian's,
// remote-write receiver on), kills it, keeps writing while the queue
// grows, restarts it on the same data and port, and checks through
// Prometheus' own query API that every sample arrived exactly once, in
// order, with its value.
func TestPrometheusOutage(t *testing.T) {
	bin := prompeer.Require(t)
	ctx := t.Context()
	p, err := prompeer.Start(ctx, bin, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	const nSeries, total = 10, 3000
	base := time.Now().Add(-20 * time.Minute).Truncate(time.Second)
	sample := func(i int) metrics.Sample {
		return metrics.Sample{
			Labels: map[string]string{"__name__": "vigie_rw_test", "s": fmt.Sprint(i % nSeries)},
			T:      base.Add(time.Duration(i) * 100 * time.Millisecond), V: float64(i),
		}
	}
	enqueue := func(w *Writer, from, to int) {
		for i := from; i < to; i += 50 {
			var b []metrics.Sample
			for j := i; j < min(i+50, to); j++ {
				b = append(b, sample(j))
			}
			if err := w.Enqueue(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(Target{Name: "prom", URL: p.URL() + "/api/v1/write", Timeout: 5 * time.Second}, WriterOptions{
		Dir: t.TempDir(), BatchSamples: 200, SegmentBytes: 8 << 10,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Metrics: m, Logger: discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pending := func() int64 { n, _ := w.Pending(); return n }

	enqueue(w, 0, 1000)
	waitUntil(t, "the first samples delivered", 20*time.Second, func() bool { return pending() == 0 })

	p.Kill()
	enqueue(w, 1000, 2000)
	waitUntil(t, "retries while Prometheus is down", 20*time.Second, func() bool {
		return testutil.ToFloat64(m.retries.WithLabelValues("prom")) >= 3
	})
	enqueue(w, 2000, total)
	if n := pending(); n < 1000 {
		t.Fatalf("queue of %d samples while the receiver is down", n)
	}
	if err := p.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the queue drained into the restarted Prometheus", 30*time.Second, func() bool { return pending() == 0 })
	if sent := testutil.ToFloat64(m.sent.WithLabelValues("prom")); sent != total {
		t.Fatalf("sent counter %v, want %d", sent, total)
	}

	at := sample(total - 1).T.Add(time.Second)
	counts, err := p.Query(ctx, "count_over_time(vigie_rw_test[1h])", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != nSeries {
		t.Fatalf("%d series in Prometheus, want %d", len(counts), nSeries)
	}
	for _, c := range counts {
		if c.Points[0].V != total/nSeries {
			t.Fatalf("series %v: %v samples, want %d", c.Metric, c.Points[0].V, total/nSeries)
		}
	}
	raw, err := p.Query(ctx, "vigie_rw_test[1h]", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != nSeries {
		t.Fatalf("raw samples of %d series", len(raw))
	}
	for _, se := range raw {
		if len(se.Points) != total/nSeries {
			t.Fatalf("series %v: %d raw samples", se.Metric, len(se.Points))
		}
		var s int
		fmt.Sscan(se.Metric["s"], &s)
		for k, pt := range se.Points {
			want := sample(s + k*nSeries)
			if pt.V != want.V || !pt.T.Equal(want.T) {
				t.Fatalf("series s=%d point %d: %v at %v, want %v at %v", s, k, pt.V, pt.T, want.V, want.T)
			}
		}
	}
}
