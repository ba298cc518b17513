package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/config"
)

const adminPassword = "test-admin-pw"

// testServer is a whole vigie server on a loopback port with its own data
// directory.
type testServer struct {
	t       *testing.T
	base    string
	cfgPath string
	cancel  context.CancelFunc
	done    chan error
	app     *App
}

func startServer(t *testing.T, dataDir, yaml string, env ...string) *testServer {
	t.Helper()
	cfgPath := filepath.Join(dataDir, "vigie.yaml")
	if yaml != "" {
		if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		cfgPath = ""
	}
	env = append(env, "VIGIE_DATA_DIR="+dataDir, "VIGIE_HTTP_LISTEN=127.0.0.1:0", "VIGIE_ADMIN_PASSWORD="+adminPassword)
	cfg, err := config.Load(cfgPath, env)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(context.Background(), cfg, env, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{t: t, base: "http://" + addr.String(), cfgPath: cfgPath, cancel: cancel, done: make(chan error, 1), app: a}
	go func() { ts.done <- a.Run(ctx) }()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	if err := <-ts.done; err != nil {
		ts.t.Errorf("server stopped with %v", err)
	}
	ts.cancel = nil
}

// call sends a request with Basic credentials (or none when login is "")
// and decodes a JSON answer into out.
func (ts *testServer) call(method, path, login, password string, body any, out any) int {
	ts.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, ts.base+path, rd)
	if login != "" {
		req.SetBasicAuth(login, password)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			ts.t.Fatalf("%s %s: decoding %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

func (ts *testServer) admin(method, path string, body, out any) int {
	return ts.call(method, path, "admin", adminPassword, body, out)
}

// waitFor polls until cond holds (the scheduler works in the background).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type svcView struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	HostName  string `json:"host_name"`
	State     string `json:"state"`
	StateType string `json:"state_type"`
	Output    string `json:"output"`
	Source    string `json:"source"`
	Perfdata  []struct {
		Label string  `json:"label"`
		Value float64 `json:"value"`
		Unit  string  `json:"unit"`
	} `json:"perfdata"`
	LastCheck *time.Time `json:"last_check"`
	NextCheck *time.Time `json:"next_check"`
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// listen opens a TCP listener that accepts and closes connections.
func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestMonitoringLoopThroughTheAPI(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ln := listen(t)
	port := ln.Addr().(*net.TCPAddr).Port

	var host struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		State string `json:"state"`
	}
	if code := ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "loop", "address": "127.0.0.1", "check": map[string]any{"kind": "none"}, "groups": []string{"lab"}}, &host); code != 201 {
		t.Fatalf("creating a host: %d", code)
	}
	var svc svcView
	code := ts.admin("POST", "/api/v1/services", map[string]any{
		"host": "loop", "name": "listener", "check": map[string]any{"kind": "tcp", "port": port},
		"interval": "1s", "retry_interval": "1s", "max_attempts": 2,
	}, &svc)
	if code != 201 {
		t.Fatalf("creating a service: %d", code)
	}
	path := fmt.Sprintf("/api/v1/services/%d", svc.ID)
	waitFor(t, "the service to turn OK", func() bool {
		ts.admin("GET", path, nil, &svc)
		return svc.State == "OK"
	})
	if svc.StateType != "HARD" || svc.LastCheck == nil || svc.NextCheck == nil || len(svc.Perfdata) == 0 || svc.Perfdata[0].Label != "time" {
		t.Fatalf("OK service view incomplete: %+v", svc)
	}
	ln.Close()
	waitFor(t, "the service to turn CRITICAL SOFT", func() bool {
		ts.admin("GET", path, nil, &svc)
		return svc.State == "CRITICAL"
	})
	waitFor(t, "the service to turn CRITICAL HARD", func() bool {
		ts.admin("GET", path, nil, &svc)
		return svc.State == "CRITICAL" && svc.StateType == "HARD"
	})

	var hist struct {
		Items []struct {
			State     string     `json:"state"`
			StateType string     `json:"state_type"`
			End       *time.Time `json:"end"`
		} `json:"items"`
	}
	waitFor(t, "the history to be written", func() bool {
		ts.admin("GET", path+"/history", nil, &hist)
		return len(hist.Items) >= 3
	})
	// Newest first: HARD CRITICAL (open), SOFT CRITICAL, OK.
	if h := hist.Items; h[0].State != "CRITICAL" || h[0].StateType != "HARD" || h[0].End != nil || h[1].StateType != "SOFT" || h[2].State != "OK" || h[2].End == nil {
		t.Fatalf("history: %+v", h)
	}

	var ov struct {
		Hosts    map[string]int `json:"hosts"`
		Services map[string]int `json:"services"`
		Problems []svcView      `json:"problems"`
	}
	waitFor(t, "the overview to count the problem", func() bool {
		ts.admin("GET", "/api/v1/overview", nil, &ov)
		return ov.Services["CRITICAL"] == 1
	})
	if len(ov.Problems) != 1 || ov.Problems[0].Name != "listener" || ov.Problems[0].HostName != "loop" || ov.Hosts["UP"] != 1 {
		t.Fatalf("overview: %+v", ov)
	}

	// Filters and the host's own view.
	var list struct {
		Items []svcView `json:"items"`
	}
	ts.admin("GET", "/api/v1/services?state=CRITICAL&host=loop", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("state filter: %+v", list)
	}
	ts.admin("GET", "/api/v1/services?state=OK", nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("state=OK returned %d services", len(list.Items))
	}
	var hv struct {
		State    string         `json:"state"`
		Services map[string]int `json:"services"`
		Groups   []string       `json:"groups"`
	}
	ts.admin("GET", "/api/v1/hosts/loop", nil, &hv)
	if hv.State != "UP" || hv.Services["CRITICAL"] != 1 || len(hv.Groups) != 1 {
		t.Fatalf("host view: %+v", hv)
	}
	var groups struct {
		Items []struct {
			Name  string `json:"name"`
			Hosts int    `json:"hosts"`
		} `json:"items"`
	}
	ts.admin("GET", "/api/v1/hostgroups", nil, &groups)
	if len(groups.Items) != 1 || groups.Items[0].Name != "lab" || groups.Items[0].Hosts != 1 {
		t.Fatalf("host group created with the host: %+v", groups)
	}

	// An edit reaches the scheduler at once: point the check at a live port.
	ln2 := listen(t)
	code = ts.admin("PATCH", path, map[string]any{"check": map[string]any{"kind": "tcp", "port": ln2.Addr().(*net.TCPAddr).Port}}, &svc)
	if code != 200 {
		t.Fatalf("editing the service: %d", code)
	}
	waitFor(t, "the edited service to recover", func() bool {
		ts.admin("GET", path, nil, &svc)
		return svc.State == "OK"
	})

	// Deleting the host deletes its services and unschedules them.
	if code := ts.admin("DELETE", "/api/v1/hosts/loop", nil, nil); code != 204 {
		t.Fatalf("deleting the host: %d", code)
	}
	if code := ts.admin("GET", path, nil, nil); code != 404 {
		t.Fatalf("service of a deleted host: %d", code)
	}
	if n := ts.app.engine.Jobs(); n != 0 {
		t.Fatalf("%d jobs still scheduled after the delete", n)
	}
}

