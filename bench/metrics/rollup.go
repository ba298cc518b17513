package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

var (
	rollupDays       = flag.Int("rollup-days", 31, "days of data for the rollup comparison")
	rollupNeighbours = flag.Int("rollup-neighbours", 99, "series written beside the one queried")
	rollupRuns       = flag.Int("rollup-runs", 40, "runs of each query")
)

// rollupBench writes a month of one series and its neighbours, rolls it up,
// and times query_range of that series over 30 days at 5-minute steps from
// the rollups (as vigie picks) and forced onto raw data.
func rollupBench() {
	root, err := os.MkdirTemp("", "vigie-bench-rollup-")
	must(err)
	defer os.RemoveAll(root)
	days := time.Duration(*rollupDays) * 24 * time.Hour
	db, err := metrics.Open(filepath.Join(root, "tsdb"), metrics.Options{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retention: days + 7*24*time.Hour, // raw data kept for the comparison
	})
	must(err)
	defer db.Close()

	end := time.Now().Truncate(time.Minute)
	start := end.Add(-days)
	series := make([]map[string]string, 1+*rollupNeighbours)
	for i := range series {
		series[i] = map[string]string{"__name__": "perfdata", "host": fmt.Sprintf("host-%04d", i), "service": "http", "metric": "time", "unit": "s"}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]metrics.Sample, 0, 5000)
	total := 0
	t0 := time.Now()
	for at := start; at.Before(end); at = at.Add(time.Minute) {
		for _, l := range series {
			buf = append(buf, metrics.Sample{Labels: l, T: at, V: math.Round((0.002+0.0003*rng.NormFloat64())*1e6) / 1e6})
			if len(buf) == cap(buf) {
				must(db.Append(ctx, buf))
				total += len(buf)
				buf = buf[:0]
			}
		}
	}
	must(db.Append(ctx, buf))
	total += len(buf)
	written := time.Since(t0)
	// Raw data in blocks first, as it is when the job runs, so that the
	// roll is timed alone.
	must(db.Compact(ctx))
	t0 = time.Now()
	must(db.Rollup(ctx))
	rolled := time.Since(t0)
	must(db.Compact(ctx))

	q := `perfdata{host="host-0000",metric="time"}`
	qStart, qEnd, step := end.Add(-30*24*time.Hour), end, 5*time.Minute
	res, err := db.ResolutionFor(q, step)
	must(err)
	timeQuery := func(res metrics.Resolution) (p50, p99 time.Duration, points int) {
		var took []time.Duration
		for range *rollupRuns {
			t := time.Now()
			v, err := db.QueryRangeAt(ctx, res, q, qStart, qEnd, step)
			took = append(took, time.Since(t))
			must(err)
			if m := v.(promql.Matrix); len(m) == 1 {
				points = len(m[0].Floats)
			}
		}
		slices.Sort(took)
		return took[len(took)/2], took[(len(took)*99+99)/100-1], points
	}
	rp50, rp99, rpoints := timeQuery(res)
	wp50, wp99, wpoints := timeQuery(metrics.Raw)

	fmt.Printf("\nrollups: %d series over %d days at 1m, %d samples written in %.1f s, rolled up (5m and 1h) in %.1f s\n",
		len(series), *rollupDays, total, written.Seconds(), rolled.Seconds())
	fmt.Printf("  query_range of one series over 30 days at 5m steps, %d runs each:\n", *rollupRuns)
	fmt.Printf("    %-14s %10s %10s %8s\n", "read from", "p50", "p99", "points")
	fmt.Printf("    %-14s %10s %10s %8d\n", "rollups "+res.String(), ms(rp50), ms(rp99), rpoints)
	fmt.Printf("    %-14s %10s %10s %8d\n", "raw", ms(wp50), ms(wp99), wpoints)
	fmt.Printf("  raw / rollups: %.1fx at p50, %.1fx at p99 (goal: rollups under 50 ms)\n",
		float64(wp50)/float64(rp50), float64(wp99)/float64(rp99))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
