package agent

import (
	"fmt"
	"testing"
	"time"
)

// bufferMaker opens a buffer of the given bound; reopen, when not nil,
// closes it and opens it again on the same storage (the disk buffer).
type bufferMaker struct {
	name   string
	open   func(t *testing.T, dir string, max int64) Buffer
	reopen bool
}

var bufferMakers = []bufferMaker{
	{name: "memory", open: func(t *testing.T, _ string, max int64) Buffer { return NewMemoryBuffer(max) }},
	{name: "disk", reopen: true, open: func(t *testing.T, dir string, max int64) Buffer {
		b, err := OpenDiskBuffer(dir, max)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
}

func batchOf(i int, samples int) Batch {
	b := Batch{Time: time.Unix(int64(1_700_000_000+10*i), 0).UTC()}
	for j := 0; j < samples; j++ {
		b.Samples = append(b.Samples, Sample{Service: "cpu", Metric: fmt.Sprintf("m%d", j), Value: float64(i)})
	}
	return b
}

// TestBufferSuite runs one suite against every implementation.
func TestBufferSuite(t *testing.T) {
	for _, mk := range bufferMakers {
		t.Run(mk.name, func(t *testing.T) {
			t.Run("OrderAndAck", func(t *testing.T) { testOrderAndAck(t, mk) })
			t.Run("BoundThinsOldestAndCounts", func(t *testing.T) { testBound(t, mk) })
			t.Run("OldestRespectsLimits", func(t *testing.T) { testOldestLimits(t, mk) })
			t.Run("TooLarge", func(t *testing.T) { testTooLarge(t, mk) })
			if mk.reopen {
				t.Run("SurvivesReopen", func(t *testing.T) { testReopen(t, mk) })
			}
		})
	}
}

func testOrderAndAck(t *testing.T, mk bufferMaker) {
	b := mk.open(t, t.TempDir(), 1<<20)
	defer b.Close()
	ids := map[string]bool{}
	for i := 0; i < 10; i++ {
		x := batchOf(i, 3)
		if err := b.Put(&x); err != nil {
			t.Fatal(err)
		}
		if x.Seq == 0 || x.ID == "" || ids[x.ID] {
			t.Fatalf("batch %d: seq %d id %q (unique ids expected)", i, x.Seq, x.ID)
		}
		ids[x.ID] = true
	}
	got, err := b.Oldest(4, 1<<20)
	if err != nil || len(got) != 4 {
		t.Fatalf("Oldest(4): %d batches, %v", len(got), err)
	}
	for i, x := range got {
		if x.Samples[0].Value != float64(i) {
			t.Fatalf("batch %d out of order: %v", i, x.Samples[0].Value)
		}
	}
	// Acknowledging the middle ones only leaves the rest in order.
	if err := b.Ack([]uint64{got[1].Seq, got[2].Seq, 9999}); err != nil {
		t.Fatal(err)
	}
	rest, _ := b.Oldest(100, 1<<20)
	var vals []float64
	for _, x := range rest {
		vals = append(vals, x.Samples[0].Value)
	}
	if fmt.Sprint(vals) != "[0 3 4 5 6 7 8 9]" {
		t.Fatalf("after ack: %v", vals)
	}
	if st := b.Stats(); st.Batches != 8 || st.Bytes <= 0 || st.DroppedBatches != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func testBound(t *testing.T, mk bufferMaker) {
	one := batchOf(0, 20)
	one.ID, one.Seq = "xxxxxxxxxxxx-1", 1
	size := int64(len(mustJSON(t, one)))
	bound := 30 * size
	b := mk.open(t, t.TempDir(), bound)
	defer b.Close()
	for i := 0; i < 100; i++ {
		x := batchOf(i, 20)
		if err := b.Put(&x); err != nil {
			t.Fatal(err)
		}
		if st := b.Stats(); st.Bytes > bound {
			t.Fatalf("after %d puts: %d bytes over the bound %d", i+1, st.Bytes, bound)
		}
	}
	st := b.Stats()
	if st.DroppedBatches == 0 || st.DroppedSamples != 20*st.DroppedBatches || uint64(st.Batches)+st.DroppedBatches != 100 {
		t.Fatalf("stats %+v: every drop must be counted", st)
	}
	all, _ := b.Oldest(1000, 1<<30)
	// Still in order, the newest kept whole, the oldest coarser.
	for i := 1; i < len(all); i++ {
		if !all[i].Time.After(all[i-1].Time) {
			t.Fatalf("out of order at %d", i)
		}
	}
	if last := all[len(all)-1].Samples[0].Value; last != 99 {
		t.Fatalf("the newest batch must be kept, last is %v", last)
	}
	if all[len(all)-2].Samples[0].Value != 98 {
		t.Fatalf("the newest data must keep its resolution")
	}
	if all[0].Samples[0].Value != 0 {
		t.Fatalf("thinning keeps the oldest point (coarser, not cut): first is %v", all[0].Samples[0].Value)
	}
}

func testOldestLimits(t *testing.T, mk bufferMaker) {
	b := mk.open(t, t.TempDir(), 1<<20)
	defer b.Close()
	for i := 0; i < 5; i++ {
		x := batchOf(i, 10)
		b.Put(&x)
	}
	if got, _ := b.Oldest(10, 1); len(got) != 1 {
		t.Fatalf("a byte bound below one batch still gives one batch, got %d", len(got))
	}
	if got, _ := b.Oldest(2, 1<<20); len(got) != 2 {
		t.Fatalf("count bound: %d", len(got))
	}
	empty := mk.open(t, t.TempDir(), 1<<20)
	defer empty.Close()
	if got, err := empty.Oldest(10, 1<<20); err != nil || len(got) != 0 {
		t.Fatalf("empty buffer: %v %v", got, err)
	}
}

func testTooLarge(t *testing.T, mk bufferMaker) {
	b := mk.open(t, t.TempDir(), 64<<10)
	defer b.Close()
	x := batchOf(0, 2000)
	if err := b.Put(&x); err == nil {
		t.Fatal("a batch over a quarter of the bound must be refused")
	}
	if st := b.Stats(); st.Batches != 0 {
		t.Fatalf("refused batch stored: %+v", st)
	}
}

func testReopen(t *testing.T, mk bufferMaker) {
	dir := t.TempDir()
	one := batchOf(0, 20)
	size := int64(len(mustJSON(t, one))) + 20
	b := mk.open(t, dir, 10*size)
	var ids []string
	for i := 0; i < 30; i++ {
		x := batchOf(i, 20)
		b.Put(&x)
		ids = append(ids, x.ID)
	}
	first, _ := b.Oldest(1, 1<<20)
	b.Ack([]uint64{first[0].Seq})
	before := b.Stats()
	wantRest, _ := b.Oldest(1000, 1<<30)
	b.Close()
	b = mk.open(t, dir, 10*size)
	defer b.Close()
	if after := b.Stats(); after != before {
		t.Fatalf("stats after reopen %+v, before %+v", after, before)
	}
	rest, _ := b.Oldest(1000, 1<<30)
	if fmt.Sprint(ids2(rest)) != fmt.Sprint(ids2(wantRest)) {
		t.Fatalf("batches after reopen %v, want %v", ids2(rest), ids2(wantRest))
	}
	// New batches continue the sequence: their ids never repeat old ones.
	x := batchOf(30, 1)
	b.Put(&x)
	for _, id := range ids {
		if id == x.ID {
			t.Fatalf("id %s reused after reopen", id)
		}
	}
}

func ids2(bs []Batch) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}
