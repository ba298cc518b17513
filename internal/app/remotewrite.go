package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/config"
	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/metrics/remote"
)

// sampleSink is where every sample goes: the time-series database first,
// then the queue of every remote-write target, with only the samples the
// database kept (a sample it refuses as out of order would make a
// Prometheus refuse the whole batch it travels in).
type sampleSink struct {
	db      *metrics.DB
	writers []*remote.Writer
	log     *slog.Logger
}

// Append stores samples and queues them for forwarding; its error is the
// database's. A queue that cannot write logs and counts its loss.
func (s *sampleSink) Append(ctx context.Context, samples []metrics.Sample) error {
	err := s.db.Append(ctx, samples)
	if len(s.writers) == 0 || len(samples) == 0 {
		return err
	}
	kept := samples
	var re *metrics.RefusedError
	switch {
	case errors.As(err, &re):
		kept = re.Accepted(samples)
	case err != nil:
		return err
	}
	for _, w := range s.writers {
		if qerr := w.Enqueue(kept); qerr != nil {
			s.log.Error("queueing samples for remote write", "err", qerr, "samples", len(kept))
		}
	}
	return err
}

// close stops the senders; what they have not delivered stays queued on
// disk for the next start.
func (s *sampleSink) close() {
	for _, w := range s.writers {
		if err := w.Close(); err != nil {
			s.log.Error("closing a remote-write queue", "target", w.Name(), "err", err)
		}
	}
	s.writers = nil
}

// openRemoteWrite builds the sink with a writer (queue and sender) per
// metrics.remote_write target, and the receiver of remote write in.
func (a *App) openRemoteWrite(reg prometheus.Registerer) error {
	m := remote.NewMetrics(reg)
	a.sink = &sampleSink{db: a.tsdb, log: a.log}
	for _, rw := range a.cfg.Metrics.RemoteWrite {
		t := targetOf(rw)
		w, err := remote.NewWriter(t, remote.WriterOptions{
			Dir:           filepath.Join(a.cfg.DataDir, "remote-write", rw.Name),
			QueueMaxBytes: rw.QueueMaxBytes,
			BatchSamples:  rw.BatchSamples,
			Metrics:       m,
			Logger:        a.log,
		})
		if err != nil {
			a.sink.close()
			return fmt.Errorf("metrics.remote_write %s: %w", rw.Name, err)
		}
		a.sink.writers = append(a.sink.writers, w)
		a.log.Info("remote write on", "target", t) // name and URL, no secrets
	}
	r := a.cfg.Metrics.RemoteWriteReceiver
	a.receiver = remote.NewReceiver(a.sink, remote.Limits{
		MaxBodyBytes: r.MaxBodyBytes, MaxDecodedBytes: r.MaxDecodedBytes, MaxSeries: r.MaxSeries, MaxSamples: r.MaxSamples,
	}, m)
	return nil
}

func targetOf(rw config.RemoteWrite) remote.Target {
	return remote.Target{
		Name: rw.Name, URL: rw.URL, BearerToken: rw.BearerToken,
		Username: rw.BasicAuth.Username, Password: rw.BasicAuth.Password,
		Headers: rw.Headers, Timeout: rw.Timeout.D(), TLSSkipVerify: rw.TLSSkipVerify,
	}
}
