package checks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func run(t *testing.T, spec Spec, o Options) Result {
	t.Helper()
	c, err := New(spec, o)
	if err != nil {
		t.Fatalf("New(%v): %v", spec, err)
	}
	return c.Run(context.Background())
}

func perf(r Result, label string) (Perf, bool) {
	for _, p := range r.Perfdata {
		if p.Label == label {
			return p, true
		}
	}
	return Perf{}, false
}

// needTool skips when a Debian tool is missing, except under CI, where
// `make test` installs it and a skip would hide a broken set-up.
func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing under CI", path)
		}
		t.Skipf("%s not installed", path)
	}
}

// serve runs a TCP server that handles each connection with h.
func serve(t *testing.T, h func(net.Conn)) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				h(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestTCP(t *testing.T) {
	greeter := serve(t, func(c net.Conn) {
		fmt.Fprint(c, "SSH-2.0-OpenSSH_9.2\r\n")
		buf := make([]byte, 64)
		c.Read(buf)
	})
	echo := serve(t, func(c net.Conn) {
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		c.Write(buf[:n])
	})
	o := Options{Address: "127.0.0.1", Timeout: 3 * time.Second}
	tests := []struct {
		name   string
		spec   Spec
		state  State
		output string
	}{
		{"open port", Spec{"kind": "tcp", "port": greeter}, OK, "TCP OK - "},
		{"closed port", Spec{"kind": "tcp", "port": closedPort(t)}, Critical, "connection refused"},
		{"expect found", Spec{"kind": "tcp", "port": greeter, "expect": "SSH-2.0"}, OK, "TCP OK"},
		{"expect missing", Spec{"kind": "tcp", "port": greeter, "expect": "220 smtp"}, Warning, `"220 smtp" not found`},
		{"send and expect", Spec{"kind": "tcp", "port": echo, "send": "PING\n", "expect": "PING"}, OK, "TCP OK"},
		{"critical threshold", Spec{"kind": "tcp", "port": greeter, "critical": "@0:10"}, Critical, "TCP CRITICAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.spec, o)
			if r.State != tt.state || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("state %v output %q, want %v and %q", r.State, r.Output, tt.state, tt.output)
			}
			if p, ok := perf(r, "time"); !ok || p.Unit != "s" || p.Value < 0 {
				t.Fatalf("no time perfdata: %+v", r.Perfdata)
			}
			if r.Duration <= 0 || r.Time.IsZero() {
				t.Fatalf("duration %v time %v", r.Duration, r.Time)
			}
		})
	}
}

func TestTCPTLSAndTimeout(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	r := run(t, Spec{"kind": "tcp", "port": port, "tls": true, "tls_skip_verify": true}, Options{Address: "127.0.0.1"})
	if r.State != OK {
		t.Fatalf("TLS handshake: %v %q", r.State, r.Output)
	}
	r = run(t, Spec{"kind": "tcp", "port": port, "tls": true}, Options{Address: "127.0.0.1"})
	if r.State != Critical || !strings.Contains(r.Output, "TLS handshake") {
		t.Fatalf("untrusted certificate: %v %q", r.State, r.Output)
	}
	// A server that accepts and never answers: the expect times out.
	silent := serve(t, func(c net.Conn) { time.Sleep(5 * time.Second) })
	start := time.Now()
	r = run(t, Spec{"kind": "tcp", "port": silent, "expect": "hello"}, Options{Address: "127.0.0.1", Timeout: 300 * time.Millisecond})
	if r.State == OK || time.Since(start) > 3*time.Second {
		t.Fatalf("silent server: %v %q after %v", r.State, r.Output, time.Since(start))
	}
}

func TestHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "all good: version 1.2.3") })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusMovedPermanently) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.Header.Get("X-Token") != "t" {
			http.Error(w, "no", 400)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u := srv.URL
	tests := []struct {
		name   string
		spec   Spec
		state  State
		output string
	}{
		{"200", Spec{"kind": "http", "url": u + "/ok"}, OK, "HTTP OK - HTTP/1.1 200"},
		{"500", Spec{"kind": "http", "url": u + "/fail"}, Critical, "unexpected status 500"},
		{"500 expected", Spec{"kind": "http", "url": u + "/fail", "expect_status": "500-599"}, OK, "HTTP OK"},
		{"redirect not followed", Spec{"kind": "http", "url": u + "/moved"}, OK, "301"},
		{"redirect not expected", Spec{"kind": "http", "url": u + "/moved", "expect_status": 200}, Critical, "unexpected status 301"},
		{"redirect followed", Spec{"kind": "http", "url": u + "/moved", "follow_redirects": true, "expect_status": 200}, OK, "200"},
		{"redirect loop", Spec{"kind": "http", "url": u + "/loop", "follow_redirects": true, "max_redirects": 3}, Critical, "more than 3 redirects"},
		{"body regex", Spec{"kind": "http", "url": u + "/ok", "body_regex": `version \d+\.\d+`}, OK, "HTTP OK"},
		{"body regex missing", Spec{"kind": "http", "url": u + "/ok", "body_regex": "maintenance"}, Critical, "body does not match"},
		{"method and headers", Spec{"kind": "http", "url": u + "/post", "method": "POST", "headers": map[string]any{"X-Token": "t"}}, OK, "200"},
		{"slow warning", Spec{"kind": "http", "url": u + "/ok", "warning": "@0:100"}, Warning, "HTTP WARNING"},
		{"by address and path", Spec{"kind": "http", "port": srv.Listener.Addr().(*net.TCPAddr).Port, "path": "ok"}, OK, "HTTP OK"},
		{"refused", Spec{"kind": "http", "url": "http://127.0.0.1:" + strconv.Itoa(closedPort(t)) + "/"}, Critical, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.spec, Options{Address: "127.0.0.1", Timeout: 3 * time.Second})
			if r.State != tt.state || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("state %v output %q, want %v and %q", r.State, r.Output, tt.state, tt.output)
			}
			if _, ok := perf(r, "time"); !ok {
				t.Fatalf("no time perfdata: %+v", r.Perfdata)
			}
		})
	}
}

func TestHTTPCertificateDays(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	left := time.Until(srv.Certificate().NotAfter).Hours() / 24
	r := run(t, Spec{"kind": "http", "url": srv.URL, "tls_skip_verify": true, "cert_days_warning": int(left) + 10}, Options{})
	p, ok := perf(r, "cert_days")
	if r.State != Warning || !ok || p.Value < left-1 || p.Value > left+1 || !strings.Contains(r.Output, "certificate expires in") {
		t.Fatalf("certificate days: %v %q %+v (left %.0f)", r.State, r.Output, r.Perfdata, left)
	}
	r = run(t, Spec{"kind": "http", "url": srv.URL, "tls_skip_verify": true, "cert_days_warning": 1, "cert_days_critical": int(left) + 1}, Options{})
	if r.State != Critical {
		t.Fatalf("critical days: %v %q", r.State, r.Output)
	}
	r = run(t, Spec{"kind": "http", "url": srv.URL}, Options{})
	if r.State != Critical || !strings.Contains(r.Output, "certificate") {
		t.Fatalf("untrusted certificate: %v %q", r.State, r.Output)
	}
}

func TestDNS(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		switch {
		case q.Name == "web.example.test." && q.Qtype == dns.TypeA:
			rr, _ := dns.NewRR("web.example.test. 60 IN A 192.0.2.10")
			m.Answer = append(m.Answer, rr)
		case q.Name == "example.test." && q.Qtype == dns.TypeMX:
			rr, _ := dns.NewRR("example.test. 60 IN MX 10 mail.example.test.")
			m.Answer = append(m.Answer, rr)
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()
	server := pc.LocalAddr().String()
	tests := []struct {
		name   string
		spec   Spec
		state  State
		output string
	}{
		{"A", Spec{"kind": "dns", "name": "web.example.test", "server": server}, OK, "returns 192.0.2.10"},
		{"A expected", Spec{"kind": "dns", "name": "web.example.test", "server": server, "expect": "192.0.2.10"}, OK, "DNS OK"},
		{"A unexpected", Spec{"kind": "dns", "name": "web.example.test", "server": server, "expect": "192.0.2.99"}, Critical, "expected 192.0.2.99 not found"},
		{"MX", Spec{"kind": "dns", "name": "example.test", "type": "mx", "server": server}, OK, "mail.example.test"},
		{"NXDOMAIN", Spec{"kind": "dns", "name": "nope.example.test", "server": server}, Critical, "NXDOMAIN"},
		{"no record of the type", Spec{"kind": "dns", "name": "web.example.test", "type": "AAAA", "server": server}, Critical, "NXDOMAIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.spec, Options{Timeout: 2 * time.Second})
			if r.State != tt.state || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("state %v output %q, want %v and %q", r.State, r.Output, tt.state, tt.output)
			}
		})
	}
}

