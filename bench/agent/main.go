// Command agent measures vigie-agent and the server side of agents:
//
//   - the agent's own cost: the real binary, every collector on, a disk
//     buffer, a 10 s interval, against a real vigie server: CPU (% of one
//     core) and RSS (goal: under 1% and 30 MB);
//
//   - replay after a one-hour outage: a disk buffer holding an hour of real
//     collections (360 batches) drained into the server, at the default
//     bounded rate and unbounded;
//
//   - ingestion of 1,000 simulated agents: enrolled, each pushing batches
//     of the size a real collection makes (batches/s, samples/s);
//
//   - the same 1,000 agents coming back at once from an outage, through
//     the real agent sender, while a console reads: catch-up time and the
//     console's latency meanwhile.
//
//     go run ./bench/agent [-duration 60s] [-agents 1000] [-rounds 10]
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigie-monitoring/vigie/internal/agent"
	"github.com/vigie-monitoring/vigie/internal/app"
	"github.com/vigie-monitoring/vigie/internal/config"
)

const adminPW = "bench-admin-pw-1234"

func main() {
	duration := flag.Duration("duration", 60*time.Second, "how long the agent runs for the CPU and RSS figures")
	agents := flag.Int("agents", 1000, "simulated agents")
	rounds := flag.Int("rounds", 10, "pushes per simulated agent")
	workers := flag.Int("workers", 64, "concurrent pushes")
	backlog := flag.Int("backlog", 12, "outage batches each agent brings back in the herd run")
	only := flag.String("only", "", "run one part: cost, replay or ingestion")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run (server included) here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "vigie-bench-agent")
	check(err)
	defer os.RemoveAll(dir)
	fmt.Printf("vigie-agent benchmark, %d cores\n", runtime.NumCPU())

	base, stop := startServer(filepath.Join(dir, "server"))
	defer stop()
	apiTok := apiToken(base)

	if *only == "" || *only == "cost" {
		agentCost(base, apiTok, dir, *duration)
	}
	if *only == "" || *only == "replay" {
		replay(base, apiTok, dir)
	}
	if *only == "" || *only == "ingestion" {
		tokens, template := ingestion(base, apiTok, *agents, *rounds, *workers)
		herd(base, apiTok, tokens, template, *backlog)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// startServer runs a real vigie server in this process (SQLite, embedded
// time-series store), as the tests do.
func startServer(dataDir string) (string, func()) {
	env := []string{"VIGIE_DATA_DIR=" + dataDir, "VIGIE_HTTP_LISTEN=127.0.0.1:0", "VIGIE_ADMIN_PASSWORD=" + adminPW}
	cfg, err := config.Load("", env)
	check(err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), cfg, env, log, io.Discard)
	check(err)
	addr, err := a.Listen()
	check(err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	return "http://" + addr.String(), func() { cancel(); <-done }
}

func call(method, url, bearer string, body any, out any) int {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	} else {
		req.SetBasicAuth("admin", adminPW)
	}
	resp, err := http.DefaultClient.Do(req)
	check(err)
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// apiToken makes an admin API token, so that the setup does not hash the
// admin password a thousand times.
func apiToken(base string) string {
	var t struct{ Token string }
	if code := call("POST", base+"/api/v1/tokens", "", map[string]any{"name": "bench"}, &t); code != 201 {
		check(fmt.Errorf("creating an API token: %d", code))
	}
	return t.Token
}

func agentToken(base, apiTok, name string) string {
	var t struct{ Token string }
	if code := call("POST", base+"/api/v1/agent-tokens", apiTok, map[string]any{"name": name}, &t); code != 201 {
		check(fmt.Errorf("creating agent token %s: %d", name, code))
	}
	return t.Token
}

// procStat reads a process's CPU time and resident memory from /proc.
func procStat(pid int) (cpu time.Duration, rss int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err)
	// Fields after the command name, which may hold spaces: utime and
	// stime are the 14th and 15th fields, in clock ticks (100 a second).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	cpu = time.Duration(ut+st) * 10 * time.Millisecond
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for _, l := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb << 10
		}
	}
	return cpu, rss
}

