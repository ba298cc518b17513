package remote

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// numbered returns samples of series s (one per value of "s"), the value
// being the sample's number from first, one second apart.
func numbered(first, n int, nSeries int) []metrics.Sample {
	out := make([]metrics.Sample, 0, n)
	for i := first; i < first+n; i++ {
		out = append(out, metrics.Sample{
			Labels: map[string]string{"__name__": "q_test", "s": fmt.Sprint(i % nSeries)},
			T:      now0.Add(time.Duration(i) * time.Second), V: float64(i),
		})
	}
	return out
}

// values decodes a batch and returns its sample values (numbers), in the
// order of the series then of their samples.
func values(t *testing.T, b *batch) []int {
	t.Helper()
	var req prompb.WriteRequest
	if err := req.Unmarshal(b.raw); err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, ts := range req.Timeseries {
		for _, s := range ts.Samples {
			out = append(out, int(s.Value))
		}
	}
	return out
}

type counts struct {
	mu      sync.Mutex
	dropped map[string]int64
	corrupt int
}

func (c *counts) opts(maxBytes, segBytes int64, log *slog.Logger) queueOptions {
	c.dropped, c.corrupt = map[string]int64{}, 0
	return queueOptions{MaxBytes: maxBytes, SegmentBytes: segBytes, Logger: log,
		Dropped: func(r string, n int64) { c.mu.Lock(); c.dropped[r] += n; c.mu.Unlock() },
		Corrupt: func() { c.mu.Lock(); c.corrupt++; c.mu.Unlock() }}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// drain reads and commits everything, returning the values in order.
func drain(t *testing.T, q *queue, max int64) []int {
	t.Helper()
	var out []int
	for {
		b, err := q.next(max)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return out
		}
		if b.samples > max && len(values(t, b)) > int(max) {
			t.Fatalf("batch of %d samples over %d", b.samples, max)
		}
		out = append(out, values(t, b)...)
		q.commit(b)
	}
}