func TestAPIValidationAndErrors(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "h1", "check": map[string]any{"kind": "none"}}, nil)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"missing name", "POST", "/api/v1/hosts", map[string]any{"address": "x"}, 400, "invalid", "name"},
		{"unknown field", "POST", "/api/v1/hosts", map[string]any{"name": "a", "colour": "red"}, 400, "invalid_body", "colour"},
		{"wrong type", "POST", "/api/v1/hosts", map[string]any{"name": 5}, 400, "invalid_body", "name"},
		{"bad interval", "POST", "/api/v1/hosts", map[string]any{"name": "a", "interval": "soon"}, 400, "invalid_body", ""},
		{"interval too short", "POST", "/api/v1/hosts", map[string]any{"name": "a", "interval": "10ms"}, 400, "invalid", "interval"},
		{"duplicate host", "POST", "/api/v1/hosts", map[string]any{"name": "h1"}, 409, "conflict", ""},
		{"service without host", "POST", "/api/v1/services", map[string]any{"name": "s", "check": map[string]any{"kind": "tcp", "port": 1}}, 400, "invalid", "host"},
		{"service on unknown host", "POST", "/api/v1/services", map[string]any{"host": "nope", "name": "s", "check": map[string]any{"kind": "tcp", "port": 1}}, 400, "invalid", "host"},
		{"unknown check kind", "POST", "/api/v1/services", map[string]any{"host": "h1", "name": "s", "check": map[string]any{"kind": "tpc"}}, 400, "invalid", "check.kind"},
		{"bad port", "POST", "/api/v1/services", map[string]any{"host": "h1", "name": "s", "check": map[string]any{"kind": "tcp", "port": 70000}}, 400, "invalid", "check.port"},
		{"no check", "POST", "/api/v1/services", map[string]any{"host": "h1", "name": "s"}, 400, "invalid", "check"},
		{"bad limit", "GET", "/api/v1/hosts?limit=0", nil, 400, "invalid", "limit"},
		{"bad state filter", "GET", "/api/v1/services?state=GREEN", nil, 400, "invalid", "state"},
		{"missing host", "GET", "/api/v1/hosts/ghost", nil, 404, "not_found", ""},
		{"unknown endpoint", "GET", "/api/v1/nothing", nil, 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e apiErr
			if code := ts.admin(tt.method, tt.path, tt.body, &e); code != tt.status {
				t.Fatalf("status %d, want %d (%+v)", code, tt.status, e)
			}
			if e.Error.Code != tt.code || e.Error.Field != tt.field || e.Error.Message == "" {
				t.Fatalf("error %+v, want code %q field %q", e.Error, tt.code, tt.field)
			}
		})
	}

	// Bodies over the bound are refused.
	big := strings.Repeat("x", 2<<20)
	var e apiErr
	if code := ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "big", "notes": big}, &e); code != 413 {
		t.Fatalf("2 MiB body: status %d, want 413", code)
	}
}