func TestICMP(t *testing.T) {
	r := run(t, Spec{"kind": "icmp", "count": 2, "interval": "50ms", "warning": "100,20%", "critical": "500,60%"}, Options{Address: "127.0.0.1", Timeout: 5 * time.Second})
	if r.State == Unknown && strings.Contains(r.Output, "no permission") && os.Getenv("CI") != "true" {
		t.Skip("no ICMP permission here: " + r.Output)
	}
	if r.State != OK || !strings.Contains(r.Output, "0% packet loss") || !strings.Contains(r.LongOutput, "ICMP via") {
		t.Fatalf("ping 127.0.0.1: %v %q %q", r.State, r.Output, r.LongOutput)
	}
	for _, l := range []string{"rta", "pl", "rtmin", "rtmax"} {
		if _, ok := perf(r, l); !ok {
			t.Fatalf("perfdata %s missing: %+v", l, r.Perfdata)
		}
	}
	if p, _ := perf(r, "rta"); p.Warn == nil || p.Warn.End != 100 || p.Unit != "ms" {
		t.Fatalf("rta thresholds: %+v", p)
	}
}

func writePlugin(t *testing.T, name, script string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExecScripts(t *testing.T) {
	tests := []struct {
		name, script string
		opts         Options
		state        State
		output, long string
		perfLabel    string
	}{
		{name: "ok with perfdata", script: "echo 'OK - fine | val=3;5;10'\nexit 0", state: OK, output: "OK - fine", perfLabel: "val"},
		{name: "warning multi-line", script: "printf 'WARN - x | a=1\\nline two\\nline three | b=2\\n'\nexit 1", state: Warning, output: "WARN - x", long: "line two\nline three", perfLabel: "b"},
		{name: "critical", script: "echo CRIT; exit 2", state: Critical, output: "CRIT"},
		{name: "unknown", script: "echo what; exit 3", state: Unknown, output: "what"},
		{name: "odd exit code", script: "echo odd; exit 7", state: Unknown, output: "exited with code 7"},
		{name: "no output", script: "exit 0", state: OK, output: "no output"},
		{name: "stderr kept", script: "echo oops >&2; exit 2", state: Critical, output: "oops"},
		{name: "hangs with a child", script: "sleep 60 &\nsleep 60", opts: Options{Timeout: 500 * time.Millisecond}, state: Unknown, output: "timed out after"},
		{name: "prints megabytes", script: "echo 'OK - big'; head -c 5000000 /dev/zero | tr '\\0' 'x'; echo", opts: Options{MaxOutputBytes: 4096}, state: OK, output: "OK - big", long: "[output cut:"},
		{name: "killed by a signal", script: "kill -9 $$", state: Unknown, output: "killed by signal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writePlugin(t, "check_x", tt.script)
			start := time.Now()
			r := run(t, Spec{"kind": "exec", "command": p}, tt.opts)
			if r.State != tt.state || !strings.Contains(r.Output, tt.output) || !strings.Contains(r.LongOutput, tt.long) {
				t.Fatalf("state %v output %q long %.200q", r.State, r.Output, r.LongOutput)
			}
			if tt.perfLabel != "" {
				if _, ok := perf(r, tt.perfLabel); !ok {
					t.Fatalf("perfdata %s missing: %+v", tt.perfLabel, r.Perfdata)
				}
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
		})
	}
	r := run(t, Spec{"kind": "exec", "command": "/nonexistent/check_nothing"}, Options{})
	if r.State != Unknown || !strings.Contains(r.Output, "/nonexistent/check_nothing not found") {
		t.Fatalf("missing plugin: %v %q", r.State, r.Output)
	}
	notExec := filepath.Join(t.TempDir(), "check_noexec")
	os.WriteFile(notExec, []byte("echo"), 0o644)
	if r := run(t, Spec{"kind": "exec", "command": notExec}, Options{}); r.State != Unknown || !strings.Contains(r.Output, "not executable") {
		t.Fatalf("non-executable plugin: %v %q", r.State, r.Output)
	}
}

func TestExecKillsProcessGroup(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "survived")
	p := writePlugin(t, "check_spawn", fmt.Sprintf("(sleep 2; touch %s) &\nsleep 60\n", marker))
	r := run(t, Spec{"kind": "exec", "command": p}, Options{Timeout: 300 * time.Millisecond})
	if r.State != Unknown {
		t.Fatalf("%v %q", r.State, r.Output)
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a child of the plugin survived the timeout")
	}
}

