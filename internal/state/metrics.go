package state

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the engine's own figures, exposed at /metrics.
type Metrics struct {
	Checks   *prometheus.CounterVec
	Duration prometheus.Histogram
	Lateness prometheus.Histogram
	Running  prometheus.Gauge
	Due      prometheus.Gauge
	Written  prometheus.Counter
}

// NewMetrics creates the engine's metrics and registers them with reg when
// it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_checks_total", Help: "Checks run, by kind of object and resulting state.",
		}, []string{"kind", "state"}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigie_check_duration_seconds", Help: "How long checks took.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}),
		Lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigie_check_lateness_seconds", Help: "How late checks started after their scheduled time.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
		Running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigie_checks_running", Help: "Checks running now.",
		}),
		Due: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigie_checks_due", Help: "Checks found due at the last dispatch (the scheduler's queue).",
		}),
		Written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_results_written_total", Help: "Check results written to the database.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Checks, m.Duration, m.Lateness, m.Running, m.Due, m.Written)
	}
	return m
}
