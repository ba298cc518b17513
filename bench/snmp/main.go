// Command snmp measures interface polling against a local net-snmp snmpd:
// interfaces polled per second and CPU per 1,000 interface polls, for
// vigie's snmp_interface check (one GET of 13 objects per interface) and
// for vigie's bulk walk of ifTable+ifXTable, with net-snmp's own
// snmpbulkwalk on the same tables in the same run as the reference.
//
//	go run ./bench/snmp [-duration 10s] [-concurrency 8]
//
// The goal: 10,000 devices' worth of interfaces every 5 minutes on 2
// cores. The agent here is one single-threaded snmpd, which bounds the
// rate; the CPU per 1,000 polls is what says how far the poller goes.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/snmp"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "measuring time per run")
	concurrency := flag.Int("concurrency", 8, "polls (or snmpbulkwalk processes) at once")
	perDevice := flag.Int("interfaces-per-device", 24, "interfaces of a typical device, for the goal")
	flag.Parse()

	agent, stop, err := startSNMPD()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/snmp:", err)
		os.Exit(1)
	}
	defer stop()
	cfg := snmp.Config{Port: agent.port}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cl := snmp.NewClient("127.0.0.1", cfg)
	ifs, err := cl.Interfaces(context.Background())
	cl.Close()
	if err != nil || len(ifs) == 0 {
		fmt.Fprintln(os.Stderr, "bench/snmp: discovering interfaces:", err)
		os.Exit(1)
	}
	fmt.Printf("vigie SNMP benchmark: snmpd %s on 127.0.0.1:%d with %d interfaces, %d cores, %s, concurrency %d, %s per run\n\n",
		agent.version, agent.port, len(ifs), runtime.NumCPU(), runtime.Version(), *concurrency, *duration)

	// 1. vigie's snmp_interface checks, as the scheduler runs them.
	chks := make([]checks.Checker, len(ifs))
	for i, it := range ifs {
		c, err := checks.New(checks.Spec{"kind": "snmp_interface", "index": it.Index, "port": agent.port}, checks.Options{Address: "127.0.0.1"})
		if err != nil {
			panic(err)
		}
		chks[i] = c
	}
	var bad atomic.Int64
	var next atomic.Int64
	get := measure("vigie snmp_interface (GET)", agent, *duration, *concurrency, self, func() int {
		c := chks[int(next.Add(1))%len(chks)]
		if r := c.Run(context.Background()); r.State != checks.OK {
			if bad.Add(1) == 1 {
				fmt.Fprintln(os.Stderr, "  poll not OK:", r.Output)
			}
		}
		return 1
	})

	// 2. vigie's bulk walk of the two tables: every interface at once.
	tables := []string{"1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"}
	walk := measure("vigie bulk walk", agent, *duration, *concurrency, self, func() int {
		c := snmp.NewClient("127.0.0.1", cfg)
		defer c.Close()
		for _, t := range tables {
			if _, _, err := c.Walk(context.Background(), t, 0); err != nil {
				bad.Add(1)
			}
		}
		return len(ifs)
	})

	// 3. The reference: net-snmp's snmpbulkwalk on the same tables.
	ref := measure("net-snmp snmpbulkwalk", agent, *duration, *concurrency, children, func() int {
		for _, t := range tables {
			cmd := exec.Command("snmpbulkwalk", "-m", "", "-v2c", "-c", "public", "-On", "-Cr10", "127.0.0.1:"+strconv.Itoa(agent.port), t)
			cmd.Env = append(os.Environ(), "MIBS=")
			if err := cmd.Run(); err != nil {
				bad.Add(1)
			}
		}
		return len(ifs)
	})
	if bad.Load() > 0 {
		fmt.Printf("\n%d polls failed\n", bad.Load())
	}

	fmt.Println()
	fmt.Printf("vigie GET vs snmpbulkwalk:  %.2fx the interfaces per second, %.2fx the CPU per 1,000 interfaces\n",
		get.rate/ref.rate, float64(get.cpuPer1000)/float64(ref.cpuPer1000))
	fmt.Printf("vigie walk vs snmpbulkwalk: %.2fx the interfaces per second, %.2fx the CPU per 1,000 interfaces\n",
		walk.rate/ref.rate, float64(walk.cpuPer1000)/float64(ref.cpuPer1000))
	need := 10000 * float64(*perDevice) / 300
	fmt.Printf("\ngoal: 10,000 devices x %d interfaces every 5 min = %.0f interface polls/s on 2 cores\n", *perDevice, need)
	for _, r := range []result{get, walk} {
		cores := need * r.cpuPer1000.Seconds() / 1000
		fmt.Printf("  %-28s poller CPU at the goal: %.2f cores (%.0f%% of 2)\n", r.name, cores, 100*cores/2)
	}
	fmt.Println("  (the rates above are bounded by the one local snmpd, a single-threaded agent; real")
	fmt.Println("   devices answer in parallel, so the poller's CPU per 1,000 polls is the figure that scales)")
}

