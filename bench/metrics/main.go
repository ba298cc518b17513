// Command metrics measures the time-series store on realistic check data
// (see checkdata.go): ingestion through vigie's appender (samples per
// second on this machine) and bytes per sample on disk after compaction,
// overall and per kind of series, with exact values and with
// metrics.precision_bits: 16.
//
//	go run ./bench/metrics [-hosts 300] [-hours 6] [-rollup-days 31]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

var ctx = context.Background()

func main() {
	hosts := flag.Int("hosts", 300, "monitored servers (31 series each)")
	hours := flag.Float64("hours", 6, "hours of data to write")
	batch := flag.Int("batch", 5000, "samples per commit")
	flag.Parse()
	span := time.Duration(*hours * float64(time.Hour))

	all, _ := installation(*hosts, metrics.Seconds)
	fmt.Printf("vigie time-series store: %d hosts, %d series, %.0f h of realistic check data, %d cores\n", *hosts, len(all), *hours, runtime.NumCPU())

	// Ingestion, and the disk the default (exact values) takes.
	res := store(*hosts, span, *batch, "", metrics.Options{})
	fmt.Printf("  ingestion through the appender: %.0f samples/s (%d samples in %v; goal >= 500,000/s)\n",
		float64(res.written)/res.elapsed.Seconds(), res.written, res.elapsed.Round(time.Millisecond))
	res.print("exact values (default)")
	store(*hosts, span, *batch, "", metrics.Options{PrecisionBits: 16}).print("metrics.precision_bits: 16")
	fmt.Println("  per kind of series, exact values:")
	for _, class := range []string{"state", "duration", "gauge", "counter"} {
		r := store(*hosts, span, *batch, class, metrics.Options{})
		fmt.Printf("    %-9s %5.1f%% of samples  %5.2f bytes/sample in chunks\n", class, 100*float64(r.written)/float64(res.written), r.chunkBytesPerSample())
	}
	fmt.Println("  (goal <= 1.5 bytes/sample; Gorilla's published figure 1.37, on data where half the values repeat)")
	compareRemoteWrite(*hosts, span, *batch, res)
	rollupBench()
}

type result struct {
	written      int
	elapsed      time.Duration
	blockSamples uint64
	blockBytes   int64
	chunkBytes   int64
	dir          string
}

func (r result) chunkBytesPerSample() float64 { return float64(r.chunkBytes) / float64(r.blockSamples) }

func (r result) print(what string) {
	if r.blockSamples == 0 {
		fmt.Printf("  %s: no block cut yet (write more than 3 h of data)\n", what)
		return
	}
	fmt.Printf("  %s: after compaction %d samples in blocks: %.2f bytes/sample in chunks, %.2f with the index\n",
		what, r.blockSamples, r.chunkBytesPerSample(), float64(r.blockBytes)/float64(r.blockSamples))
}

// store writes span of the installation's data (only one class of series
// when class is not empty) into a fresh store, compacts it, and measures.
func store(hosts int, span time.Duration, batch int, class string, opts metrics.Options) result {
	root, err := os.MkdirTemp("", "vigie-bench-tsdb-")
	must(err)
	defer os.RemoveAll(root)
	// The rollup tiers go beside the database, inside root.
	dir := filepath.Join(root, "tsdb")
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := metrics.Open(dir, opts)
	must(err)
	defer db.Close()
	var r result
	// Samples are made first, so that the time measured is the store's.
	var batches [][]metrics.Sample
	generate(hosts, time.Now().Add(-span).Truncate(time.Hour), span, batch, class, func(b []metrics.Sample) {
		batches = append(batches, append([]metrics.Sample(nil), b...))
	})
	t0 := time.Now()
	for _, b := range batches {
		must(db.Append(ctx, b))
		r.written += len(b)
	}
	r.elapsed = time.Since(t0)
	must(db.Compact(ctx))
	r.blockSamples, r.blockBytes = db.BlockStats()
	r.chunkBytes = chunkBytes(dir)
	return r
}

// generate walks the installation's checks over span in time order, five
// minutes at a time, and hands out batches of samples stamped as vigie's
// scheduler stamps them: the scheduled time when the check started within
// 50 ms of it (nearly always), else its start.
func generate(hosts int, start time.Time, span time.Duration, batch int, class string, emit func([]metrics.Sample)) {
	all, rng := installation(hosts, metrics.Seconds)
	buf := make([]metrics.Sample, 0, batch)
	const window = 5 * time.Minute
	for w := start; w.Before(start.Add(span)); w = w.Add(window) {
		for _, s := range all {
			if class != "" && s.class != class {
				continue
			}
			k := int64(math.Ceil(float64(w.Sub(start)-s.offset) / float64(s.interval)))
			for at := start.Add(s.offset + time.Duration(k)*s.interval); at.Before(w.Add(window)); at = at.Add(s.interval) {
				stamp := at
				if late := lateness(rng); late > 50*time.Millisecond {
					stamp = at.Add(late)
				}
				buf = append(buf, metrics.Sample{Labels: s.labels, T: stamp, V: s.next(rng)})
				if len(buf) == cap(buf) {
					emit(buf)
					buf = buf[:0]
				}
			}
		}
	}
	if len(buf) > 0 {
		emit(buf)
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