func agentCost(base, apiTok, dir string, d time.Duration) {
	bin := filepath.Join(dir, "vigie-agent")
	build := exec.Command("go", "build", "-o", bin, "./cmd/vigie-agent")
	build.Stderr = os.Stderr
	check(build.Run())
	tok := agentToken(base, apiTok, "cost")
	cmd := exec.Command(bin, "--server", base, "--token", tok, "--interval", "10s", "--buffer-dir", filepath.Join(dir, "cost-buffer"), "--host", "bench-cost")
	check(cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// Start-up (enrolment, first collections) is not the steady state.
	time.Sleep(5 * time.Second)
	c0, _ := procStat(cmd.Process.Pid)
	t0 := time.Now()
	var maxRSS int64
	for time.Since(t0) < d {
		time.Sleep(time.Second)
		_, rss := procStat(cmd.Process.Pid)
		maxRSS = max(maxRSS, rss)
	}
	c1, rss := procStat(cmd.Process.Pid)
	wall := time.Since(t0)
	fmt.Printf("agent at a 10 s interval (every collector, disk buffer, real server), over %s:\n", wall.Round(time.Second))
	fmt.Printf("  CPU %.3f%% of one core (%s of CPU; goal < 1%%)\n", 100*c1.Seconds()/wall.Seconds()-100*c0.Seconds()/wall.Seconds(), (c1 - c0).Round(time.Millisecond))
	fmt.Printf("  RSS %.1f MB now, %.1f MB at most (goal < 30 MB)\n", float64(rss)/1e6, float64(maxRSS)/1e6)
}

// replay fills a disk buffer with an hour of real collections and times
// the drain.
func replay(base, apiTok, dir string) {
	for _, rate := range []float64{10, 1000} {
		bufDir := filepath.Join(dir, fmt.Sprintf("replay-%v", rate))
		buf, err := agent.OpenDiskBuffer(bufDir, 64<<20)
		check(err)
		name := fmt.Sprintf("bench-replay-%v", rate)
		cfg := agent.Config{Server: base, Token: agentToken(base, apiTok, name), Host: name, Interval: agent.Duration(time.Hour)}
		cfg.Buffer.ReplayRate = rate
		cfg.Defaults()
		check(cfg.Validate())
		a, err := agent.New(cfg, buf, slog.New(slog.NewTextHandler(io.Discard, nil)))
		check(err)
		// One hour at 10 s (a little less, so that the oldest samples stay
		// within the store's out-of-order window of one hour).
		now := time.Now().Truncate(10 * time.Second)
		for i := 359; i >= 0; i-- {
			a.CollectOnce(context.Background(), now.Add(-time.Duration(i)*10*time.Second-5*time.Second))
		}
		st := buf.Stats()
		samples := 0
		all, _ := buf.Oldest(1000, 1<<40)
		for _, b := range all {
			samples += len(b.Samples)
		}
		ctx, cancel := context.WithCancel(context.Background())
		t0 := time.Now()
		go a.Run(ctx)
		for buf.Stats().Batches > 0 {
			time.Sleep(5 * time.Millisecond)
		}
		el := time.Since(t0)
		cancel()
		buf.Close()
		what := "default replay_rate: 10 pushes/s of up to 50 batches"
		if rate > 10 {
			what = "replay_rate 1000 (the server is the bound)"
		}
		fmt.Printf("replay of a one-hour outage (%d batches, %d samples, %.1f MB buffered), %s:\n  %s, %.0f batches/s, %.0f samples/s\n",
			st.Batches, samples, float64(st.Bytes)/1e6, what, el.Round(time.Millisecond), float64(st.Batches)/el.Seconds(), float64(samples)/el.Seconds())
	}
}

// ingestion enrols n simulated agents and has each push rounds batches
// the size of a real collection, from workers concurrent connections.
func ingestion(base, apiTok string, n, rounds, workers int) ([]string, agent.Batch) {
	// A real collection of this host gives the batch shape.
	buf := agent.NewMemoryBuffer(64 << 20)
	cfg := agent.Config{Server: base, Token: "x", Host: "shape"}
	cfg.Defaults()
	a, err := agent.New(cfg, buf, nil)
	check(err)
	a.CollectOnce(context.Background(), time.Now())
	a.CollectOnce(context.Background(), time.Now())
	shape, _ := buf.Oldest(2, 1<<30)
	template := shape[1]

	tokens := make([]string, n)
	t0 := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := fmt.Sprintf("sim-%04d", i)
			tokens[i] = agentToken(base, apiTok, name)
			enrol := agent.Enrolment{Host: name, Interval: agent.Duration(10 * time.Second), Services: agent.Collectors}
			if code := call("POST", base+"/api/v1/agent/enrol", tokens[i], enrol, nil); code != 200 {
				check(fmt.Errorf("enrolling %s: %d", name, code))
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%d simulated agents (%d samples a batch, as this host's collection): enrolled in %s\n", n, len(template.Samples), time.Since(t0).Round(time.Millisecond))

	// Bodies are made before timing: the figure is the server's.
	start := time.Now().Add(-time.Duration(rounds) * 10 * time.Second)
	type job struct {
		tok  string
		body []byte
	}
	jobs := make(chan job, workers)
	var pushes, failed atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				req, _ := http.NewRequest("POST", base+"/api/v1/agent/batches", bytes.NewReader(j.body))
				req.Header.Set("Authorization", "Bearer "+j.tok)
				req.Header.Set("Content-Encoding", "gzip")
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				} else {
					pushes.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	bodies := make([][][]byte, rounds)
	for r := range bodies {
		bodies[r] = make([][]byte, n)
		for i := range bodies[r] {
			b := template
			b.ID, b.Seq, b.Time = fmt.Sprintf("sim-%d-%d", i, r), uint64(r+1), start.Add(time.Duration(r)*10*time.Second)
			var zb bytes.Buffer
			zw := gzip.NewWriter(&zb)
			json.NewEncoder(zw).Encode(agent.Push{Batches: []agent.Batch{b}, Interval: agent.Duration(10 * time.Second)})
			zw.Close()
			bodies[r][i] = zb.Bytes()
		}
	}
	t0 = time.Now()
	for r := range bodies {
		for i, body := range bodies[r] {
			jobs <- job{tokens[i], body}
		}
	}
	close(jobs)
	wg.Wait()
	el := time.Since(t0)
	samples := float64(pushes.Load()) * float64(len(template.Samples))
	fmt.Printf("server ingestion, %d agents × %d batches, %d concurrent pushes, client and server on this machine:\n", n, rounds, workers)
	fmt.Printf("  %d batches stored in %s: %.0f batches/s, %.0f samples/s (%d failed)\n", pushes.Load(), el.Round(time.Millisecond), float64(pushes.Load())/el.Seconds(), samples/el.Seconds(), failed.Load())
	fmt.Printf("  %d agents at a 10 s interval need %.0f batches/s: %.1f× headroom\n", n, float64(n)/10, float64(pushes.Load())/el.Seconds()/(float64(n)/10))
	return tokens, template
}

// countHandler counts the agents' failed pushes (the server said busy, or
// timed out) and throws the lines away.
type countHandler struct{ failed *atomic.Int64 }

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "sending batches" {
		h.failed.Add(1)
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

// herd brings every simulated agent back at once, each with a backlog of
// outage batches, through the real agent sender (bounded rate, backoff
// with jitter), while a console user reads the host list: how long the
// fleet takes to catch up, and whether the server stays responsive.
func herd(base, apiTok string, tokens []string, template agent.Batch, backlog int) {
	var failed atomic.Int64
	log := slog.New(countHandler{&failed})
	agents := make([]*agent.Agent, len(tokens))
	bufs := make([]*agent.MemoryBuffer, len(tokens))
	start := time.Now().Add(-time.Duration(backlog+1) * 10 * time.Second).Truncate(10 * time.Second)
	total := 0
	for i, tok := range tokens {
		cfg := agent.Config{Server: base, Token: tok, Host: fmt.Sprintf("sim-%04d", i), Interval: agent.Duration(time.Hour), Collect: []string{"uptime"}}
		cfg.Defaults()
		bufs[i] = agent.NewMemoryBuffer(cfg.Buffer.MaxBytes)
		for r := 0; r < backlog; r++ {
			b := template
			b.Time = start.Add(time.Duration(r) * 10 * time.Second).Add(time.Second) // beside the ingestion run's times
			check(bufs[i].Put(&b))
			total += len(b.Samples)
		}
		a, err := agent.New(cfg, bufs[i], log)
		check(err)
		agents[i] = a
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lat []time.Duration
	var latMu sync.Mutex
	done := make(chan struct{})
	go func() {
		client := &http.Client{Timeout: 30 * time.Second}
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			req, _ := http.NewRequest("GET", base+"/api/v1/hosts?limit=50", nil)
			req.Header.Set("Authorization", "Bearer "+apiTok)
			t := time.Now()
			resp, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			latMu.Lock()
			lat = append(lat, time.Since(t))
			latMu.Unlock()
		}
	}()
	t0 := time.Now()
	for _, a := range agents {
		go a.Run(ctx)
	}
	for {
		left := 0
		for _, b := range bufs {
			left += b.Stats().Batches
		}
		if left == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	el := time.Since(t0)
	close(done)
	latMu.Lock()
	slices.Sort(lat)
	p := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Round(time.Millisecond)
	}
	fmt.Printf("%d agents back at once, %d outage batches each (%d samples), real agent senders:\n", len(tokens), backlog, total)
	fmt.Printf("  all caught up in %s (%.0f batches/s); %d pushes answered busy or timed out, retried after backoff\n",
		el.Round(time.Millisecond), float64(len(tokens)*backlog)/el.Seconds(), failed.Load())
	fmt.Printf("  a console reading the host list meanwhile: p50 %s, p99 %s, max %s over %d requests\n", p(0.5), p(0.99), p(1), len(lat))
	latMu.Unlock()
}