func TestAuthRules(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	// Nothing but health and metrics answers without credentials.
	for _, p := range []string{"/api/v1/hosts", "/api/v1/services", "/api/v1/overview", "/api/v1/stream", "/api/v1/me"} {
		if code := ts.call("GET", p, "", "", nil, nil); code != 401 {
			t.Errorf("GET %s without credentials: %d, want 401", p, code)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code := ts.call("GET", p, "", "", nil, nil); code != 200 {
			t.Errorf("GET %s: %d, want 200", p, code)
		}
	}
	if code := ts.call("GET", "/api/v1/hosts", "admin", "wrong-password", nil, nil); code != 401 {
		t.Fatalf("wrong Basic password: %d", code)
	}

	// A viewer reads but may not write.
	if code := ts.admin("POST", "/api/v1/users", map[string]any{"login": "vera", "password": "viewer-pass", "role": "viewer"}, nil); code != 201 {
		t.Fatalf("creating a viewer: %d", code)
	}
	if code := ts.call("GET", "/api/v1/hosts", "vera", "viewer-pass", nil, nil); code != 200 {
		t.Fatalf("viewer reading: %d", code)
	}
	var e apiErr
	if code := ts.call("POST", "/api/v1/hosts", "vera", "viewer-pass", map[string]any{"name": "x"}, &e); code != 403 || e.Error.Code != "forbidden" {
		t.Fatalf("viewer writing: %d %+v", code, e)
	}

	// Bearer tokens: created, used, revoked.
	var tok struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if code := ts.admin("POST", "/api/v1/tokens", map[string]any{"name": "ci", "expires_in": "1h"}, &tok); code != 201 || !strings.HasPrefix(tok.Token, "vig_") {
		t.Fatalf("creating a token: %d %+v", code, tok)
	}
	bearer := func() int {
		req, _ := http.NewRequest("GET", ts.base+"/api/v1/hosts", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := bearer(); code != 200 {
		t.Fatalf("bearer token: %d", code)
	}
	if code := ts.admin("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil, nil); code != 204 {
		t.Fatalf("revoking the token: %d", code)
	}
	if code := bearer(); code != 401 {
		t.Fatalf("revoked token still works: %d", code)
	}

	// Console sessions: cookie, CSRF header on writes, logout revokes.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path, csrf string, body any) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", ts.base+path, bytes.NewReader(b))
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/api/v1/login", "", map[string]string{"login": "admin", "password": "nope-nope"}); code != 401 {
		t.Fatalf("login with a wrong password: %d", code)
	}
	b, _ := json.Marshal(map[string]string{"login": "admin", "password": adminPassword})
	resp, err := c.Post(ts.base+"/api/v1/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != 200 || me.CSRFToken == "" || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("login: %d csrf %q cookie %q", resp.StatusCode, me.CSRFToken, cookie)
	}
	if code := post("/api/v1/hosts", "", map[string]any{"name": "via-cookie"}); code != 403 {
		t.Fatalf("cookie write without CSRF header: %d, want 403", code)
	}
	if code := post("/api/v1/hosts", me.CSRFToken, map[string]any{"name": "via-cookie"}); code != 201 {
		t.Fatalf("cookie write with CSRF header: %d", code)
	}
	if code := post("/api/v1/logout", me.CSRFToken, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	// The old cookie value no longer opens anything.
	u := strings.TrimSpace(strings.Split(strings.TrimPrefix(cookie, "vigie_session="), ";")[0])
	req, _ := http.NewRequest("GET", ts.base+"/api/v1/me", nil)
	req.AddCookie(&http.Cookie{Name: "vigie_session", Value: u})
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("session after logout: %d", resp.StatusCode)
	}
}

func TestYAMLProvisioningAndReload(t *testing.T) {
	dir := t.TempDir()
	ln := listen(t)
	port := ln.Addr().(*net.TCPAddr).Port
	yaml := fmt.Sprintf(`
inventory:
  hostgroups:
    - name: lab
  hosts:
    - name: yhost
      address: 127.0.0.1
      groups: [lab]
      check: {kind: none}
      services:
        - name: port
          check: {kind: tcp, port: %d}
          interval: 1s
          max_attempts: 1
`, port)
	ts := startServer(t, dir, yaml)
	var list struct {
		Items []svcView `json:"items"`
	}
	waitFor(t, "the provisioned service to turn OK", func() bool {
		ts.admin("GET", "/api/v1/services?host=yhost", nil, &list)
		return len(list.Items) == 1 && list.Items[0].State == "OK"
	})
	if list.Items[0].Source != "config" {
		t.Fatalf("source %q, want config", list.Items[0].Source)
	}
	var e apiErr
	if code := ts.admin("DELETE", fmt.Sprintf("/api/v1/services/%d", list.Items[0].ID), nil, &e); code != 409 || e.Error.Code != "managed_by_config" {
		t.Fatalf("deleting a config-owned service: %d %+v", code, e)
	}

	// Edit the file: a second service appears, with no restart.
	yaml2 := strings.Replace(yaml, "      services:\n", "      services:\n        - name: closed\n          check: {kind: tcp, port: 1}\n          interval: 1s\n          max_attempts: 1\n", 1)
	if err := os.WriteFile(ts.cfgPath, []byte(yaml2), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reloaded service to turn CRITICAL", func() bool {
		ts.admin("GET", "/api/v1/services?host=yhost&name=closed", nil, &list)
		return len(list.Items) == 1 && list.Items[0].State == "CRITICAL"
	})
	// A broken file is reported and the running inventory kept.
	os.WriteFile(ts.cfgPath, []byte("inventory: {hosts: [{name: yhost, services: [{name: x, check: {kind: tcp, port: 99999}}]}]}"), 0o600)
	time.Sleep(3 * time.Second)
	ts.admin("GET", "/api/v1/services?host=yhost", nil, &list)
	if len(list.Items) != 2 {
		t.Fatalf("an invalid file changed the inventory: %d services", len(list.Items))
	}
	// Removing the host from the file removes it.
	os.WriteFile(ts.cfgPath, []byte("inventory: {hosts: []}\n"), 0o600)
	waitFor(t, "the host to go", func() bool {
		return ts.admin("GET", "/api/v1/hosts/yhost", nil, nil) == 404
	})
}

func TestRestartKeepsStateAndHistory(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, "")
	var svc svcView
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "r", "address": "127.0.0.1", "check": map[string]any{"kind": "none"}}, nil)
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "r", "name": "closed", "check": map[string]any{"kind": "tcp", "port": 1}, "interval": "1h", "max_attempts": 1}, &svc)
	path := fmt.Sprintf("/api/v1/services/%d", svc.ID)
	waitFor(t, "CRITICAL", func() bool {
		ts.admin("GET", path, nil, &svc)
		return svc.State == "CRITICAL"
	})
	first := *svc.LastCheck
	ts.stop()

	ts2 := startServer(t, dir, "")
	var again svcView
	ts2.admin("GET", path, nil, &again)
	if again.State != "CRITICAL" || again.StateType != "HARD" || again.LastCheck == nil || again.LastCheck.Sub(first).Abs() > time.Millisecond {
		t.Fatalf("after restart: %+v (last check before: %v)", again, first)
	}
	// The 1h schedule resumes instead of checking again at start.
	if again.NextCheck == nil || again.NextCheck.Before(time.Now()) {
		t.Fatalf("next check not resumed: %v", again.NextCheck)
	}
}

