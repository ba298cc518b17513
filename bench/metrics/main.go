// Command metrics measures the time-series store: ingestion through
// vigie's appender (samples per second on this machine) and bytes per
// sample on disk after compaction, for realistic check data.
//
//	go run ./bench/metrics [-series 10000] [-hours 6] [-interval 60s]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

func main() {
	nSeries := flag.Int("series", 10000, "series (a service's perfdata metric each)")
	hours := flag.Float64("hours", 6, "hours of data to write")
	interval := flag.Duration("interval", time.Minute, "check interval")
	batch := flag.Int("batch", 5000, "samples per commit")
	flag.Parse()

	dir, err := os.MkdirTemp("", "vigie-bench-tsdb-")
	must(err)
	defer os.RemoveAll(dir)
	db, err := metrics.Open(dir, metrics.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(err)
	defer db.Close()

	// Label sets of real checks: response times in seconds around a few
	// ms with jitter, and byte counters growing at varied rates.
	labels := make([]map[string]string, *nSeries)
	counter := make([]bool, *nSeries)
	values := make([]float64, *nSeries)
	for i := range labels {
		counter[i] = i%4 == 0
		name, metric, unit := "perfdata", "time", "s"
		if counter[i] {
			name, metric, unit = "perfdata_total", "in_octets", "c"
		}
		labels[i] = map[string]string{"__name__": name, "host": fmt.Sprintf("host-%04d", i/10), "service": fmt.Sprintf("svc-%d", i%10), "metric": metric, "unit": unit}
	}
	steps := int(time.Duration(*hours*float64(time.Hour)) / *interval)
	start := time.Now().Add(-time.Duration(steps) * *interval)
	rng := rand.New(rand.NewPCG(1, 2))
	total := 0
	buf := make([]metrics.Sample, 0, *batch)
	ctx := context.Background()
	t0 := time.Now()
	for s := 0; s < steps; s++ {
		at := start.Add(time.Duration(s) * *interval)
		for i := range labels {
			if counter[i] {
				values[i] += float64(1000 + rng.IntN(100000))
			} else {
				// Rounded to the microsecond, as plugins print them.
				values[i] = math.Round((0.002+0.001*rng.NormFloat64()*0.3)*1e6) / 1e6
			}
			buf = append(buf, metrics.Sample{Labels: labels[i], T: at, V: values[i]})
			if len(buf) == cap(buf) {
				must(db.Append(ctx, buf))
				total += len(buf)
				buf = buf[:0]
			}
		}
	}
	must(db.Append(ctx, buf))
	total += len(buf)
	elapsed := time.Since(t0)
	rate := float64(total) / elapsed.Seconds()

	must(db.Compact(ctx))
	samples, bytes := db.BlockStats()
	fmt.Printf("vigie time-series store: %d series, %.0f h at %v, %d samples, %d cores\n", *nSeries, *hours, *interval, total, runtime.NumCPU())
	fmt.Printf("  ingestion through the appender: %.0f samples/s (goal >= 500,000/s)\n", rate)
	if samples > 0 {
		chunks := chunkBytes(dir)
		fmt.Printf("  after compaction: %d samples in blocks, %d bytes with the index = %.2f bytes/sample\n", samples, bytes, float64(bytes)/float64(samples))
		fmt.Printf("  chunks alone: %d bytes = %.2f bytes/sample (goal <= 1.5; Gorilla's published figure 1.37)\n", chunks, float64(chunks)/float64(samples))
	} else {
		fmt.Println("  after compaction: no block cut yet (write more than 3 h of data)")
	}
}

// chunkBytes sums the chunk files of every block (the samples themselves,
// without the index).
func chunkBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "chunks" && !strings.Contains(p, "chunks_head") {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
