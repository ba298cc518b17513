package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/vigie-monitoring/vigie/internal/agent"
)

type agentClient struct {
	ts    *testServer
	token string
}

func (c agentClient) post(path string, body []byte, enc string) (int, string) {
	c.ts.t.Helper()
	req, _ := http.NewRequest("POST", c.ts.base+path, bytes.NewReader(body))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func gz(t *testing.T, v any) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	json.NewEncoder(w).Encode(v)
	w.Close()
	return buf.Bytes()
}

func testPush(at time.Time, ids ...string) agent.Push {
	p := agent.Push{Interval: agent.Duration(time.Second)}
	for i, id := range ids {
		p.Batches = append(p.Batches, agent.Batch{ID: id, Seq: uint64(i + 1), Time: at.Add(time.Duration(i) * time.Second),
			Samples: []agent.Sample{{Service: "cpu", Metric: "user", Unit: "%", Value: float64(i)}, {Service: "net eth0", Metric: "rx_bytes", Unit: "c", Value: float64(1000 * (i + 1))}},
			Results: []agent.Result{{Service: "check_x", State: 1, Output: "x is high"}}})
	}
	return p
}

func TestAgentEnrolIngestAndLiveness(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	var tok struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if code := ts.admin("POST", "/api/v1/agent-tokens", map[string]any{"name": "edge", "config": map[string]any{"interval": "1s"}}, &tok); code != 201 || !strings.HasPrefix(tok.Token, "vga_") {
		t.Fatalf("creating a token: %d %+v", code, tok)
	}
	var listed struct{ Items []map[string]any }
	ts.admin("GET", "/api/v1/agent-tokens", nil, &listed)
	if len(listed.Items) != 1 || listed.Items[0]["token"] != nil || listed.Items[0]["token_hash"] != nil {
		t.Fatalf("the list must not show secrets: %v", listed.Items)
	}
	var audit json.RawMessage
	ts.admin("GET", "/api/v1/audit?action=POST", nil, &audit)
	if strings.Contains(string(audit), tok.Token) || !strings.Contains(string(audit), "agent-tokens") {
		t.Fatalf("the audit must record the creation without the secret: %s", audit)
	}
	c := agentClient{ts, tok.Token}
	now := time.Now().Add(-time.Minute).Truncate(time.Second)

	// Refusals, each with a clear answer.
	if code, _ := (agentClient{ts, ""}).post("/api/v1/agent/batches", gz(t, testPush(now, "a-1")), "gzip"); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := (agentClient{ts, "vga_wrong"}).post("/api/v1/agent/enrol", []byte(`{}`), ""); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code := ts.admin("POST", "/api/v1/agent/enrol", map[string]any{"host": "x", "interval": "1s"}, nil); code != 401 {
		t.Fatalf("agent routes take agent tokens, not a user's credentials: %d", code)
	}
	if code, _ := (agentClient{ts, ts.token()}).post("/api/v1/agent/enrol", []byte(`{"host":"x","interval":"1s"}`), ""); code != 401 {
		t.Fatalf("an API token on an agent route: %d", code)
	}
	if code, body := c.post("/api/v1/agent/batches", gz(t, testPush(now, "a-1")), "gzip"); code != 409 || !strings.Contains(body, "enrol first") {
		t.Fatalf("push before enrolment: %d %s", code, body)
	}
	enrol, _ := json.Marshal(agent.Enrolment{Host: "edge1", Interval: agent.Duration(time.Second), Services: []string{"cpu", "check_x"}})
	var ea agent.EnrolAnswer
	code, body := c.post("/api/v1/agent/enrol", enrol, "")
	if json.Unmarshal([]byte(body), &ea); code != 200 || !ea.Created || ea.HostID == 0 || ea.Desired == nil || ea.Desired.Interval.D() != time.Second {
		t.Fatalf("enrol: %d %s", code, body)
	}
	other, _ := json.Marshal(agent.Enrolment{Host: "edge2", Interval: agent.Duration(time.Second)})
	if code, body := c.post("/api/v1/agent/enrol", other, ""); code != 409 || !strings.Contains(body, `bound to host \"edge1\"`) {
		t.Fatalf("enrolling as another host: %d %s", code, body)
	}
	var svcs struct{ Items []struct{ Name string } }
	ts.admin("GET", "/api/v1/hosts/edge1/services", nil, &svcs)
	var names []string
	for _, x := range svcs.Items {
		names = append(names, x.Name)
	}
	if slices.Sort(names); fmt.Sprint(names) != "[agent check_x cpu]" {
		t.Fatalf("services of the agent host: %v", svcs.Items)
	}

	bad := []struct {
		name, enc string
		body      []byte
		code      int
		says      string
	}{
		{"malformed json", "gzip", func() []byte {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write([]byte("{nope"))
			w.Close()
			return b.Bytes()
		}(), 400, "decoding the push"},
		{"not gzip", "gzip", []byte("plain"), 400, "not gzip"},
		{"unknown encoding", "br", []byte("x"), 415, "not supported"},
		{"no batches", "", []byte(`{"batches":[],"interval":"1s"}`), 400, "batches: is empty"},
		{"bad state", "", mustMarshal(agent.Push{Interval: agent.Duration(time.Second), Batches: []agent.Batch{{ID: "z", Time: now, Results: []agent.Result{{Service: "s", State: 7}}}}}), 400, "results[0].state"},
		{"future batch", "", mustMarshal(testPush(time.Now().Add(time.Hour), "f-1")), 400, "ahead of the server's clock"},
		{"too many batches", "gzip", gz(t, testPush(now, manyIDs(101)...)), 400, "at most 100"},
		{"oversized", "", bytes.Repeat([]byte(" "), 9<<20), 413, "over"},
		{"gzip bomb", "gzip", func() []byte {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(bytes.Repeat([]byte(" "), 40<<20))
			w.Close()
			return b.Bytes()
		}(), 413, "inflates"},
	}
	for _, tt := range bad {
		if code, body := c.post("/api/v1/agent/batches", tt.body, tt.enc); code != tt.code || !strings.Contains(body, tt.says) {
			t.Errorf("%s: %d %s, want %d naming %q", tt.name, code, body, tt.code, tt.says)
		}
	}

	// Stored once, replays recognised.
	var ans agent.PushAnswer
	code, body = c.post("/api/v1/agent/batches", gz(t, testPush(now, "a-1", "a-2", "a-3")), "gzip")
	if json.Unmarshal([]byte(body), &ans); code != 200 || len(ans.Stored) != 3 || ans.Duplicates != 0 {
		t.Fatalf("push: %d %s", code, body)
	}
	code, body = c.post("/api/v1/agent/batches", gz(t, testPush(now, "a-1", "a-2", "a-3")), "gzip")
	if json.Unmarshal([]byte(body), &ans); code != 200 || len(ans.Stored) != 3 || ans.Duplicates != 3 {
		t.Fatalf("replay: %d %s", code, body)
	}
	// A field this server does not know (a newer agent) is ignored, not
	// a reason to refuse the batch.
	if code, body := c.post("/api/v1/agent/batches", bytes.Replace(mustMarshal(testPush(now.Add(5*time.Second), "a-35")), []byte(`"batches"`), []byte(`"from_the_future":1,"batches"`), 1), ""); code != 200 {
		t.Fatalf("unknown field: %d %s", code, body)
	}
	var zb bytes.Buffer
	zw, _ := zstd.NewWriter(&zb)
	json.NewEncoder(zw).Encode(testPush(now.Add(10*time.Second), "a-4"))
	zw.Close()
	if code, body := c.post("/api/v1/agent/batches", zb.Bytes(), "zstd"); code != 200 {
		t.Fatalf("zstd push: %d %s", code, body)
	}
	if v := ts.promValue(`count_over_time(perfdata{host="edge1",service="cpu",metric="user"}[1h])`); v != "5" {
		t.Fatalf("samples stored: %q, want 5 (each once)", v)
	}
	if v := ts.promValue(`count_over_time(perfdata_total{host="edge1",service="net eth0",metric="rx_bytes",unit="c"}[1h])`); v != "5" {
		t.Fatalf("counter samples: %q", v)
	}
	if m := ts.metricsText(); !strings.Contains(m, `vigie_agent_batches_total{outcome="duplicate"} 3`) || !strings.Contains(m, `vigie_agent_batches_total{outcome="stored"} 5`) ||
		!strings.Contains(m, `vigie_agent_batches_total{outcome="out_of_order"} 2`) { // a-35 and a-4 restart at seq 1 after a-3
		t.Fatalf("batch counters:\n%s", grepLines(m, "vigie_agent_"))
	}

	// The state the agent reported becomes the service's state.
	waitFor(t, "check_x WARNING", func() bool {
		var s struct {
			Items []struct{ Name, State string }
		}
		ts.admin("GET", "/api/v1/hosts/edge1/services", nil, &s)
		for _, x := range s.Items {
			if x.Name == "check_x" {
				return x.State == "WARNING"
			}
		}
		return false
	})

	// A config change reaches the agent with the answer to its next push.
	if code := ts.admin("PUT", fmt.Sprintf("/api/v1/agent-tokens/%d/config", tok.ID), map[string]any{"interval": "5s", "collect": []string{"cpu", "gpu"}}, nil); code != 400 {
		t.Fatalf("unknown collector accepted: %d", code)
	}
	if code := ts.admin("PUT", fmt.Sprintf("/api/v1/agent-tokens/%d/config", tok.ID), map[string]any{"interval": "5s", "collect": []string{"cpu"}}, nil); code != 200 {
		t.Fatalf("config: %d", code)
	}
	code, body = c.post("/api/v1/agent/batches", gz(t, testPush(now.Add(20*time.Second), "a-5")), "gzip")
	if json.Unmarshal([]byte(body), &ans); code != 200 || ans.Desired == nil || ans.Desired.Version != 2 || ans.Desired.Interval.D() != 5*time.Second {
		t.Fatalf("desired config in the answer: %d %s", code, body)
	}

	// Silence: the host goes UNREACHABLE (vigie cannot tell a cut link
	// from a dead host) saying why.
	waitFor(t, "edge1 UNREACHABLE", func() bool {
		var h struct{ State, Output string }
		ts.admin("GET", "/api/v1/hosts/edge1", nil, &h)
		return h.State == "UNREACHABLE" && strings.Contains(h.Output, "agent silent")
	})

	// Revoked: refused from the next request.
	if code := ts.admin("DELETE", fmt.Sprintf("/api/v1/agent-tokens/%d", tok.ID), nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _ := c.post("/api/v1/agent/batches", gz(t, testPush(now, "a-6")), "gzip"); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m-%d", i)
	}
	return out
}