func TestStreamAndMetrics(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	req, _ := http.NewRequest("GET", ts.base+"/api/v1/stream", nil)
	req.SetBasicAuth("admin", adminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- ev + " " + strings.TrimPrefix(line, "data: ")
			}
		}
		close(events)
	}()
	ln := listen(t)
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "s", "check": map[string]any{"kind": "none"}}, nil)
	var svc svcView
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "s", "name": "live", "check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": ln.Addr().(*net.TCPAddr).Port}}, &svc)
	want := map[string]bool{
		fmt.Sprintf(`inventory {"id":%d,"kind":"service","op":"create"}`, svc.ID): false,
		fmt.Sprintf(`status {"kind":"service","id":%d,"state":"OK"`, svc.ID):      false,
	}
	timeout := time.After(20 * time.Second)
	for missing := len(want); missing > 0; {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream closed")
			}
			for w, seen := range want {
				if !seen && strings.HasPrefix(e, w) {
					want[w] = true
					missing--
				}
			}
		case <-timeout:
			t.Fatalf("events not seen: %v", want)
		}
	}

	r, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, m := range []string{`vigie_checks_total{kind="service",state="OK"}`, "vigie_check_lateness_seconds_bucket", "vigie_checks_due", "vigie_scheduled_checks 2", "vigie_stream_clients 1"} {
		if !strings.Contains(string(b), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}
