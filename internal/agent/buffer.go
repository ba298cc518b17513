package agent

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// Buffer keeps batches between collection and the server's acknowledgement.
// Batches leave it only through Ack (the server stored them) or through
// the size bound, which thins the oldest data and counts what it dropped.
type Buffer interface {
	// Put stores a batch, setting its Seq and ID. A batch larger than a
	// quarter of the bound is refused.
	Put(b *Batch) error
	// Oldest returns up to n of the oldest batches, oldest first, whose
	// encoded sizes add up to at most maxBytes (at least one batch).
	Oldest(n int, maxBytes int64) ([]Batch, error)
	// Ack deletes stored batches by sequence number; unknown ones (thinned
	// meanwhile) are ignored.
	Ack(seqs []uint64) error
	Stats() BufferStats
	Close() error
}

// BufferStats describe the buffer; the Dropped counters only grow, over the
// buffer's whole life (the disk buffer keeps them across restarts).
type BufferStats struct {
	Batches        int
	Bytes          int64
	DroppedBatches uint64
	DroppedSamples uint64
}

// ErrBatchTooLarge is Put's answer for a batch over a quarter of the bound.
var ErrBatchTooLarge = errors.New("batch larger than a quarter of the buffer")

var (
	_ Buffer = (*MemoryBuffer)(nil)
	_ Buffer = (*DiskBuffer)(nil)
)

// entry is one stored batch as the size policy sees it.
type entry struct {
	seq     uint64
	size    int64
	samples int
}

// thinning chooses what to drop when the buffer is over its bound: every
// other batch of the oldest half, so old data becomes coarser (10 s, then
// 20 s, then 40 s apart) rather than a hole, and counters keep working
// (rate() over fewer points). When one batch is left it goes.
func thinning(entries []entry, bytes, bound int64) (drop []entry) {
	for bytes > bound && len(entries) > 0 {
		half := len(entries) / 2
		if half < 2 {
			drop = append(drop, entries[0])
			bytes -= entries[0].size
			entries = entries[1:]
			continue
		}
		kept := entries[:0:0]
		for i := 0; i < half; i++ {
			if i%2 == 1 && bytes > bound {
				drop = append(drop, entries[i])
				bytes -= entries[i].size
				continue
			}
			kept = append(kept, entries[i])
		}
		entries = append(kept, entries[half:]...)
	}
	return drop
}

func newEpoch() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func batchID(epoch string, seq uint64) string { return fmt.Sprintf("%s-%d", epoch, seq) }

// MemoryBuffer keeps batches in memory: they are lost when the agent stops.
type MemoryBuffer struct {
	mu      sync.Mutex
	max     int64
	epoch   string
	next    uint64
	entries []entry
	data    map[uint64][]byte
	bytes   int64
	dropped [2]uint64
}

// NewMemoryBuffer returns an empty buffer bounded to maxBytes of encoded
// batches.
func NewMemoryBuffer(maxBytes int64) *MemoryBuffer {
	return &MemoryBuffer{max: maxBytes, epoch: newEpoch(), next: 1, data: map[uint64][]byte{}}
}

func (m *MemoryBuffer) Put(b *Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b.Seq = m.next
	b.ID = batchID(m.epoch, b.Seq)
	enc, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("encoding a batch: %w", err)
	}
	if int64(len(enc)) > m.max/4 {
		return fmt.Errorf("%w (%d bytes, bound %d)", ErrBatchTooLarge, len(enc), m.max)
	}
	m.next++
	e := entry{seq: b.Seq, size: int64(len(enc)), samples: len(b.Samples)}
	m.entries = append(m.entries, e)
	m.data[e.seq] = enc
	m.bytes += e.size
	for _, d := range thinning(m.entries, m.bytes, m.max) {
		m.remove(d.seq)
		m.dropped[0]++
		m.dropped[1] += uint64(d.samples)
	}
	return nil
}

func (m *MemoryBuffer) remove(seq uint64) bool {
	for i, e := range m.entries {
		if e.seq == seq {
			m.entries = append(m.entries[:i], m.entries[i+1:]...)
			m.bytes -= e.size
			delete(m.data, seq)
			return true
		}
	}
	return false
}

func (m *MemoryBuffer) Oldest(n int, maxBytes int64) ([]Batch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Batch
	var size int64
	for _, e := range m.entries {
		if len(out) >= n || (len(out) > 0 && size+e.size > maxBytes) {
			break
		}
		var b Batch
		if err := json.Unmarshal(m.data[e.seq], &b); err != nil {
			return nil, fmt.Errorf("decoding batch %d: %w", e.seq, err)
		}
		out = append(out, b)
		size += e.size
	}
	return out, nil
}

func (m *MemoryBuffer) Ack(seqs []uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range seqs {
		m.remove(s)
	}
	return nil
}

func (m *MemoryBuffer) Stats() BufferStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return BufferStats{Batches: len(m.entries), Bytes: m.bytes, DroppedBatches: m.dropped[0], DroppedSamples: m.dropped[1]}
}

func (m *MemoryBuffer) Close() error { return nil }
