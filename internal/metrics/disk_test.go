package metrics

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/promql"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// batch is n samples of distinct series at one time, so that the WAL grows
// quickly.
func batch(round, n int, at time.Time) []Sample {
	out := make([]Sample, n)
	for i := range out {
		out[i] = Sample{series("fill_test", "host", fmt.Sprintf("h%d", i), "pad", strings.Repeat("x", 40)), at, float64(round)}
	}
	return out
}

// countSamples counts what the store holds of the fill_test series.
func countSamples(t *testing.T, d *DB, at time.Time) int {
	t.Helper()
	v, err := d.Query(ctx, `sum(count_over_time(fill_test[1h]))`, at)
	if err != nil {
		t.Fatal(err)
	}
	vec := v.(promql.Vector)
	if len(vec) == 0 {
		return 0
	}
	return int(vec[0].F)
}

// Below metrics.min_free_bytes, ingestion stops with a clear error and
// a health message, and starts again once there is room; everything
// acknowledged is in the store after a restart.
func TestDiskNearlyFullStopsIngestion(t *testing.T) {
	old := diskCheckEvery
	diskCheckEvery = 0
	t.Cleanup(func() { diskCheckEvery = old })
	root := testenv.SmallDisk(t, 64<<20)
	dir := filepath.Join(root, "tsdb")
	reg := prometheus.NewRegistry()
	d, err := Open(dir, Options{MinFreeBytes: 8 << 20, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-30 * time.Minute)
	acked := 0
	write := func(round int) error {
		b := batch(round, 500, t0.Add(time.Duration(round)*time.Second))
		err := d.Append(ctx, b)
		if err == nil {
			acked += len(b)
		}
		return err
	}
	for r := 0; r < 5; r++ {
		if err := write(r); err != nil {
			t.Fatal(err)
		}
	}
	ballast := testenv.Fill(t, root, 6<<20)
	err = write(5)
	if !errors.Is(err, ErrIngestionStopped) || !strings.Contains(err.Error(), "metrics.min_free_bytes") {
		t.Fatalf("appending on a nearly full disk: %v", err)
	}
	if h := d.Health(); h.OK || !strings.Contains(h.Message, "disk nearly full") {
		t.Fatalf("health on a nearly full disk: %+v", h)
	}
	if got := testutil.ToFloat64(d.guard.refused.WithLabelValues("disk_full")); got != 500 {
		t.Errorf("refused samples counted: %v, want 500", got)
	}
	if got, err := testutil.GatherAndCount(reg, "vigie_metrics_ingestion_stopped"); err != nil || got != 1 {
		t.Errorf("vigie_metrics_ingestion_stopped: %d %v", got, err)
	}
	os.Remove(ballast)
	if err := write(6); err != nil {
		t.Fatalf("appending once there is room again: %v", err)
	}
	if h := d.Health(); !h.OK {
		t.Fatalf("health after the disk was freed: %+v", h)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(dir, Options{MinFreeBytes: 8 << 20})
	if err != nil {
		t.Fatalf("reopening the store: %v", err)
	}
	defer d.Close()
	if got := countSamples(t, d, t0.Add(10*time.Second)); got != acked {
		t.Fatalf("after a restart the store holds %d samples, %d were acknowledged", got, acked)
	}
}

// With no minimum set, a write that runs out of space stops ingestion
// too; the store still opens, and every sample acknowledged before is
// still there after a restart.
func TestNoSpaceLeftStopsIngestion(t *testing.T) {
	old := diskCheckEvery
	diskCheckEvery = 0
	t.Cleanup(func() { diskCheckEvery = old })
	root := testenv.SmallDisk(t, 64<<20)
	dir := filepath.Join(root, "tsdb")
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-30 * time.Minute)
	ballast := testenv.Fill(t, root, 512<<10)
	acked, round := 0, 0
	var failure error
	for ; round < 1000 && failure == nil; round++ {
		b := batch(round, 500, t0.Add(time.Duration(round)*time.Second))
		if failure = d.Append(ctx, b); failure == nil {
			acked += len(b)
		}
	}
	if !errors.Is(failure, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v after %d rounds", failure, round)
	}
	// The batch that failed may be in the WAL in part or in full: the
	// caller was told it failed and may send it again (a same sample
	// twice is stored once).
	failed := 500
	if err := d.Append(ctx, batch(round, 10, t0.Add(time.Duration(round)*time.Second))); !errors.Is(err, ErrIngestionStopped) {
		t.Fatalf("after running out of space: %v", err)
	}
	if h := d.Health(); h.OK || !strings.Contains(h.Message, "no space left") {
		t.Fatalf("health: %+v", h)
	}
	os.Remove(ballast)
	round++
	b := batch(round, 500, t0.Add(time.Duration(round)*time.Second))
	if err := d.Append(ctx, b); err != nil {
		t.Fatalf("appending once there is room again: %v", err)
	}
	acked += len(b)
	if err := d.Close(); err != nil {
		t.Logf("closing: %v", err)
	}
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopening the store: %v", err)
	}
	defer d.Close()
	if got := countSamples(t, d, t0.Add(time.Duration(round)*time.Second)); got < acked || got > acked+failed {
		t.Fatalf("after a restart the store holds %d samples, %d were acknowledged (and %d failed)", got, acked, failed)
	}
}
