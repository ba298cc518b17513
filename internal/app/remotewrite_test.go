package app

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/metrics/remote"
	"github.com/vigie-monitoring/vigie/internal/prompeer"
)

// token creates an API token of the admin with the given permissions.
func (ts *testServer) token(perms ...string) string {
	ts.t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	if code := ts.admin("POST", "/api/v1/tokens", map[string]any{"name": "t-" + strings.Join(perms, "-") + fmt.Sprint(time.Now().UnixNano()), "permissions": perms}, &tok); code != 201 {
		ts.t.Fatalf("creating a token: %d", code)
	}
	return tok.Token
}

// push posts a remote-write body with a bearer token ("" for none).
func (ts *testServer) push(token string, body []byte) (int, string) {
	ts.t.Helper()
	req, _ := http.NewRequest("POST", ts.base+"/prometheus/api/v1/write", bytes.NewReader(body))
	req.Header.Set("Content-Type", remote.ContentType)
	req.Header.Set("Content-Encoding", remote.ContentEncoding)
	req.Header.Set("X-Prometheus-Remote-Write-Version", remote.ProtocolVersion)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// promValue runs an instant PromQL query as the admin and returns the
// first value, or "" when the answer is empty.
func (ts *testServer) promValue(q string) string {
	var ans struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	ts.admin("GET", "/prometheus/api/v1/query?query="+url.QueryEscape(q), nil, &ans)
	if len(ans.Data.Result) == 0 {
		return ""
	}
	return fmt.Sprint(ans.Data.Result[0].Value[1])
}

func (ts *testServer) metricsText() string {
	resp, err := http.Get(ts.base + "/metrics")
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// noise is incompressible bytes.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func rwBody(t *testing.T, samples ...metrics.Sample) []byte {
	b, err := remote.EncodeWriteRequest(samples)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRemoteWriteIn: pushes need a token with metrics.write; what is wrong
// is answered 400 naming it, oversize 413; samples the database refuses
// are counted and answered 400 saying how many.
func TestRemoteWriteIn(t *testing.T) {
	ts := startServer(t, t.TempDir(), "", "VIGIE_METRICS_REMOTE_WRITE_RECEIVER_MAX_BODY_BYTES=4096")
	now := time.Now().Truncate(time.Millisecond)
	s := func(v float64, at time.Time, kv ...string) metrics.Sample {
		l := map[string]string{"__name__": "pushed", "job": "agent"}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return metrics.Sample{Labels: l, T: at, V: v}
	}
	body := rwBody(t, s(1, now.Add(-2*time.Second)), s(2, now.Add(-time.Second)), s(7, now, "job", "other"))
	if code, _ := ts.push("", body); code != 401 {
		t.Fatalf("push without credentials: %d", code)
	}
	if code, _ := ts.push(ts.token("metrics.read"), body); code != 403 {
		t.Fatalf("push with a metrics.read token: %d", code)
	}
	tok := ts.token("metrics.write")
	if code, msg := ts.push(tok, body); code != 204 {
		t.Fatalf("push: %d %s", code, msg)
	}
	if v := ts.promValue(`sum(pushed)`); v != "9" {
		t.Fatalf("pushed samples through PromQL: %q", v)
	}

	cases := []struct {
		name string
		body []byte
		code int
		msg  string
	}{
		{"malformed", []byte("definitely not snappy"), 400, "snappy"},
		{"bad label", rwBody(t, s(1, now, "bad-label", "x")), 400, `invalid label name \"bad-label\"`},
		{"future", rwBody(t, s(1, now.Add(time.Hour))), 400, "in the future"},
		{"oversize", noise(5000), 413, "request body over 4096 bytes"},
		// The same time with another value, and a sample far older than
		// the out-of-order window (48h): refused, the others stored.
		{"refused", rwBody(t, s(5, now.Add(-time.Second)), s(3, now.Add(-49*time.Hour), "job", "late"), s(4, now.Add(time.Millisecond))), 400,
			"2 of 3 samples refused (duplicate 1, too_old 1); the others were stored"},
	}
	for _, c := range cases {
		if len(c.body) <= 4096 && c.code == 413 {
			t.Fatalf("%s: body of %d bytes is not oversize", c.name, len(c.body))
		}
		code, msg := ts.push(tok, c.body)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, msg, c.code, c.msg)
		}
	}
	if v := ts.promValue(`pushed{job="agent"}`); v != "4" {
		t.Fatalf("the stored sample of a partly refused push: %q", v)
	}
	m := ts.metricsText()
	for _, want := range []string{
		"vigie_remote_write_received_samples_total 4",
		`vigie_remote_write_refused_samples_total{reason="duplicate"} 1`,
		`vigie_remote_write_refused_samples_total{reason="too_old"} 1`,
		`vigie_remote_write_refused_requests_total{reason="too_large"} 1`,
		`vigie_remote_write_refused_requests_total{reason="invalid"} 2`,
		`vigie_remote_write_refused_requests_total{reason="malformed"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestPrometheusPushesIntoVigie: the real Prometheus, scraping itself,
// remote-writes into vigie with a token; its series answer vigie's PromQL.
func TestPrometheusPushesIntoVigie(t *testing.T) {
	bin := prompeer.Require(t)
	ts := startServer(t, t.TempDir(), "")
	tok := ts.token("metrics.write")
	port, err := prompeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// Prometheus scrapes itself every second and sends within a second.
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:%d']
remote_write:
  - url: %s/prometheus/api/v1/write
    authorization:
      credentials: %s
    queue_config:
      batch_send_deadline: 1s
`, port, ts.base, tok)
	p, err := prompeer.StartOn(t.Context(), bin, t.TempDir(), cfg, port)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	waitFor(t, "prometheus_build_info from Prometheus in vigie", func() bool {
		return ts.promValue(`prometheus_build_info{job="prometheus"}`) == "1"
	})
	if v := ts.promValue(`up{job="prometheus"}`); v != "1" {
		t.Fatalf("up from Prometheus: %q", v)
	}
	if !strings.Contains(ts.metricsText(), "vigie_remote_write_received_samples_total") {
		t.Fatal("no received counter at /metrics")
	}
}

