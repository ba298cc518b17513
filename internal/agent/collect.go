package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// collector measures one part of the host. Each is its own service on the
// server, so that one failing collector (no swap, a hung NFS mount) shows
// as that service UNKNOWN and never stops the others.
type collector interface {
	collect(ctx context.Context, out []Sample) ([]Sample, error)
}

// system holds the collectors' state between runs: CPU percentages are the
// change in CPU times since the previous run.
type system struct {
	prevCPU *cpu.TimesStat
	// usage reads one file system's usage (disk.UsageWithContext); statfs
	// on a dead NFS server blocks for good and cannot be cancelled, so
	// each call runs apart, bounded by usageTimeout, and a mount point
	// that hung is skipped until its call returns.
	usage        func(ctx context.Context, path string) (*disk.UsageStat, error)
	usageTimeout time.Duration
	mu           sync.Mutex
	hung         map[string]bool
}

func (s *system) collector(name string) collector {
	switch name {
	case "cpu":
		return collectFunc(s.cpu)
	case "load":
		return collectFunc(collectLoad)
	case "memory":
		return collectFunc(collectMemory)
	case "swap":
		return collectFunc(collectSwap)
	case "filesystems":
		return collectFunc(s.filesystems)
	case "disks":
		return collectFunc(collectDisks)
	case "network":
		return collectFunc(collectNetwork)
	case "processes":
		return collectFunc(collectProcesses)
	case "uptime":
		return collectFunc(collectUptime)
	}
	return nil
}

type collectFunc func(ctx context.Context, out []Sample) ([]Sample, error)

func (f collectFunc) collect(ctx context.Context, out []Sample) ([]Sample, error) { return f(ctx, out) }

// cpu reports the share of time in each state since the last run, in
// percent of the whole machine (the first run only primes the counters).
func (s *system) cpu(ctx context.Context, out []Sample) ([]Sample, error) {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil || len(ts) == 0 {
		return out, fmt.Errorf("reading CPU times: %v", err)
	}
	cur := ts[0]
	prev := s.prevCPU
	s.prevCPU = &cur
	if prev == nil {
		return out, nil
	}
	states := []struct {
		name      string
		cur, prev float64
	}{
		{"user", cur.User, prev.User}, {"system", cur.System, prev.System}, {"idle", cur.Idle, prev.Idle},
		{"nice", cur.Nice, prev.Nice}, {"iowait", cur.Iowait, prev.Iowait}, {"irq", cur.Irq, prev.Irq},
		{"softirq", cur.Softirq, prev.Softirq}, {"steal", cur.Steal, prev.Steal},
	}
	var total float64
	for _, st := range states {
		total += st.cur - st.prev
	}
	if total <= 0 {
		return out, nil
	}
	for _, st := range states {
		out = append(out, Sample{Service: "cpu", Metric: st.name, Unit: "%", Value: 100 * max(0, st.cur-st.prev) / total})
	}
	n, err := cpu.CountsWithContext(ctx, true)
	if err == nil {
		out = append(out, Sample{Service: "cpu", Metric: "cores", Value: float64(n)})
	}
	return out, nil
}

func collectLoad(ctx context.Context, out []Sample) ([]Sample, error) {
	a, err := load.AvgWithContext(ctx)
	if err != nil {
		return out, fmt.Errorf("reading the load average: %w", err)
	}
	return append(out,
		Sample{Service: "load", Metric: "load1", Value: a.Load1},
		Sample{Service: "load", Metric: "load5", Value: a.Load5},
		Sample{Service: "load", Metric: "load15", Value: a.Load15}), nil
}

func collectMemory(ctx context.Context, out []Sample) ([]Sample, error) {
	m, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return out, fmt.Errorf("reading memory: %w", err)
	}
	return append(out,
		Sample{Service: "memory", Metric: "total", Unit: "B", Value: float64(m.Total)},
		Sample{Service: "memory", Metric: "used", Unit: "B", Value: float64(m.Used)},
		Sample{Service: "memory", Metric: "available", Unit: "B", Value: float64(m.Available)},
		Sample{Service: "memory", Metric: "buffers", Unit: "B", Value: float64(m.Buffers)},
		Sample{Service: "memory", Metric: "cached", Unit: "B", Value: float64(m.Cached)},
		Sample{Service: "memory", Metric: "used_percent", Unit: "%", Value: m.UsedPercent}), nil
}

func collectSwap(ctx context.Context, out []Sample) ([]Sample, error) {
	m, err := mem.SwapMemoryWithContext(ctx)
	if err != nil {
		return out, fmt.Errorf("reading swap: %w", err)
	}
	return append(out,
		Sample{Service: "swap", Metric: "total", Unit: "B", Value: float64(m.Total)},
		Sample{Service: "swap", Metric: "used", Unit: "B", Value: float64(m.Used)},
		Sample{Service: "swap", Metric: "in", Unit: "c", Value: float64(m.Sin)},
		Sample{Service: "swap", Metric: "out", Unit: "c", Value: float64(m.Sout)}), nil
}

