// Package prompeer runs the real Prometheus binary (Debian's
// /usr/bin/prometheus) on a loopback port, for the integration tests and
// benchmarks that use it as a peer: a remote-write receiver, or a sender
// pushing into vigie.
package prompeer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Find returns the path of the prometheus binary, or "" when there is
// none.
func Find() string {
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus"
	}
	return ""
}

// Require returns the binary for a test, skipping the test when it is
// missing, unless CI is "true": there a missing peer is a failure.
func Require(t testing.TB) string {
	t.Helper()
	bin := Find()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus is not installed (scripts/install-deps.sh installs it)")
		}
		t.Skip("prometheus is not installed (apt install prometheus, or scripts/install-deps.sh)")
	}
	return bin
}

// Server is a running Prometheus.
type Server struct {
	Bin, Dir string
	Addr     string // host:port
	args     []string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *os.File
}

// FreePort returns a loopback port free at the time of the call.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start runs Prometheus with config (YAML; a minimal one with no scrape
// job when empty), its data and log in dir, the remote-write receiver on,
// and waits until it is ready.
func Start(ctx context.Context, bin, dir, config string, args ...string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	return StartOn(ctx, bin, dir, config, port, args...)
}

// StartOn is Start on a given loopback port (for a configuration that
// names it, as a scrape of Prometheus itself does).
// Further args are added to the command line.
func StartOn(ctx context.Context, bin, dir, config string, port int, args ...string) (*Server, error) {
	if config == "" {
		config = "global:\n  scrape_interval: 1m\n"
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "p.yml"), []byte(config), 0o640); err != nil {
		return nil, err
	}
	s := &Server{Bin: bin, Dir: dir, Addr: "127.0.0.1:" + strconv.Itoa(port), args: args}
	return s, s.start(ctx)
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr }

func (s *Server) start(ctx context.Context) error {
	log, err := os.OpenFile(filepath.Join(s.Dir, "prometheus.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	s.log = log
	s.cmd = exec.Command(s.Bin, append([]string{
		"--config.file=" + filepath.Join(s.Dir, "p.yml"),
		"--storage.tsdb.path=" + filepath.Join(s.Dir, "data"),
		"--web.listen-address=" + s.Addr,
		"--web.enable-remote-write-receiver",
	}, s.args...)...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting prometheus: %w", err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("prometheus exited while starting; see %s", log.Name())
		case <-ctx.Done():
			s.Kill()
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("prometheus not ready after 60 s; see %s", log.Name())
		}
	}
}

// Kill stops Prometheus at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.log.Close()
	s.cmd = nil
}

// Stop stops Prometheus cleanly (SIGTERM, then SIGKILL after 30 s).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.log.Close()
	s.cmd = nil
}

// Restart starts Prometheus again on the same data directory and port.
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	return s.start(ctx)
}

// Sample is one point of a query answer.
type Sample struct {
	T time.Time
	V float64
}

// Series is one series of a query answer.
type Series struct {
	Metric map[string]string
	Points []Sample
}

// Query runs an instant PromQL query through Prometheus' HTTP API; vectors
// give one point per series, range selectors (a matrix) every raw sample.
func (s *Server) Query(ctx context.Context, q string, at time.Time) ([]Series, error) {
	u := s.URL() + "/api/v1/query?" + url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&ans); err != nil {
		return nil, fmt.Errorf("decoding the answer: %w", err)
	}
	if ans.Status != "success" {
		return nil, errors.New("query failed: " + ans.Error)
	}
	var out []Series
	for _, r := range ans.Data.Result {
		se := Series{Metric: r.Metric}
		if r.Value != nil {
			r.Values = append(r.Values, r.Value)
		}
		for _, v := range r.Values {
			if len(v) != 2 {
				continue
			}
			ts, _ := v[0].(float64)
			str, _ := v[1].(string)
			f, err := strconv.ParseFloat(strings.TrimSpace(str), 64)
			if err != nil {
				return nil, fmt.Errorf("value %q: %w", str, err)
			}
			se.Points = append(se.Points, Sample{T: time.UnixMilli(int64(ts*1000 + 0.5)).UTC(), V: f})
		}
		out = append(out, se)
	}
	return out, nil
}

// DirSize is the bytes of the files under dir.
func DirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
