package api

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/metrics/remote"
)

// Metrics is the time-series database the Prometheus-compatible query API
// reads, so that Grafana can add vigie as a Prometheus data source.
type Metrics interface {
	Query(ctx context.Context, q string, t time.Time) (parser.Value, error)
	QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (parser.Value, error)
	Series(ctx context.Context, selectors []string, start, end time.Time) ([]map[string]string, error)
	LabelNames(ctx context.Context, start, end time.Time) ([]string, error)
	LabelValues(ctx context.Context, name string, start, end time.Time) ([]string, error)
}

// resolutions is implemented by a store that reads rollups for long
// ranges: answers say which resolution was read, in X-Vigie-Resolution.
type resolutions interface {
	ResolutionFor(q string, step time.Duration) (metrics.Resolution, error)
}

func (s *Server) setResolution(w http.ResponseWriter, q string, step time.Duration) {
	if r, ok := s.opts.Metrics.(resolutions); ok {
		if res, err := r.ResolutionFor(q, step); err == nil {
			w.Header().Set("X-Vigie-Resolution", res.String())
		}
	}
}

// Receiver stores remote-write pushes: see remote.Receiver.
type Receiver interface {
	MaxBodyBytes() int64
	Receive(ctx context.Context, h http.Header, body io.Reader) error
}

