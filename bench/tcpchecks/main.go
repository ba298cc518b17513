// Command tcpchecks measures the scheduler: native TCP checks against
// 10,000 loopback services (sustained checks per second, and lateness at
// 1,000 checks per second), then the same work through the exec kind with
// the real check_tcp plugin, so that the cost of a fork is visible. Results
// go through the state engine into a real SQLite store, as in the server.
//
//	go run ./bench/tcpchecks [-services 10000] [-duration 20s]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

func main() {
	services := flag.Int("services", 10000, "services to schedule")
	listeners := flag.Int("listeners", 100, "loopback listeners the services spread over")
	duration := flag.Duration("duration", 20*time.Second, "measuring time per run")
	concurrency := flag.Int("concurrency", 512, "scheduler concurrency")
	only := flag.String("only", "", "run only this part: native, exec or nagios")
	nagios := flag.Bool("nagios", true, "run the peer, Nagios 4, on the same work when it is installed")
	plugin := flag.String("plugin", "/usr/lib/nagios/plugins/check_tcp", "check_tcp plugin for the exec run")
	saturate := flag.Duration("saturate", 250*time.Millisecond, "interval of the saturated runs (10,000 services every 250 ms ask for 40,000 checks/s)")
	flag.Parse()

	ports := startListeners(*listeners)
	fmt.Printf("vigie scheduler benchmark: %d services over %d loopback listeners, %d cores, %s\n\n",
		*services, len(ports), runtime.NumCPU(), runtime.Version())

	native := func(i int) checks.Spec {
		return checks.Spec{"kind": "tcp", "address": "127.0.0.1", "port": ports[i%len(ports)]}
	}
	want := func(part string) bool { return *only == "" || *only == part }
	var thr, lat result
	if want("native") {
		// 1. Throughput: every service due far more often than can run.
		thr = run("native tcp, saturated", *services, *saturate, *concurrency, *duration, native)
		// 2. Lateness at a sustainable 1,000 checks/s: 10,000 services every 10 s.
		lat = run("native tcp, 1,000/s", *services, time.Duration(*services)*time.Millisecond, *concurrency, *duration, native)
	}

	// 3. The same checks through a fork of the real plugin.
	var ex result
	if _, err := os.Stat(*plugin); err == nil && want("exec") {
		execSpec := func(i int) checks.Spec {
			return checks.Spec{"kind": "exec", "command": []any{*plugin, "-H", "127.0.0.1", "-p", fmt.Sprint(ports[i%len(ports)])}}
		}
		ex = run("exec check_tcp, saturated", *services, *saturate, 64, *duration, execSpec)
	} else if want("exec") {
		fmt.Printf("%s not found: exec run skipped (apt install monitoring-plugins-basic)\n", *plugin)
	}

	// 4. The peer: Nagios 4 forking the same plugin for the same services.
	var ng result
	if *nagios && want("nagios") {
		r, err := runNagios(*services, ports, *saturate, *plugin)
		if err != nil {
			fmt.Printf("nagios 4 run skipped: %v\n", err)
		}
		ng = r
	}

	fmt.Println()
	fmt.Println("summary")
	if thr.rate > 0 {
		fmt.Printf("  native tcp sustained:        %8.0f checks/s  (goal >= 5,000/s; = %.0f checks/min)\n", thr.rate, thr.rate*60)
		fmt.Printf("  lateness at %5.0f checks/s:   p50 %v  p99 %v  max %v  (goal p99 < 1s)\n", lat.rate, lat.p50, lat.p99, lat.max)
	}
	if ex.rate > 0 {
		fmt.Printf("  exec check_tcp sustained:    %8.0f checks/s\n", ex.rate)
		if thr.rate > 0 {
			fmt.Printf("  native / exec:               %8.1fx\n", thr.rate/ex.rate)
		}
	}
	if ng.rate > 0 {
		fmt.Printf("  nagios 4 check_tcp sustained: %8.0f checks/s\n", ng.rate)
		if thr.rate > 0 {
			fmt.Printf("  vigie native / nagios 4:      %8.1fx\n", thr.rate/ng.rate)
		}
		if ex.rate > 0 {
			fmt.Printf("  vigie exec / nagios 4:        %8.1fx (same plugin, same forks)\n", ex.rate/ng.rate)
		}
	}
	fmt.Printf("  Checkmk micro core claim:    %8.0f checks/s (600,000/min on a desktop i7)\n", 10000.0)
}

