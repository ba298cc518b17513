package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// When VIGIE_TEST_SERVER is set, the test binary is the vigie server: the
// crash test below runs it as a child and kills it with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIE_TEST_SERVER") == "1" {
		os.Exit(Main([]string{"server"}, os.Stdout, os.Stderr, os.Environ()))
	}
	os.Exit(m.Run())
}

func runMain(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, &o, &e, nil)
	return code, o.String(), e.String()
}

func TestCheckCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)

	code, out, _ := runMain("check", "--kind", "tcp", "--address", "127.0.0.1", "--port", port)
	if code != 0 || !strings.HasPrefix(out, "OK: ") || !strings.Contains(out, "| time=") {
		t.Fatalf("tcp check of an open port: exit %d, %q", code, out)
	}
	code, out, _ = runMain("check", "--kind=tcp", "--address=127.0.0.1", "--port=1")
	if code != 2 || !strings.HasPrefix(out, "CRITICAL: ") {
		t.Fatalf("tcp check of a closed port: exit %d, %q", code, out)
	}
	code, out, _ = runMain("check", "--kind", "tcp", "--address", "127.0.0.1", "--port", port, "--json")
	var res struct {
		State    string `json:"state"`
		Perfdata []any  `json:"perfdata"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || res.State != "OK" || len(res.Perfdata) == 0 {
		t.Fatalf("--json: exit %d, %q (%v)", code, out, err)
	}
	code, _, errOut := runMain("check", "--kind", "tcp", "--port", "99999")
	if code != 3 || !strings.Contains(errOut, "check.port") {
		t.Fatalf("bad parameter: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runMain("check", "--port", "22")
	if code != 3 || !strings.Contains(errOut, "--kind is required") {
		t.Fatalf("no kind: exit %d, stderr %q", code, errOut)
	}
}

func TestCheckCommandExec(t *testing.T) {
	dir := t.TempDir()
	plugin := filepath.Join(dir, "check_args")
	script := "#!/bin/sh\necho \"WARNING - got $# args: $*|n=$#;1;5\"\necho second line\nexit 1\n"
	if err := os.WriteFile(plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runMain("check", "--kind", "exec", "--command", plugin, "--", "-w", "20%", "-c", "10%")
	if code != 1 || !strings.Contains(out, "got 4 args: -w 20% -c 10%") || !strings.Contains(out, "n=4;1;5") || !strings.Contains(out, "second line") {
		t.Fatalf("exec: exit %d, %q", code, out)
	}
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := runMain("version"); code != 0 || !strings.HasPrefix(out, "vigie ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runMain("frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("inventory:\n  hosts:\n    - name: a\n      address: 127.0.0.1\n      services:\n        - name: s\n          check: {kind: tcp, port: 22}\n"), 0o644)
	if code, out, errOut := runMain("config", "validate", "--config", good); code != 0 || !strings.Contains(out, "valid (0 host groups, 1 hosts, 1 services)") {
		t.Fatalf("valid file: %d %q %q", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("inventory:\n  hosts:\n    - name: a\n      address: 127.0.0.1\n      services:\n        - name: s\n          check: {kind: tcp, port: 0}\n"), 0o644)
	if code, _, errOut := runMain("config", "validate", "--config", bad); code != 1 || !strings.Contains(errOut, "bad.yaml:6") || !strings.Contains(errOut, "check.port") {
		t.Fatalf("bad check: %d %q", code, errOut)
	}
	if code, _, _ := runMain("config", "validate", "--config", filepath.Join(dir, "missing.yaml")); code != 1 {
		t.Fatalf("missing file accepted")
	}
	if code, _, _ := runMain("config", "validate", "--config", "../../examples/vigie.yaml"); code != 0 {
		t.Fatalf("examples/vigie.yaml does not validate")
	}
}

// TestKill9 kills the server with SIGKILL while it checks services and
// takes API writes, restarts it, and checks that every acknowledged write is
// there and that states and schedules resume.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	start := func() *exec.Cmd { return startServerProcess(t, dir, addr) }
	post := func(path string, body any) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.SetBasicAuth("admin", "kill-test-pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(path string, out any) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.SetBasicAuth("admin", "kill-test-pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(out)
		return resp.StatusCode
	}

	cmd := start()
	if code := post("/api/v1/hosts", map[string]any{"name": "crash", "address": "127.0.0.1", "check": map[string]any{"kind": "none"}}); code != 201 {
		t.Fatalf("creating the host: %d", code)
	}
	// A service that fails, 1 h interval, 5 attempts at a 1 s retry: its
	// SOFT attempt count must survive the crash.
	if code := post("/api/v1/services", map[string]any{"host": "crash", "name": "soft", "check": map[string]any{"kind": "tcp", "port": 1}, "interval": "1h", "retry_interval": "1s", "max_attempts": 50}); code != 201 {
		t.Fatalf("creating the service: %d", code)
	}
	// Writes race the kill: every one answered 201 must survive.
	acked := make(chan string, 1000)
	stop := make(chan struct{})
	go func() {
		defer close(acked)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("svc-%d", i)
			if post("/api/v1/services", map[string]any{"host": "crash", "name": name, "check": map[string]any{"kind": "tcp", "port": 1}, "interval": "1h"}) == 201 {
				acked <- name
			}
		}
	}()
	time.Sleep(3 * time.Second)
	var before struct {
		ID      int64 `json:"id"`
		Attempt int   `json:"attempt"`
	}
	var soft struct {
		Items []struct {
			ID      int64 `json:"id"`
			Attempt int   `json:"attempt"`
		} `json:"items"`
	}
	get("/api/v1/services?name=soft", &soft)
	if len(soft.Items) != 1 || soft.Items[0].Attempt < 2 {
		t.Fatalf("SOFT service before the kill: %+v", soft)
	}
	before.ID, before.Attempt = soft.Items[0].ID, soft.Items[0].Attempt
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	close(stop)
	var names []string
	for n := range acked {
		names = append(names, n)
	}
	if len(names) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}

	cmd = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	have := map[string]bool{}
	for cursor := ""; ; {
		var page struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
			Next string `json:"next_cursor"`
		}
		get("/api/v1/services?host=crash&limit=1000&cursor="+cursor, &page)
		for _, s := range page.Items {
			have[s.Name] = true
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	for _, n := range names {
		if !have[n] {
			t.Fatalf("service %s was acknowledged before the kill and is gone (%d acknowledged, %d found)", n, len(names), len(have))
		}
	}
	// The SOFT cycle resumes: attempts keep counting from where they were
	// (at most 150 ms of results, one batch, may be lost in the crash).
	var after struct {
		Attempt   int    `json:"attempt"`
		StateType string `json:"state_type"`
	}
	time.Sleep(1500 * time.Millisecond)
	get(fmt.Sprintf("/api/v1/services/%d", before.ID), &after)
	if after.Attempt < before.Attempt || after.StateType != "SOFT" {
		t.Fatalf("SOFT attempts after restart: %+v, before the kill %d", after, before.Attempt)
	}
	t.Logf("%d writes acknowledged before SIGKILL, all present after restart; attempt %d -> %d", len(names), before.Attempt, after.Attempt)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServerProcess runs this test binary as a vigie server (see
// VIGIE_TEST_SERVER in TestMain) on dir and addr, and waits until it is
// ready; the test kills it.
func startServerProcess(t *testing.T, dir, addr string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIGIE_TEST_SERVER=1", "VIGIE_DATA_DIR="+dir, "VIGIE_HTTP_LISTEN="+addr,
		"VIGIE_ADMIN_PASSWORD=kill-test-pw", "VIGIE_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