// promWrite accepts Prometheus remote write 1.0. Errors name what is
// wrong: 400 for a malformed request or refused samples (as Prometheus
// answers, so that senders do not retry them), 413 past the bounds, 415
// for another protocol.
func (s *Server) promWrite(w http.ResponseWriter, r *http.Request) {
	if s.opts.Receiver == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "remote write is not available")
		return
	}
	err := s.opts.Receiver.Receive(r.Context(), r.Header, r.Body)
	var re *remote.Error
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.As(err, &re):
		writeError(w, re.Status, re.Reason, re.Msg)
	default:
		s.log.Error("storing remote-write samples", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

// maxQueryLen bounds a PromQL expression.
const maxQueryLen = 16 << 10

// promAnswer is Prometheus' HTTP API envelope.
type promAnswer struct {
	Status    string `json:"status"`
	Data      any    `json:"data,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
	Error     string `json:"error,omitempty"`
}

func promError(w http.ResponseWriter, status int, kind, msg string) {
	writeJSON(w, status, promAnswer{Status: "error", ErrorType: kind, Error: msg})
}

func (s *Server) promErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, metrics.ErrBadQuery):
		promError(w, http.StatusBadRequest, "bad_data", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		promError(w, http.StatusServiceUnavailable, "timeout", err.Error())
	default:
		s.log.Error("querying metrics", "err", err)
		promError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

// promTime parses Prometheus' time forms: RFC 3339 or Unix seconds.
func promTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

func promDuration(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 && !math.IsInf(f, 0) {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

// promForm reads a parameter from the query string or a POST form, as
// Prometheus accepts both.
func promForm(r *http.Request, name string) string {
	if r.Method == http.MethodPost {
		r.ParseForm()
		return r.Form.Get(name)
	}
	return r.URL.Query().Get(name)
}

func (s *Server) promQuery(w http.ResponseWriter, r *http.Request) {
	q := promForm(r, "query")
	if q == "" || len(q) > maxQueryLen {
		promError(w, http.StatusBadRequest, "bad_data", "query: required, at most 16 KiB")
		return
	}
	t, err := promTime(promForm(r, "time"), time.Now())
	if err != nil {
		promError(w, http.StatusBadRequest, "bad_data", "time: "+err.Error())
		return
	}
	v, err := s.opts.Metrics.Query(r.Context(), q, t)
	if err != nil {
		s.promErr(w, err)
		return
	}
	s.setResolution(w, q, 0)
	writeJSON(w, http.StatusOK, promAnswer{Status: "success", Data: encodeValue(v)})
}

func (s *Server) promQueryRange(w http.ResponseWriter, r *http.Request) {
	q := promForm(r, "query")
	if q == "" || len(q) > maxQueryLen {
		promError(w, http.StatusBadRequest, "bad_data", "query: required, at most 16 KiB")
		return
	}
	start, err1 := promTime(promForm(r, "start"), time.Time{})
	end, err2 := promTime(promForm(r, "end"), time.Time{})
	step, err3 := promDuration(promForm(r, "step"))
	if err := errors.Join(err1, err2, err3); err != nil || start.IsZero() || end.IsZero() {
		promError(w, http.StatusBadRequest, "bad_data", "start, end and step are required (RFC 3339 or Unix seconds; step as 15s or seconds)")
		return
	}
	v, err := s.opts.Metrics.QueryRange(r.Context(), q, start, end, step)
	if err != nil {
		s.promErr(w, err)
		return
	}
	s.setResolution(w, q, step)
	writeJSON(w, http.StatusOK, promAnswer{Status: "success", Data: encodeValue(v)})
}

func promWindow(r *http.Request) (time.Time, time.Time, error) {
	end, err := promTime(promForm(r, "end"), time.Now())
	if err != nil {
		return end, end, err
	}
	start, err := promTime(promForm(r, "start"), end.Add(-24*time.Hour))
	return start, end, err
}

func (s *Server) promSeries(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.ParseForm()
	}
	sel := r.Form["match[]"]
	if r.Method == http.MethodGet {
		sel = r.URL.Query()["match[]"]
	}
	if len(sel) == 0 || len(sel) > 100 {
		promError(w, http.StatusBadRequest, "bad_data", "match[]: between 1 and 100 selectors")
		return
	}
	start, end, err := promWindow(r)
	if err != nil {
		promError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	out, err := s.opts.Metrics.Series(r.Context(), sel, start, end)
	if err != nil {
		s.promErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, promAnswer{Status: "success", Data: out})
}

func (s *Server) promLabels(w http.ResponseWriter, r *http.Request) {
	start, end, err := promWindow(r)
	if err != nil {
		promError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	out, err := s.opts.Metrics.LabelNames(r.Context(), start, end)
	if err != nil {
		s.promErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, promAnswer{Status: "success", Data: nonNil(out)})
}

func (s *Server) promLabelValues(w http.ResponseWriter, r *http.Request) {
	start, end, err := promWindow(r)
	if err != nil {
		promError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	out, err := s.opts.Metrics.LabelValues(r.Context(), r.PathValue("id"), start, end)
	if err != nil {
		s.promErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, promAnswer{Status: "success", Data: nonNil(out)})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// encodeValue writes a PromQL value in Prometheus' JSON form: samples as
// [unix seconds, "value"].
func encodeValue(v parser.Value) any {
	point := func(t int64, f float64) []any {
		return []any{float64(t) / 1000, strconv.FormatFloat(f, 'g', -1, 64)}
	}
	switch v := v.(type) {
	case promql.Vector:
		out := make([]map[string]any, 0, len(v))
		for _, s := range v {
			out = append(out, map[string]any{"metric": s.Metric.Map(), "value": point(s.T, s.F)})
		}
		return map[string]any{"resultType": "vector", "result": out}
	case promql.Matrix:
		out := make([]map[string]any, 0, len(v))
		for _, s := range v {
			vals := make([][]any, 0, len(s.Floats))
			for _, p := range s.Floats {
				vals = append(vals, point(p.T, p.F))
			}
			out = append(out, map[string]any{"metric": s.Metric.Map(), "values": vals})
		}
		return map[string]any{"resultType": "matrix", "result": out}
	case promql.Scalar:
		return map[string]any{"resultType": "scalar", "result": point(v.T, v.V)}
	case promql.String:
		return map[string]any{"resultType": "string", "result": []any{float64(v.T) / 1000, v.V}}
	}
	return map[string]any{"resultType": "vector", "result": []any{}}
}