type result struct {
	name       string
	rate       float64 // interfaces per second
	cpuPer1000 time.Duration
	agentPer   time.Duration
}

type cpuKind int

const (
	self cpuKind = iota
	children
)

// measure runs work from concurrency goroutines for d and reports the
// interfaces per second and the CPU per 1,000 interfaces: this process's
// for vigie, the children's for the net-snmp tools; the agent's beside.
func measure(name string, a *agentProc, d time.Duration, concurrency int, kind cpuKind, work func() int) result {
	var done atomic.Int64
	var wg sync.WaitGroup
	cpu0, agent0 := cpuTime(kind), a.cpu()
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				done.Add(int64(work()))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu, agent := cpuTime(kind)-cpu0, a.cpu()-agent0
	n := done.Load()
	r := result{name: name, rate: float64(n) / elapsed.Seconds()}
	if n > 0 {
		r.cpuPer1000 = cpu * 1000 / time.Duration(n)
		r.agentPer = agent * 1000 / time.Duration(n)
	}
	fmt.Printf("%-28s %9.0f interfaces/s   CPU per 1,000 interfaces: poller %-10v snmpd %v\n",
		name, r.rate, r.cpuPer1000.Round(time.Microsecond), r.agentPer.Round(time.Microsecond))
	return r
}

func cpuTime(kind cpuKind) time.Duration {
	var ru syscall.Rusage
	who := syscall.RUSAGE_SELF
	if kind == children {
		who = syscall.RUSAGE_CHILDREN
	}
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type agentProc struct {
	cmd     *exec.Cmd
	port    int
	version string
}

// cpu is the agent's CPU time so far, from /proc/PID/stat.
func (a *agentProc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", a.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return time.Duration((ut + st) / 100 * float64(time.Second)) // USER_HZ is 100 on Linux
}

// startSNMPD starts Debian's snmpd on a free loopback port, as the tests do.
func startSNMPD() (*agentProc, func(), error) {
	bin, err := exec.LookPath("snmpd")
	if err != nil {
		bin = "/usr/sbin/snmpd"
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, nil, fmt.Errorf("snmpd is not installed (scripts/install-deps.sh installs it)")
	}
	if _, err := exec.LookPath("snmpbulkwalk"); err != nil {
		return nil, nil, fmt.Errorf("snmpbulkwalk is not installed (scripts/install-deps.sh installs it)")
	}
	dir, err := os.MkdirTemp("", "vigie-bench-snmp")
	if err != nil {
		return nil, nil, err
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	conf := fmt.Sprintf("[snmp] persistentDir %s\nagentAddress udp:127.0.0.1:%d\nrocommunity public 127.0.0.1\n", filepath.Join(dir, "persist"), port)
	cf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		return nil, nil, err
	}
	// -Lf /dev/null: the agent's per-request log line is not part of the cost.
	cmd := exec.Command(bin, "-f", "-Lf", "/dev/null", "-C", "-c", cf, "-m", "")
	cmd.Env = append(os.Environ(), "MIBS=")
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	a := &agentProc{cmd: cmd, port: port}
	cfg := snmp.Config{Port: port, Timeout: 300 * time.Millisecond}
	cfg.Validate()
	for i := 0; i < 50; i++ {
		cl := snmp.NewClient("127.0.0.1", cfg)
		v, err := cl.Get(context.Background(), []string{"1.3.6.1.2.1.1.1.0"})
		cl.Close()
		if err == nil {
			a.version = strings.Fields(v[0].Text + " ?")[0]
			if out, err := exec.Command(bin, "-v").Output(); err == nil {
				for _, l := range strings.Split(string(out), "\n") {
					if strings.Contains(l, "version") {
						a.version = strings.TrimSpace(l[strings.LastIndex(l, ":")+1:])
					}
				}
			}
			return a, stop, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, nil, fmt.Errorf("snmpd did not answer on port %d", port)
}
