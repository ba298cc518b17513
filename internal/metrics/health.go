package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrIngestionStopped is returned by Append while the disk of the store is
// (nearly) full: nothing is written until space comes back, so that a full
// disk never leaves a half-written WAL segment or block behind.
var ErrIngestionStopped = errors.New("time-series ingestion stopped")

// diskCheckEvery bounds how often Append asks the file system for its free
// space (a statfs is cheap, but Append runs hundreds of times a second).
var diskCheckEvery = 2 * time.Second

// guard stops ingestion when the file system holding the store is short of
// space, and restarts it once there is room again (a quarter more than the
// minimum, so that it does not flap around the threshold).
type guard struct {
	dir     string
	minFree int64
	log     *slog.Logger
	now     func() time.Time
	statfs  func(dir string) (int64, error)

	mu      sync.Mutex
	checked time.Time
	free    int64
	stopped bool
	reason  string

	appended prometheus.Counter
	refused  *prometheus.CounterVec
}

func newGuard(dir string, minFree int64, log *slog.Logger) *guard {
	return &guard{
		dir: dir, minFree: minFree, log: log, now: time.Now, statfs: freeBytes, free: -1,
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_metrics_samples_appended_total",
			Help: "Samples written to the time-series store.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_metrics_samples_refused_total",
			Help: "Samples the time-series store did not write, by reason (invalid, rejected by the TSDB, disk_full).",
		}, []string{"reason"}),
	}
}

// freeBytes is the space available to vigie on the file system of dir.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("reading the free space of %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// admit says whether n samples may be written now.
func (g *guard) admit(n int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := g.now(); (g.minFree > 0 || g.stopped) && (g.stopped || now.Sub(g.checked) >= diskCheckEvery) {
		g.checked = now
		free, err := g.statfs(g.dir)
		if err != nil {
			g.log.Warn("checking the disk of the time-series store", "err", err)
		} else {
			g.free = free
			switch {
			case !g.stopped && free < g.minFree:
				g.stop(fmt.Sprintf("disk nearly full: %s free on the file system of %s, below metrics.min_free_bytes (%s)",
					HumanBytes(free), g.dir, HumanBytes(g.minFree)))
			case g.stopped && free >= g.resumeAt():
				g.stopped = false
				g.log.Info("time-series ingestion resumed", "free", HumanBytes(free))
			}
		}
	}
	if g.stopped {
		g.refused.WithLabelValues("disk_full").Add(float64(n))
		return fmt.Errorf("%w: %s", ErrIngestionStopped, g.reason)
	}
	return nil
}

// failed notes an error of the database: out of space, ingestion stops
// until the free space is back above the minimum.
func (g *guard) failed(err error, n int) {
	if !errors.Is(err, syscall.ENOSPC) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refused.WithLabelValues("disk_full").Add(float64(n))
	if !g.stopped {
		g.stop("no space left on the device of " + g.dir)
	}
}

// resumeAt is the free space that restarts ingestion: a quarter more than
// the minimum, so that it does not flap around the threshold, and at least
// 16 MiB after a write failed for lack of space.
func (g *guard) resumeAt() int64 {
	return max(g.minFree+g.minFree/4, 16<<20)
}

func (g *guard) stop(reason string) {
	g.stopped = true
	g.reason = reason
	g.log.Error("time-series ingestion stopped: samples are refused until there is room again", "reason", reason)
}

// Health is the state of the store as vigie's self-check reports it.
type Health struct {
	// OK is false while ingestion is stopped.
	OK bool
	// Message says why, or how much room is left.
	Message string
	// FreeBytes is the free space on the store's file system (-1 if
	// unknown).
	FreeBytes int64
}

// Health reports whether samples are being written.
func (d *DB) Health() Health {
	g := d.guard
	g.mu.Lock()
	defer g.mu.Unlock()
	free := g.free
	if free < 0 {
		if f, err := g.statfs(g.dir); err == nil {
			free = f
		}
	}
	if g.stopped {
		return Health{OK: false, Message: "time-series ingestion stopped: " + g.reason, FreeBytes: free}
	}
	msg := "time-series store writing"
	if free >= 0 {
		msg += fmt.Sprintf(", %s free", HumanBytes(free))
	}
	return Health{OK: true, Message: msg, FreeBytes: free}
}

// collectors are the store's own metrics at /metrics: ingestion, refusals,
// series, disk use and free space, and whether ingestion is stopped.
func (d *DB) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		d.guard.appended, d.guard.refused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigie_metrics_series",
			Help: "Series in the head (recent data) of the time-series store.",
		}, func() float64 { return float64(d.db.Head().NumSeries()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigie_metrics_disk_bytes",
			Help: "Bytes the time-series store and its rollups take on disk (blocks, WAL and head chunks).",
		}, func() float64 { return float64(d.diskUsage()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigie_metrics_disk_free_bytes",
			Help: "Free bytes on the file system of the time-series store.",
		}, func() float64 { return float64(d.Health().FreeBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigie_metrics_ingestion_stopped",
			Help: "1 while samples are refused because the disk is full.",
		}, func() float64 {
			if d.Health().OK {
				return 0
			}
			return 1
		}),
	}
}

// diskUsage sums the files of the store, cached for a few seconds since a
// scrape should not walk a large directory each time.
func (d *DB) diskUsage() int64 {
	d.usage.mu.Lock()
	defer d.usage.mu.Unlock()
	if time.Since(d.usage.at) < 10*time.Second {
		return d.usage.bytes
	}
	n := dirSize(d.dir)
	for _, t := range d.tiers {
		n += dirSize(t.dir)
	}
	d.usage.bytes, d.usage.at = n, time.Now()
	return d.usage.bytes
}

// dirSize sums the sizes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// HumanBytes writes a size for people: 1.5 GiB, 300 MiB, 12 KiB.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