// filesystems reports every real file system once (bind mounts of one
// device would repeat it).
func (s *system) filesystems(ctx context.Context, out []Sample) ([]Sample, error) {
	parts, err := disk.PartitionsWithContext(ctx, false)
	if err != nil && len(parts) == 0 {
		return out, fmt.Errorf("listing file systems: %w", err)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Mountpoint < parts[j].Mountpoint })
	seen := map[string]bool{}
	var firstErr error
	for _, p := range parts {
		if seen[p.Device] && p.Device != "" {
			continue
		}
		seen[p.Device] = true
		u, err := s.usageOf(ctx, p.Mountpoint)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("file system %s: %w", p.Mountpoint, err)
			}
			continue
		}
		svc := "fs " + p.Mountpoint
		out = append(out,
			Sample{Service: svc, Metric: "total", Unit: "B", Value: float64(u.Total)},
			Sample{Service: svc, Metric: "used", Unit: "B", Value: float64(u.Used)},
			Sample{Service: svc, Metric: "free", Unit: "B", Value: float64(u.Free)},
			Sample{Service: svc, Metric: "used_percent", Unit: "%", Value: u.UsedPercent},
			Sample{Service: svc, Metric: "inodes_total", Value: float64(u.InodesTotal)},
			Sample{Service: svc, Metric: "inodes_used", Value: float64(u.InodesUsed)},
			Sample{Service: svc, Metric: "inodes_free", Value: float64(u.InodesFree)})
	}
	return out, firstErr
}

var errHung = errors.New("not answering (a dead network file system?); skipped until it does")

func (s *system) usageOf(ctx context.Context, path string) (*disk.UsageStat, error) {
	s.mu.Lock()
	if s.hung == nil {
		s.hung = map[string]bool{}
	}
	if s.hung[path] {
		s.mu.Unlock()
		return nil, errHung
	}
	s.mu.Unlock()
	usage, timeout := s.usage, s.usageTimeout
	if usage == nil {
		usage = disk.UsageWithContext
	}
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	type answer struct {
		u   *disk.UsageStat
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		u, err := usage(ctx, path)
		ch <- answer{u, err}
		s.mu.Lock()
		delete(s.hung, path) // back: measured again from the next run
		s.mu.Unlock()
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-ch:
		return a.u, a.err
	case <-t.C:
		s.mu.Lock()
		defer s.mu.Unlock()
		// The call may have returned just now: its answer is then in ch
		// (sent before it clears hung), else it clears hung later.
		select {
		case a := <-ch:
			return a.u, a.err
		default:
		}
		s.hung[path] = true
		return nil, errHung
	}
}

func collectDisks(ctx context.Context, out []Sample) ([]Sample, error) {
	io, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		return out, fmt.Errorf("reading disk I/O: %w", err)
	}
	names := make([]string, 0, len(io))
	for n := range io {
		// Partitions repeat their disk; loop and ram devices say nothing.
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := io[n]
		svc := "disk " + n
		out = append(out,
			Sample{Service: svc, Metric: "read_bytes", Unit: "c", Value: float64(d.ReadBytes)},
			Sample{Service: svc, Metric: "write_bytes", Unit: "c", Value: float64(d.WriteBytes)},
			Sample{Service: svc, Metric: "reads", Unit: "c", Value: float64(d.ReadCount)},
			Sample{Service: svc, Metric: "writes", Unit: "c", Value: float64(d.WriteCount)},
			Sample{Service: svc, Metric: "io_time_ms", Unit: "c", Value: float64(d.IoTime)})
	}
	return out, nil
}

func collectNetwork(ctx context.Context, out []Sample) ([]Sample, error) {
	ifs, err := net.IOCountersWithContext(ctx, true)
	if err != nil {
		return out, fmt.Errorf("reading network counters: %w", err)
	}
	for _, i := range ifs {
		svc := "net " + i.Name
		out = append(out,
			Sample{Service: svc, Metric: "rx_bytes", Unit: "c", Value: float64(i.BytesRecv)},
			Sample{Service: svc, Metric: "tx_bytes", Unit: "c", Value: float64(i.BytesSent)},
			Sample{Service: svc, Metric: "rx_packets", Unit: "c", Value: float64(i.PacketsRecv)},
			Sample{Service: svc, Metric: "tx_packets", Unit: "c", Value: float64(i.PacketsSent)},
			Sample{Service: svc, Metric: "rx_errors", Unit: "c", Value: float64(i.Errin)},
			Sample{Service: svc, Metric: "tx_errors", Unit: "c", Value: float64(i.Errout)},
			Sample{Service: svc, Metric: "rx_dropped", Unit: "c", Value: float64(i.Dropin)},
			Sample{Service: svc, Metric: "tx_dropped", Unit: "c", Value: float64(i.Dropout)})
	}
	return out, nil
}

// collectProcesses reads the counts the kernel keeps (/proc/loadavg and
// /proc/stat) rather than listing /proc, which costs far more CPU.
func collectProcesses(ctx context.Context, out []Sample) ([]Sample, error) {
	m, err := load.MiscWithContext(ctx)
	if err != nil {
		return out, fmt.Errorf("counting processes: %w", err)
	}
	return append(out,
		Sample{Service: "processes", Metric: "total", Value: float64(m.ProcsTotal)},
		Sample{Service: "processes", Metric: "running", Value: float64(m.ProcsRunning)},
		Sample{Service: "processes", Metric: "blocked", Value: float64(m.ProcsBlocked)}), nil
}

func collectUptime(ctx context.Context, out []Sample) ([]Sample, error) {
	u, err := host.UptimeWithContext(ctx)
	if err != nil {
		return out, fmt.Errorf("reading the uptime: %w", err)
	}
	return append(out, Sample{Service: "uptime", Metric: "uptime", Unit: "s", Value: float64(u)}), nil
}