// TestRemoteWriteOut: vigie forwards every sample it stores, its checks'
// perfdata and what it receives, to another vigie (a remote-write
// receiver like any other), and shows its queue at /metrics.
func TestRemoteWriteOut(t *testing.T) {
	b := startServer(t, t.TempDir(), "")
	tok := b.token("metrics.write")
	a := startServer(t, t.TempDir(), fmt.Sprintf(`metrics:
  remote_write:
    - name: b
      url: %s/prometheus/api/v1/write
      bearer_token: ${B_TOKEN}
      batch_samples: 100
`, b.base), "B_TOKEN="+tok)
	ln := listen(t)
	a.admin("POST", "/api/v1/hosts", map[string]any{"name": "fw", "check": map[string]any{"kind": "none"}}, nil)
	a.admin("POST", "/api/v1/services", map[string]any{"host": "fw", "name": "port", "check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": ln.Addr().(*net.TCPAddr).Port}, "interval": "1s"}, nil)
	if code, msg := a.push(a.token("metrics.write"), rwBody(t, metrics.Sample{Labels: map[string]string{"__name__": "relayed", "via": "a"}, T: time.Now(), V: 42})); code != 204 {
		t.Fatalf("push into a: %d %s", code, msg)
	}
	waitFor(t, "a's perfdata and pushed sample in b", func() bool {
		return b.promValue(`relayed{via="a"}`) == "42" && b.promValue(`count(perfdata{host="fw",service="port"})`) == "1"
	})
	m := a.metricsText()
	for _, want := range []string{`vigie_remote_write_queue_bytes{target="b"}`, `vigie_remote_write_queue_samples{target="b"}`, `vigie_remote_write_samples_sent_total{target="b"}`, `vigie_remote_write_last_success_timestamp_seconds{target="b"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("a's /metrics lacks %s", want)
		}
	}
	if strings.Contains(m, tok) {
		t.Fatal("the token reached /metrics")
	}
}