func sequence(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// inOrder checks that got holds every number of want exactly once, each
// series' numbers (n % nSeries) in increasing order.
func inOrder(t *testing.T, got, want []int, nSeries int) {
	t.Helper()
	seen := map[int]int{}
	last := map[int]int{}
	for _, v := range got {
		seen[v]++
		if l, ok := last[v%nSeries]; ok && v <= l {
			t.Fatalf("series %d: %d after %d", v%nSeries, v, l)
		}
		last[v%nSeries] = v
	}
	for _, v := range want {
		if seen[v] != 1 {
			t.Fatalf("sample %d delivered %d times", v, seen[v])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("delivered %d samples, want %d", len(got), len(want))
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQueueOrder: samples come out in the order they went in, across many
// segments, in batches of at most the batch size.
func TestQueueOrder(t *testing.T) {
	var c counts
	q, err := openQueue(t.TempDir(), c.opts(1<<30, 512, discard()))
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	n := 0
	for _, size := range []int{1, 7, 100, 3, 250, 1, 40} {
		if err := q.enqueue(numbered(n, size, 1), 50); err != nil {
			t.Fatal(err)
		}
		n += size
	}
	if _, pending := q.stats(); pending != int64(n) {
		t.Fatalf("pending %d, want %d", pending, n)
	}
	if len(q.segs) < 3 {
		t.Fatalf("expected several segments, got %d", len(q.segs))
	}
	if got := drain(t, q, 50); !equalInts(got, sequence(0, n)) {
		t.Fatalf("out of order: %v", got)
	}
	if bytes, pending := q.stats(); pending != 0 || len(q.segs) != 1 || bytes > 4096 {
		t.Fatalf("after draining: %d pending, %d segments, %d bytes", pending, len(q.segs), bytes)
	}
}

// TestQueueRestart: closed and reopened mid-queue, with a batch read but
// not delivered, the queue gives exactly the samples not delivered.
func TestQueueRestart(t *testing.T) {
	dir := t.TempDir()
	var c counts
	q, err := openQueue(dir, c.opts(1<<30, 2048, discard()))
	if err != nil {
		t.Fatal(err)
	}
	if err := q.enqueue(numbered(0, 500, 3), 20); err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 7 {
		b, _ := q.next(20)
		got = append(got, values(t, b)...)
		q.commit(b)
	}
	if b, _ := q.next(20); b == nil || b.samples != 20 {
		t.Fatal("no batch in flight") // read, never committed: lost by the crash
	}
	q.close()

	q, err = openQueue(dir, c.opts(1<<30, 2048, discard()))
	if err != nil {
		t.Fatal(err)
	}
	if _, pending := q.stats(); pending != 500-140 {
		t.Fatalf("pending after reopening: %d, want %d", pending, 500-140)
	}
	if err := q.enqueue(numbered(500, 60, 3), 20); err != nil {
		t.Fatal(err)
	}
	got = append(got, drain(t, q, 20)...)
	q.close()
	inOrder(t, got, sequence(0, 560), 3)
	// Once more, empty: nothing comes back.
	q, _ = openQueue(dir, c.opts(1<<30, 2048, discard()))
	defer q.close()
	if got := drain(t, q, 20); len(got) != 0 {
		t.Fatalf("delivered samples came back: %v", got)
	}
	if c.corrupt != 0 {
		t.Fatalf("%d corrupt records in a clean queue", c.corrupt)
	}
}

// TestQueueCorrupt: a torn last record (a crash mid-write) and a record
// whose bytes changed are found, counted and skipped; the rest is
// delivered.
func TestQueueCorrupt(t *testing.T) {
	dir := t.TempDir()
	var c counts
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	q, err := openQueue(dir, c.opts(1<<30, 1<<20, log))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		q.enqueue(numbered(i*10, 10, 1), 10) // one record each, in segment 1
	}
	q.close()
	seg := filepath.Join(dir, "00000001.seg")
	b, _ := os.ReadFile(seg)
	recLen := len(b) / 10
	// Half of a record appended, as a crash leaves it.
	f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(b[:recLen/2])
	f.Close()

	q, err = openQueue(dir, c.opts(1<<30, 1<<20, log))
	if err != nil {
		t.Fatal(err)
	}
	if c.corrupt != 1 || !strings.Contains(logs.String(), "torn or corrupt record") {
		t.Fatalf("torn tail: %d corrupt records counted, log %q", c.corrupt, logs.String())
	}
	if _, pending := q.stats(); pending != 100 {
		t.Fatalf("pending %d", pending)
	}
	// Writing goes on in a new segment, after the torn one.
	q.enqueue(numbered(100, 10, 1), 10)
	if got := drain(t, q, 1000); !equalInts(got, sequence(0, 110)) {
		t.Fatalf("after a torn tail: %v", got)
	}
	q.close()

	// A flipped byte in the middle of a segment: the rest of that segment
	// is given up (its framing is not to be trusted), counted.
	dir = t.TempDir()
	q, _ = openQueue(dir, c.opts(1<<30, 1<<20, log))
	for i := range 10 {
		q.enqueue(numbered(i*10, 10, 1), 10)
	}
	q.close()
	seg = filepath.Join(dir, "00000001.seg")
	b, _ = os.ReadFile(seg)
	b[5*(len(b)/10)+headerLen+3] ^= 0xff // record 6's payload
	os.WriteFile(seg, b, 0o640)
	q, _ = openQueue(dir, c.opts(1<<30, 1<<20, log))
	defer q.close()
	q.enqueue(numbered(100, 10, 1), 10)
	got := drain(t, q, 1000)
	if !equalInts(got, append(sequence(0, 50), sequence(100, 110)...)) {
		t.Fatalf("after a corrupt record: %v", got)
	}
	if c.corrupt != 1 || c.dropped["corrupt"] != 50 {
		t.Fatalf("corrupt records %d, dropped %v", c.corrupt, c.dropped)
	}
}

// TestQueueFullDropsOldest: past its bound, the queue drops its oldest
// segment, counted and logged, and keeps the newest samples in order.
func TestQueueFullDropsOldest(t *testing.T) {
	var c counts
	var logs bytes.Buffer
	q, err := openQueue(t.TempDir(), c.opts(16<<10, 4<<10, slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	const total = 3000
	for i := 0; i < total; i += 10 {
		if err := q.enqueue(numbered(i, 10, 7), 10); err != nil {
			t.Fatal(err)
		}
		if bytes, _ := q.stats(); bytes > 16<<10 {
			t.Fatalf("queue of %d bytes over its bound", bytes)
		}
	}
	lost := c.dropped["queue_full"]
	if lost == 0 || !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "queue full") {
		t.Fatalf("nothing dropped (%v) or not logged: %q", c.dropped, logs.String())
	}
	got := drain(t, q, 100)
	if int64(len(got))+lost != total {
		t.Fatalf("delivered %d + dropped %d != %d", len(got), lost, total)
	}
	inOrder(t, got, sequence(int(lost), total), 7)
}
