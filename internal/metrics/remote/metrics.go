package remote

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the remote-write counters and gauges at /metrics, shared by
// every Writer (labelled by target) and the Receiver.
type Metrics struct {
	queueBytes     *prometheus.GaugeVec
	queueSamples   *prometheus.GaugeVec
	sent           *prometheus.CounterVec
	failed         *prometheus.CounterVec
	dropped        *prometheus.CounterVec
	retries        *prometheus.CounterVec
	corrupt        *prometheus.CounterVec
	lastSuccess    *prometheus.GaugeVec
	received       prometheus.Counter
	refused        *prometheus.CounterVec
	refusedRequest *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		queueBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_remote_write_queue_bytes",
			Help: "Bytes of the remote-write queue on disk."}, []string{"target"}),
		queueSamples: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_remote_write_queue_samples",
			Help: "Samples in the remote-write queue not yet delivered."}, []string{"target"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_remote_write_samples_sent_total",
			Help: "Samples delivered (answered 2xx)."}, []string{"target"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_remote_write_samples_failed_total",
			Help: "Samples of requests that failed and will be retried (network errors, 5xx, 429), once per attempt."}, []string{"target"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_remote_write_samples_dropped_total",
			Help: "Samples given up: rejected (4xx), queue_full (oldest segment dropped), corrupt (queue record), write_error (not queued)."}, []string{"target", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_remote_write_retries_total",
			Help: "Requests retried."}, []string{"target"}),
		corrupt: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_remote_write_queue_corrupt_records_total",
			Help: "Corrupt or torn records found in the queue and skipped."}, []string{"target"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_remote_write_last_success_timestamp_seconds",
			Help: "Unix time of the last delivered request."}, []string{"target"}),
		received: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_remote_write_received_samples_total",
			Help: "Samples received by remote write and stored."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_remote_write_refused_samples_total",
			Help: "Samples received by remote write and not stored: out_of_order, too_old, duplicate, invalid, histogram (not kept)."}, []string{"reason"}),
		refusedRequest: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_remote_write_refused_requests_total",
			Help: "Remote-write requests refused whole: too_large, malformed, invalid, unsupported, unavailable (store stopped, disk full)."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.queueBytes, m.queueSamples, m.sent, m.failed, m.dropped, m.retries, m.corrupt, m.lastSuccess,
			m.received, m.refused, m.refusedRequest)
	}
	return m
}
