package metrics

import (
	"fmt"
	"testing"
	"time"
)

// writeHours writes hours of one sample a minute for n series, ending now.
func writeHours(t *testing.T, d *DB, hours, n int) time.Time {
	t.Helper()
	start := time.Now().Add(-time.Duration(hours) * time.Hour).Truncate(time.Hour)
	for h := 0; h < hours; h++ {
		var b []Sample
		for m := 0; m < 60; m++ {
			at := start.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
			for i := 0; i < n; i++ {
				b = append(b, Sample{series("retention_test", "host", fmt.Sprintf("h%d", i)), at, float64(m*i) + 0.5})
			}
		}
		if err := d.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return start
}

// oldest is the time of the oldest sample the store still answers.
func oldest(t *testing.T, d *DB, since time.Time) time.Time {
	t.Helper()
	for _, b := range d.db.Blocks() {
		return time.UnixMilli(b.Meta().MinTime)
	}
	return since
}

// Blocks older than metrics.retention are dropped, newer ones kept.
func TestRetentionByAge(t *testing.T) {
	d, err := Open(t.TempDir(), Options{Retention: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	start := writeHours(t, d, 24, 10)
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	blocks := d.db.Blocks()
	if len(blocks) == 0 {
		t.Fatal("no block after compacting 24 h")
	}
	newest := time.UnixMilli(blocks[len(blocks)-1].Meta().MaxTime)
	first := oldest(t, d, start)
	if newest.Sub(first) > 6*time.Hour+2*time.Hour {
		t.Fatalf("blocks span %v with a retention of 6h", newest.Sub(first))
	}
	if !first.After(start) {
		t.Fatalf("the oldest data (%v) was kept", first)
	}
}

// Beyond metrics.retention_bytes, the oldest blocks go first.
func TestRetentionBySize(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := writeHours(t, d, 24, 200)
	d.Compact(ctx)
	_, full := d.BlockStats()
	d.Close()
	// The bound counts the WAL and the head's chunks too, as Prometheus'
	// size-based retention does; measured on the closed store, they no
	// longer move.
	other := dirSize(dir) - full

	bound := other + full/3
	d, err = Open(dir, Options{RetentionBytes: bound})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, kept := d.BlockStats()
	if kept == 0 || kept > full/3 {
		t.Fatalf("blocks take %d bytes with room for %d (%d unbounded, %d for the WAL and head)", kept, full/3, full, other)
	}
	if first := oldest(t, d, start); !first.After(start.Add(6 * time.Hour)) {
		t.Fatalf("the oldest data left is from %v: the oldest blocks should have gone first", first)
	}
}
