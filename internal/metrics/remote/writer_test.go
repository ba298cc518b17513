package remote

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// recorder is a receiving end that keeps every sample it is given.
type recorder struct {
	mu      sync.Mutex
	samples []metrics.Sample
}

func (r *recorder) Append(_ context.Context, s []metrics.Sample) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, s...)
	return nil
}

func (r *recorder) values() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, len(r.samples))
	for i, s := range r.samples {
		out[i] = int(s.V)
	}
	return out
}

// receiverServer serves remote write with the package's own Receiver;
// before, when set, may answer first (return true when it did).
func receiverServer(t *testing.T, rec *recorder, before func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	rcv := NewReceiver(rec, Limits{}, nil)
	rcv.now = func() time.Time { return now0.Add(24 * time.Hour) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil && before(w, r) {
			return
		}
		if err := rcv.Receive(r.Context(), r.Header, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fastOptions(dir string, m *Metrics, log *slog.Logger) WriterOptions {
	return WriterOptions{Dir: dir, BatchSamples: 50, SegmentBytes: 2048, MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond, SyncInterval: 20 * time.Millisecond, Metrics: m, Logger: log}
}

// TestWriterExactlyOnceAcrossRestart: a writer closed while sending, and a
// new one on the same queue, deliver every sample exactly once, each
// series in order.
func TestWriterExactlyOnceAcrossRestart(t *testing.T) {
	rec := &recorder{}
	srv := receiverServer(t, rec, func(http.ResponseWriter, *http.Request) bool {
		time.Sleep(5 * time.Millisecond) // a receiver with some latency
		return false
	})
	dir := t.TempDir()
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(Target{Name: "t1", URL: srv.URL}, fastOptions(dir, m, discard()))
	if err != nil {
		t.Fatal(err)
	}
	const total = 3000
	for i := 0; i < total/2; i += 100 {
		w.Enqueue(numbered(i, 100, 5))
	}
	waitUntil(t, "some samples delivered", 10*time.Second, func() bool { return len(rec.values()) >= 200 })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	delivered := len(rec.values())
	if delivered >= total/2 {
		t.Fatalf("the writer delivered everything (%d) before closing; the test needs a queue left", delivered)
	}
	w, err = NewWriter(Target{Name: "t1", URL: srv.URL}, fastOptions(dir, m, discard()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := total / 2; i < total; i += 100 {
		w.Enqueue(numbered(i, 100, 5))
	}
	waitUntil(t, "every sample delivered", 20*time.Second, func() bool { n, _ := w.Pending(); return n == 0 })
	inOrder(t, rec.values(), sequence(0, total), 5)
	if got := testutil.ToFloat64(m.sent.WithLabelValues("t1")); got != total {
		t.Fatalf("sent counter %v, want %d", got, total)
	}
}

// TestWriterRetriesAndRejects: 503 and 429 (with Retry-After) are retried
// until delivered; a 400 batch is dropped, counted and logged.
func TestWriterRetriesAndRejects(t *testing.T) {
	rec := &recorder{}
	var calls atomic.Int32
	var reject atomic.Bool
	srv := receiverServer(t, rec, func(w http.ResponseWriter, r *http.Request) bool {
		switch n := calls.Add(1); {
		case reject.Load():
			http.Error(w, "out of order sample", http.StatusBadRequest)
			return true
		case n == 1:
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return true
		case n == 2:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		case n == 3:
			// A token being rotated: the data waits, it is not dropped.
			http.Error(w, "bad token", http.StatusUnauthorized)
			return true
		}
		return false
	})
	var logs bytes.Buffer
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(Target{Name: "t2", URL: srv.URL}, fastOptions(t.TempDir(), m, slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now()
	w.Enqueue(numbered(0, 40, 1))
	waitUntil(t, "delivery after retries", 10*time.Second, func() bool { return len(rec.values()) == 40 })
	if time.Since(start) < time.Second {
		t.Fatalf("Retry-After: 1 not honoured (delivered after %v)", time.Since(start))
	}
	if r := testutil.ToFloat64(m.retries.WithLabelValues("t2")); r != 3 {
		t.Fatalf("retries %v, want 3", r)
	}
	if f := testutil.ToFloat64(m.failed.WithLabelValues("t2")); f != 120 {
		t.Fatalf("failed samples %v, want 120", f)
	}
	reject.Store(true)
	w.Enqueue(numbered(40, 30, 1))
	waitUntil(t, "the rejected batch dropped", 10*time.Second, func() bool {
		return testutil.ToFloat64(m.dropped.WithLabelValues("t2", "rejected")) == 30
	})
	if !strings.Contains(logs.String(), "rejected; dropped") || !strings.Contains(logs.String(), "400") {
		t.Fatalf("rejection not logged: %s", logs.String())
	}
	if n, _ := w.Pending(); n != 0 {
		t.Fatalf("%d samples still queued after a 4xx", n)
	}
}

// TestSecretsNeverLogged: neither the bearer token nor the password
// reaches a log line or an error, even when the receiver echoes them.
func TestSecretsNeverLogged(t *testing.T) {
	const token, password = "tok-SECRET-1234567", "pw-SECRET-7654321"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		http.Error(w, "bad credentials: "+r.Header.Get("Authorization")+" "+u+":"+p, http.StatusInternalServerError)
	}))
	defer echo.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + ln.Addr().String() + "/write"
	ln.Close()

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, tgt := range []Target{
		{Name: "bearer", URL: echo.URL, BearerToken: token},
		{Name: "basic", URL: echo.URL, Username: "vigie", Password: password},
		{Name: "down", URL: closedURL + "?key=" + token, BearerToken: token},
	} {
		c, err := NewClient(tgt)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := EncodeWriteRequest(numbered(0, 1, 1))
		err = c.Send(t.Context(), body)
		var se *SendError
		if !errors.As(err, &se) || !se.Retry {
			t.Fatalf("%s: want a retryable error, got %v", tgt.Name, err)
		}
		log.Info("target", "t", tgt, "err", err)
		w, err := NewWriter(tgt, fastOptions(t.TempDir(), nil, log))
		if err != nil {
			t.Fatal(err)
		}
		w.Enqueue(numbered(0, 5, 1))
		time.Sleep(100 * time.Millisecond) // several failures, logged
		w.Close()
	}
	out := logs.String()
	if !strings.Contains(out, "remote write failed") || !strings.Contains(out, "<secret>") {
		t.Fatalf("the failures were not logged: %s", out)
	}
	for _, s := range []string{token, password, base64.StdEncoding.EncodeToString([]byte("vigie:" + password))} {
		if strings.Contains(out, s) {
			t.Fatalf("secret %q in the logs:\n%s", s, out)
		}
	}
	// Credentials in the URL are refused, not carried into errors.
	if _, err := NewClient(Target{Name: "u", URL: "http://vigie:" + password + "@127.0.0.1/"}); err == nil || strings.Contains(err.Error(), password) {
		t.Fatalf("credentials in the URL: %v", err)
	}
}
