package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// Appender stores samples: vigie's time-series database, and whatever
// fans out from it.
type Appender interface {
	Append(ctx context.Context, samples []metrics.Sample) error
}

// Receiver accepts remote-write pushes (from a Prometheus, an agent).
type Receiver struct {
	app Appender
	lim Limits
	m   *Metrics
	now func() time.Time
}

// NewReceiver builds a receiver storing into app; zero limits take
// DefaultLimits. m may be nil.
func NewReceiver(app Appender, lim Limits, m *Metrics) *Receiver {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Receiver{app: app, lim: lim.withDefaults(), m: m, now: time.Now}
}

// MaxBodyBytes is the largest compressed body to read.
func (r *Receiver) MaxBodyBytes() int64 { return r.lim.MaxBodyBytes }

// Receive checks a request's headers, reads its body (at most
// MaxBodyBytes), decodes it and stores the samples. A nil answer means
// stored (204). Errors are *Error with the status to answer (400 naming
// what is wrong, 413, 415), except failures of the database itself.
func (r *Receiver) Receive(ctx context.Context, h http.Header, body io.Reader) error {
	err := r.receive(ctx, h, body)
	var e *Error
	if errors.As(err, &e) && e.Reason != "refused" {
		r.m.refusedRequest.WithLabelValues(e.Reason).Inc()
	}
	return err
}

func (r *Receiver) receive(ctx context.Context, h http.Header, rd io.Reader) error {
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, ContentEncoding) {
		return &Error{Status: http.StatusUnsupportedMediaType, Reason: "unsupported",
			Msg: fmt.Sprintf("Content-Encoding %q is not supported: send snappy", enc)}
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != ContentType {
			return &Error{Status: http.StatusUnsupportedMediaType, Reason: "unsupported",
				Msg: fmt.Sprintf("Content-Type %q is not supported: send %s (remote write 1.0)", ct, ContentType)}
		}
		if p := params["proto"]; p != "" && p != "prometheus.WriteRequest" {
			return &Error{Status: http.StatusUnsupportedMediaType, Reason: "unsupported",
				Msg: fmt.Sprintf("protobuf message %q is not supported: vigie speaks remote write 1.0 (prometheus.WriteRequest)", p)}
		}
	}
	body, err := io.ReadAll(io.LimitReader(rd, r.lim.MaxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge("request body over %d bytes", r.lim.MaxBodyBytes)
		}
		return badRequest("malformed", "reading the request body: %v", err)
	}
	d, err := DecodeWriteRequest(body, r.lim, r.now())
	if err != nil {
		return err
	}
	if d.Histograms > 0 {
		r.m.refused.WithLabelValues("histogram").Add(float64(d.Histograms))
	}
	if len(d.Samples) == 0 {
		return nil
	}
	err = r.app.Append(ctx, d.Samples)
	var re *metrics.RefusedError
	switch {
	case err == nil:
		r.m.received.Add(float64(len(d.Samples)))
		return nil
	case errors.As(err, &re):
		r.m.received.Add(float64(len(d.Samples) - len(re.Refused)))
		by := map[string]int{}
		for _, rf := range re.Refused {
			by[rf.Reason()]++
		}
		var parts []string
		for k, n := range by {
			r.m.refused.WithLabelValues(k).Add(float64(n))
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(parts)
		// As Prometheus does: a 400, so that the sender does not retry
		// what can never be stored; the other samples were stored.
		return &Error{Status: http.StatusBadRequest, Reason: "refused",
			Msg: fmt.Sprintf("%d of %d samples refused (%s); the others were stored; first: %v",
				len(re.Refused), re.Total, strings.Join(parts, ", "), re.Refused[0].Err)}
	case errors.Is(err, metrics.ErrIngestionStopped):
		// The disk is full: a 503, so that the sender keeps the samples
		// and tries again later.
		return &Error{Status: http.StatusServiceUnavailable, Reason: "unavailable", Msg: err.Error()}
	default:
		return fmt.Errorf("storing received samples: %w", err)
	}
}
