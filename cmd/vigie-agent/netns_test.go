package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// netns is a pair of network namespaces, server and agent, joined by a
// veth pair that the test brings down and up: a real network cut, not a
// mocked transport. A second veth pair joins the server's namespace to
// the test's, so the test can query the server while the agent is cut off.
type netns struct {
	t                    *testing.T
	srvNS, agNS          string
	agLink               string
	srvAddr, controlAddr string
}

func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func newNetns(t *testing.T) *netns {
	_, err := exec.LookPath("ip")
	testenv.Need(t, os.Geteuid() == 0 && err == nil, "needs root and ip (iproute2) for network namespaces")
	id := os.Getpid() % 100000
	n := &netns{t: t, srvNS: fmt.Sprintf("vgS%d", id), agNS: fmt.Sprintf("vgA%d", id), agLink: fmt.Sprintf("vga%d", id)}
	// Cleanup first, so a failure half-way still removes everything:
	// deleting a namespace deletes the veth ends inside it.
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", n.srvNS).Run()
		exec.Command("ip", "netns", "del", n.agNS).Run()
		exec.Command("ip", "link", "del", fmt.Sprintf("vgc%d", id)).Run()
	})
	a, b := 10+id%200, id%250
	ctl := fmt.Sprintf("169.254.%d.%d", 1+id%250, 4*(id%60))
	n.srvAddr = fmt.Sprintf("10.%d.%d.1", a, b)
	n.controlAddr = ctl
	for _, c := range [][]string{
		{"netns", "add", n.srvNS},
		{"netns", "add", n.agNS},
		{"link", "add", fmt.Sprintf("vgs%d", id), "type", "veth", "peer", "name", n.agLink},
		{"link", "set", fmt.Sprintf("vgs%d", id), "netns", n.srvNS},
		{"link", "set", n.agLink, "netns", n.agNS},
		{"-n", n.srvNS, "addr", "add", n.srvAddr + "/24", "dev", fmt.Sprintf("vgs%d", id)},
		{"-n", n.agNS, "addr", "add", fmt.Sprintf("10.%d.%d.2/24", a, b), "dev", n.agLink},
		{"-n", n.srvNS, "link", "set", "lo", "up"},
		{"-n", n.agNS, "link", "set", "lo", "up"},
		{"-n", n.srvNS, "link", "set", fmt.Sprintf("vgs%d", id), "up"},
		{"-n", n.agNS, "link", "set", n.agLink, "up"},
		// The control link: test (root namespace) ↔ server.
		{"link", "add", fmt.Sprintf("vgc%d", id), "type", "veth", "peer", "name", fmt.Sprintf("vgd%d", id)},
		{"link", "set", fmt.Sprintf("vgd%d", id), "netns", n.srvNS},
		{"addr", "add", ctl + "/30", "dev", fmt.Sprintf("vgc%d", id)},
		{"-n", n.srvNS, "addr", "add", nextIP(ctl) + "/30", "dev", fmt.Sprintf("vgd%d", id)},
		{"link", "set", fmt.Sprintf("vgc%d", id), "up"},
		{"-n", n.srvNS, "link", "set", fmt.Sprintf("vgd%d", id), "up"},
	} {
		sh(t, "ip", c...)
	}
	return n
}

func nextIP(ip string) string {
	var a, b, c, d int
	fmt.Sscanf(ip, "%d.%d.%d.%d", &a, &b, &c, &d)
	return fmt.Sprintf("%d.%d.%d.%d", a, b, c, d+1)
}

func (n *netns) link(up bool) {
	state := "down"
	if up {
		state = "up"
	}
	sh(n.t, "ip", "-n", n.agNS, "link", "set", n.agLink, state)
}

// start runs a command inside a namespace; ip netns exec execs it, so the
// process is the command itself (kill -9 reaches it).
func start(t *testing.T, ns string, logPath string, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", filepath.Base(logPath), tail(b, 4000))
		}
	})
	return cmd
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func buildBinaries(t *testing.T, dir string) (server, agent string) {
	t.Helper()
	server, agent = filepath.Join(dir, "vigie"), filepath.Join(dir, "vigie-agent")
	for out, pkg := range map[string]string{server: "../vigie", agent: "."} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, b)
		}
	}
	return server, agent
}