func TestExecMacrosAndArgs(t *testing.T) {
	p := writePlugin(t, "check_echo", `echo "OK - $*"`)
	r := run(t, Spec{"kind": "exec", "command": p + " -H $HOSTADDRESS$", "args": []any{"-n", "$HOSTNAME$"}}, Options{Address: "10.1.2.3", HostName: "web1"})
	if r.Output != "OK - -H 10.1.2.3 -n web1" {
		t.Fatalf("macros: %q", r.Output)
	}
	dir := filepath.Dir(p)
	r = run(t, Spec{"kind": "exec", "command": []any{"check_echo", "a b"}}, Options{PluginDirs: []string{"/nonexistent", dir}})
	if r.Output != "OK - a b" {
		t.Fatalf("plugin found in the second dir, list form: %q", r.Output)
	}
}

// The Debian monitoring plugins, for real.
func TestExecMonitoringPlugins(t *testing.T) {
	dir := "/usr/lib/nagios/plugins"
	needTool(t, filepath.Join(dir, "check_tcp"))
	port := serve(t, func(c net.Conn) {})
	tests := []struct {
		command string
		state   State
		output  string
		perf    string
	}{
		{"check_dummy 0 fine", OK, "OK: fine", ""},
		{"check_dummy 2 broken", Critical, "CRITICAL: broken", ""},
		{fmt.Sprintf("check_tcp -H 127.0.0.1 -p %d", port), OK, "TCP OK", "time"},
		{fmt.Sprintf("check_tcp -H 127.0.0.1 -p %d", closedPort(t)), Critical, "Connection refused", ""},
		{"check_disk -w 1% -c 1% -p /", OK, "DISK OK", "/"},
		{"check_load -w 1000,1000,1000 -c 2000,2000,2000", OK, "LOAD OK", "load1"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			r := run(t, Spec{"kind": "exec", "command": tt.command}, Options{PluginDirs: []string{dir}})
			if r.State != tt.state || !strings.Contains(strings.ToLower(r.Output), strings.ToLower(tt.output)) {
				t.Fatalf("state %v output %q", r.State, r.Output)
			}
			if tt.perf != "" {
				if _, ok := perf(r, tt.perf); !ok {
					t.Fatalf("perfdata %s missing: %+v", tt.perf, r.Perfdata)
				}
			}
		})
	}
	curl := filepath.Join(dir, "check_http")
	if _, err := os.Stat(curl); err != nil {
		curl = filepath.Join(dir, "check_curl")
	}
	needTool(t, curl)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hi") }))
	defer srv.Close()
	_, hp, _ := net.SplitHostPort(srv.Listener.Addr().String())
	r := run(t, Spec{"kind": "exec", "command": []any{curl, "-H", "127.0.0.1", "-p", hp}}, Options{})
	if r.State != OK || !strings.Contains(r.Output, "HTTP OK") {
		t.Fatalf("%s: %v %q %q", filepath.Base(curl), r.State, r.Output, r.LongOutput)
	}
}

// The self kind reports what the server gives it, and says clearly when
// there is no server (vigie check on the command line).
func TestSelfKind(t *testing.T) {
	c, err := New(Spec{"kind": "self"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Run(context.Background()); r.State != Unknown || !strings.Contains(r.Output, "no") {
		t.Fatalf("without a server: %v %q", r.State, r.Output)
	}
	c, err = New(Spec{"kind": "self"}, Options{Self: func(context.Context) Result {
		return Result{State: Critical, Output: "CRITICAL - time-series ingestion stopped"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Run(context.Background())
	if r.State != Critical || r.Output != "CRITICAL - time-series ingestion stopped" || r.Time.IsZero() {
		t.Fatalf("with a server: %+v", r)
	}
	if _, err := New(Spec{"kind": "self", "port": 1}, Options{}); err == nil || !strings.Contains(err.Error(), "check.port") {
		t.Fatalf("self with a parameter: %v", err)
	}
}