type result struct {
	rate          float64
	p50, p99, max time.Duration
}

// run schedules n services at the given interval through a real engine and
// SQLite store, waits for the schedule to settle, then measures completed
// checks and their lateness for d.
func run(name string, n int, interval time.Duration, concurrency int, d time.Duration, spec func(int) checks.Spec) result {
	dir, err := os.MkdirTemp("", "vigie-bench-")
	must(err)
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(dir, "bench.db")})
	must(err)
	defer st.Close()

	lateness := &lateRecorder{}
	metrics := state.NewMetrics(nil)
	metrics.Lateness = lateness
	var done atomic.Int64
	e := state.NewEngine(state.EngineOptions{
		Concurrency: concurrency,
		Writer: writerFunc(func(ctx context.Context, b []state.Update) error {
			done.Add(int64(len(b)))
			return st.ApplyStatus(ctx, b)
		}),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: metrics,
	})
	for i := 0; i < n; i++ {
		c, err := checks.New(spec(i), checks.Options{Timeout: 5 * time.Second})
		must(err)
		e.Upsert(state.Job{Kind: state.KindService, ID: int64(i + 1), HostID: 0, Checker: c,
			Interval: interval, RetryInterval: interval, MaxAttempts: 3, Timeout: 5 * time.Second}, false)
	}
	rctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { e.Run(rctx); close(stopped) }()

	// Let one full interval pass so every service has found its slot.
	warm := interval
	if warm < 2*time.Second {
		warm = 2 * time.Second
	}
	time.Sleep(warm)
	var ru0 = cpuTime()
	lateness.reset()
	start, before := time.Now(), done.Load()
	time.Sleep(d)
	elapsed, count := time.Since(start), done.Load()-before
	cpu := cpuTime() - ru0
	cancel()
	<-stopped

	r := result{rate: float64(count) / elapsed.Seconds()}
	r.p50, r.p99, r.max = lateness.quantiles()
	fmt.Printf("%-28s %8.0f checks/s  lateness p50 %-12v p99 %-12v max %-12v cpu %.0f%% of %d cores\n",
		name, r.rate, r.p50, r.p99, r.max, 100*cpu.Seconds()/elapsed.Seconds()/float64(numCPU()), numCPU())
	return r
}

// lateRecorder keeps every lateness observation, for exact quantiles; it
// stands in for the engine's Prometheus histogram.
type lateRecorder struct {
	prometheus.Histogram
	mu sync.Mutex
	v  []float64
}

func (l *lateRecorder) Observe(s float64) {
	l.mu.Lock()
	l.v = append(l.v, s)
	l.mu.Unlock()
}

func (l *lateRecorder) reset() {
	l.mu.Lock()
	l.v = l.v[:0]
	l.mu.Unlock()
}

func (l *lateRecorder) quantiles() (p50, p99, max time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.v) == 0 {
		return
	}
	sort.Float64s(l.v)
	at := func(q float64) time.Duration {
		return time.Duration(l.v[int(q*float64(len(l.v)-1))] * float64(time.Second)).Round(time.Microsecond)
	}
	return at(0.5), at(0.99), at(1)
}

type writerFunc func(context.Context, []state.Update) error

func (f writerFunc) WriteStatus(ctx context.Context, b []state.Update) error { return f(ctx, b) }

// startListeners opens loopback listeners that accept and close at once.
func startListeners(n int) []int {
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(err)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	return ports
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func numCPU() int { return runtime.NumCPU() }