// A real agent, in process, against the real server: it enrols, its
// collections land, the host's dashboard builds itself from them, a config
// change reaches it, and its token never reaches a log line.
func TestAgentBuildsTheDashboard(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	var tok struct {
		ID    int64
		Token string
	}
	if code := ts.admin("POST", "/api/v1/agent-tokens", map[string]any{"name": "real"}, &tok); code != 201 {
		t.Fatalf("token: %d", code)
	}
	var logs syncBuffer
	cfg := agent.Config{Server: ts.base, Token: tok.Token, Host: "real-agent", Interval: agent.Duration(time.Second)}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, agent.NewMemoryBuffer(cfg.Buffer.MaxBytes), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var dash struct {
		Groups []struct {
			Service string
			Panels  []struct{ Metric, Unit string }
		}
	}
	waitFor(t, "the agent host's dashboard", func() bool {
		ts.admin("GET", "/api/v1/hosts/real-agent/dashboard?range=1h", nil, &dash)
		have := map[string]bool{}
		for _, g := range dash.Groups {
			have[g.Service] = len(g.Panels) > 0
		}
		return have["cpu"] && have["memory"] && have["load"] && have["uptime"] && have["processes"]
	})
	var h struct{ State, Output string }
	waitFor(t, "the agent host UP", func() bool {
		ts.admin("GET", "/api/v1/hosts/real-agent", nil, &h)
		return h.State == "UP"
	})

	// The host deleted by an admin: the agent enrols again, the host and
	// its services come back.
	if code := ts.admin("DELETE", "/api/v1/hosts/real-agent", nil, nil); code != 204 {
		t.Fatalf("deleting the host: %d", code)
	}
	waitFor(t, "the agent host back", func() bool {
		var s struct{ Items []struct{ Name string } }
		return ts.admin("GET", "/api/v1/hosts/real-agent/services", nil, &s) == 200 && len(s.Items) >= 5
	})

	if code := ts.admin("PUT", fmt.Sprintf("/api/v1/agent-tokens/%d/config", tok.ID), map[string]any{"interval": "2s", "collect": []string{"uptime"}}, nil); code != 200 {
		t.Fatalf("config: %d", code)
	}
	waitFor(t, "the agent applying the pushed config", func() bool {
		iv, c := a.Settings()
		return iv == 2*time.Second && fmt.Sprint(c) == "[uptime]"
	})
	if m := ts.metricsText(); strings.Contains(m, `outcome="out_of_order"`) || !strings.Contains(m, `vigie_agent_batches_total{outcome="stored"}`) {
		t.Fatalf("a real agent's batches must arrive in order:\n%s", grepLines(m, "vigie_agent_"))
	}
	cancel()
	<-done
	if strings.Contains(logs.String(), tok.Token) || strings.Contains(logs.String(), tok.Token[4:]) {
		t.Fatal("the agent token reached a log line")
	}
	if !strings.Contains(logs.String(), "enrolled") {
		t.Fatalf("no enrolment logged:\n%s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// One batch the server can never take (here a sample with no name, put in
// the buffer by hand: the agent never makes one) must not block the
// others: the agent isolates it, drops it saying so, and delivers the rest
// in order.
func TestAgentIsolatesARefusedBatch(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	var tok struct{ Token string }
	ts.admin("POST", "/api/v1/agent-tokens", map[string]any{"name": "iso"}, &tok)
	var logs syncBuffer
	cfg := agent.Config{Server: ts.base, Token: tok.Token, Host: "iso", Interval: agent.Duration(time.Hour), Collect: []string{"uptime"}}
	cfg.Defaults()
	buf := agent.NewMemoryBuffer(cfg.Buffer.MaxBytes)
	at := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for i := 0; i < 5; i++ {
		b := agent.Batch{Time: at.Add(time.Duration(i) * time.Second), Samples: []agent.Sample{{Service: "s", Metric: "m", Value: float64(i)}}}
		if i == 2 {
			b.Samples[0].Metric = ""
		}
		if err := buf.Put(&b); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := agent.New(cfg, buf, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the buffer drained", func() bool { return buf.Stats().Batches == 0 })
	if v := ts.promValue(`count_over_time(perfdata{host="iso",service="s",metric="m"}[1h])`); v != "4" {
		t.Fatalf("stored %q samples, want the 4 good ones", v)
	}
	if !strings.Contains(logs.String(), "refused a batch for good") || !strings.Contains(logs.String(), "samples[0]") {
		t.Fatalf("the dropped batch must be logged with the server's reason:\n%s", logs.String())
	}
}

// An agent reporting more services than it may create still has its
// batch stored; the extra services are not created.
func TestAgentServiceCap(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	var tok struct{ Token string }
	ts.admin("POST", "/api/v1/agent-tokens", map[string]any{"name": "cap"}, &tok)
	c := agentClient{ts, tok.Token}
	if code, body := c.post("/api/v1/agent/enrol", mustMarshal(agent.Enrolment{Host: "cap", Interval: agent.Duration(time.Minute), Services: manyIDs(201)}), ""); code != 400 || !strings.Contains(body, "at most 200") {
		t.Fatalf("enrolling with 201 services: %d %s", code, body)
	}
	if code, _ := c.post("/api/v1/agent/enrol", mustMarshal(agent.Enrolment{Host: "cap", Interval: agent.Duration(time.Minute)}), ""); code != 200 {
		t.Fatalf("enrol: %d", code)
	}
	p := testPush(time.Now().Add(-time.Minute), "c-1")
	p.Batches[0].Results = nil
	for _, n := range manyIDs(250) {
		p.Batches[0].Results = append(p.Batches[0].Results, agent.Result{Service: n})
	}
	if code, body := c.post("/api/v1/agent/batches", gz(t, p), "gzip"); code != 200 {
		t.Fatalf("push over the cap: %d %s", code, body)
	}
	var s struct{ Items []struct{ Name string } }
	ts.admin("GET", "/api/v1/hosts/cap/services?limit=1000", nil, &s)
	if len(s.Items) != 200 {
		t.Fatalf("%d services, want the cap of 200", len(s.Items))
	}
}

// The states agents reported are stored before the answer: a restarted
// server answers them at once, without waiting for the agent.
func TestAgentStatesSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, "")
	var tok struct{ Token string }
	ts.admin("POST", "/api/v1/agent-tokens", map[string]any{"name": "rs"}, &tok)
	c := agentClient{ts, tok.Token}
	if code, _ := c.post("/api/v1/agent/enrol", mustMarshal(agent.Enrolment{Host: "rs", Interval: agent.Duration(time.Hour), Services: []string{"check_x"}}), ""); code != 200 {
		t.Fatal("enrol")
	}
	p := testPush(time.Now().Add(-time.Minute), "r-1")
	p.Interval = agent.Duration(time.Hour)
	p.Batches[0].Results = []agent.Result{{Service: "check_x", State: 2, Output: "disk full"}}
	if code, body := c.post("/api/v1/agent/batches", gz(t, p), "gzip"); code != 200 {
		t.Fatalf("push: %d %s", code, body)
	}
	ts.stop()
	restarted := time.Now()
	ts = startServer(t, dir, "")
	// Checked again after the restart (not the status stored before it),
	// the service still has the state the agent reported.
	var id int64
	var s struct {
		Items []struct {
			ID                  int64
			Name, State, Output string
			LastCheck           *time.Time `json:"last_check"`
		}
	}
	ts.admin("GET", "/api/v1/hosts/rs/services", nil, &s)
	for _, x := range s.Items {
		if x.Name == "check_x" {
			id = x.ID
		}
	}
	if code := ts.admin("POST", fmt.Sprintf("/api/v1/services/%d/check", id), nil, nil); code/100 != 2 {
		t.Fatalf("check now: %d", code)
	}
	waitFor(t, "check_x checked after the restart", func() bool {
		ts.admin("GET", "/api/v1/hosts/rs/services", nil, &s)
		for _, x := range s.Items {
			if x.Name == "check_x" && x.LastCheck != nil && x.LastCheck.After(restarted) {
				if x.State != "CRITICAL" || !strings.Contains(x.Output, "disk full") {
					t.Fatalf("after the restart: %s %q, want the CRITICAL the agent reported", x.State, x.Output)
				}
				return true
			}
		}
		return false
	})
}