const adminPW = "netns-admin-pw-1234"

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.SetBasicAuth("admin", adminPW)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// sampleTimes returns the raw sample times of the agent's uptime series.
func (c client) sampleTimes(host string) []time.Time {
	var ans struct {
		Data struct {
			Result []struct {
				Values [][]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	q := fmt.Sprintf(`perfdata{host=%q,service="uptime",metric="uptime"}[30m]`, host)
	c.do("GET", "/prometheus/api/v1/query?query="+url.QueryEscape(q), nil, &ans)
	var out []time.Time
	for _, r := range ans.Data.Result {
		for _, v := range r.Values {
			f, _ := v[0].(float64)
			out = append(out, time.UnixMilli(int64(f*1000)).UTC())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// gaps returns the holes in a 1-second series, as [from, to) pairs.
func gaps(ts []time.Time) [][2]time.Time {
	var out [][2]time.Time
	for i := 1; i < len(ts); i++ {
		if ts[i].Sub(ts[i-1]) > time.Second {
			out = append(out, [2]time.Time{ts[i-1], ts[i]})
		}
	}
	return out
}

// TestNetworkCut runs the real server and the real agent in two network
// namespaces, cuts the veth between them, and checks that every sample
// taken during the cut arrives exactly once, in order; then again with the
// agent killed with SIGKILL during the cut and started again on its disk
// buffer.
func TestNetworkCut(t *testing.T) {
	n := newNetns(t)
	dir := t.TempDir()
	serverBin, agentBin := buildBinaries(t, dir)
	start(t, n.srvNS, filepath.Join(dir, "server.log"),
		[]string{"VIGIE_DATA_DIR=" + filepath.Join(dir, "data"), "VIGIE_HTTP_LISTEN=0.0.0.0:8080", "VIGIE_ADMIN_PASSWORD=" + adminPW},
		serverBin, "server")
	c := client{t, "http://" + nextIP(n.controlAddr) + ":8080"}
	waitUntil(t, 60*time.Second, "the server", func() bool { return c.do("GET", "/api/v1/me", nil, nil) == 200 })
	var tok struct{ Token string }
	if code := c.do("POST", "/api/v1/agent-tokens", map[string]any{"name": "netns"}, &tok); code != 201 {
		t.Fatalf("creating the agent token: %d", code)
	}
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfg, []byte("collect: [uptime, load]\ntimeout: 2s\nbuffer:\n  replay_rate: 20\n"), 0o600)
	bufDir := filepath.Join(dir, "buffer")
	agentArgs := []string{"--config", cfg, "--server", "http://" + n.srvAddr + ":8080", "--token", tok.Token,
		"--interval", "1s", "--buffer-dir", bufDir, "--host", "edge-ns"}
	agentLog := 0
	startAgent := func() *exec.Cmd {
		agentLog++
		return start(t, n.agNS, filepath.Join(dir, "agent"+strconv.Itoa(agentLog)+".log"), nil, agentBin, agentArgs...)
	}
	ag := startAgent()
	waitUntil(t, 30*time.Second, "the first samples", func() bool { return len(c.sampleTimes("edge-ns")) >= 3 })

	// Cut 1: the link goes down for 8 s.
	cut := time.Now()
	n.link(false)
	time.Sleep(8 * time.Second)
	if got := c.sampleTimes("edge-ns"); len(got) > 0 && got[len(got)-1].After(cut.Add(2*time.Second)) {
		t.Fatalf("samples arrived through a cut link: last %s, cut at %s", got[len(got)-1], cut)
	}
	n.link(true)
	healed := time.Now()
	waitUntil(t, 90*time.Second, "the backlog after the cut", func() bool {
		got := c.sampleTimes("edge-ns")
		return len(got) > 0 && got[len(got)-1].After(healed)
	})
	got := c.sampleTimes("edge-ns")
	if g := gaps(got); len(g) != 0 {
		t.Fatalf("samples lost across the cut: gaps %v", g)
	}
	if !got[0].Before(cut.Add(-2*time.Second)) || !got[len(got)-1].After(healed) {
		t.Fatalf("series %s…%s does not span the cut %s…%s", got[0], got[len(got)-1], cut, healed)
	}
	// The history shows the cut as the agent's outage: an UNREACHABLE
	// period saying the agent was silent, then UP again.
	waitUntil(t, 30*time.Second, "the outage in the host's history", func() bool {
		var h struct {
			Items []struct {
				State  string
				Output string
				Start  time.Time
				End    *time.Time
			}
		}
		c.do("GET", "/api/v1/hosts/edge-ns/history", nil, &h)
		if len(h.Items) < 2 || h.Items[0].State != "UP" {
			return false
		}
		down := h.Items[1]
		if down.State != "UNREACHABLE" || !strings.Contains(down.Output, "agent silent") {
			t.Fatalf("the period before the current one: %+v, want UNREACHABLE, agent silent", down)
		}
		if down.Start.Before(cut) || down.End == nil || down.End.After(time.Now()) {
			t.Fatalf("outage %s…%v outside the cut from %s", down.Start, down.End, cut)
		}
		return true
	})
	t.Logf("cut of %s: %d samples from %s to %s, no gap, none twice", healed.Sub(cut).Round(time.Second), len(got), got[0].Format(time.TimeOnly), got[len(got)-1].Format(time.TimeOnly))

	// Cut 2: the link goes down, the agent is killed with SIGKILL during
	// the cut and started again on its buffer, then the link comes up.
	cut2 := time.Now()
	n.link(false)
	time.Sleep(5 * time.Second)
	ag.Process.Signal(syscall.SIGKILL)
	ag.Wait()
	killed := time.Now()
	time.Sleep(2 * time.Second)
	ag = startAgent()
	restarted := time.Now()
	time.Sleep(3 * time.Second)
	n.link(true)
	healed2 := time.Now()
	waitUntil(t, 90*time.Second, "the backlog after the kill", func() bool {
		got := c.sampleTimes("edge-ns")
		return len(got) > 0 && got[len(got)-1].After(healed2)
	})
	got = c.sampleTimes("edge-ns")
	// The only hole allowed is while no agent ran.
	for _, g := range gaps(got) {
		if g[0].Before(killed.Add(-2*time.Second)) || g[1].After(restarted.Add(2*time.Second)) {
			t.Fatalf("samples lost: gap %s…%s outside the agent's death %s…%s", g[0], g[1], killed, restarted)
		}
	}
	var inCut int
	for _, x := range got {
		if x.After(cut2) && x.Before(killed) {
			inCut++
		}
	}
	if inCut < 4 {
		t.Fatalf("the samples taken during the cut before the kill did not survive it: %d", inCut)
	}
	// Exactly once: one sample per second of the series, none twice (the
	// store would keep a second value at one time as a refusal).
	for i := 1; i < len(got); i++ {
		if !got[i].After(got[i-1]) {
			t.Fatalf("sample at %s twice", got[i])
		}
	}
	// In order: the server counts batches stored after a later one of
	// the same agent buffer.
	var metrics bytes.Buffer
	req, _ := http.NewRequest("GET", c.base+"/metrics", nil)
	req.SetBasicAuth("admin", adminPW)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(&metrics, resp.Body)
		resp.Body.Close()
	}
	if !strings.Contains(metrics.String(), `vigie_agent_batches_total{outcome="stored"}`) {
		t.Fatalf("no agent batch counters on /metrics")
	}
	if strings.Contains(metrics.String(), `outcome="out_of_order"`) {
		t.Fatalf("batches arrived out of order:\n%s", metrics.String())
	}
	t.Logf("kill -9 during a cut: %d samples taken during the cut before the kill arrived; gaps only while the agent was dead: %v", inCut, gaps(got))
}
