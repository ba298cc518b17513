package agent

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketBatches = []byte("batches")
	bucketMeta    = []byte("meta")
	keyEpoch      = []byte("epoch")
	keyDropped    = []byte("dropped")
)

// DiskBuffer keeps batches in a bbolt file, one key per batch (its
// sequence number, big-endian so keys sort in order). Every Put and Ack is
// a committed, fsynced transaction: a batch the agent took survives a
// crash or kill -9 of the agent, and one the server acknowledged is gone.
type DiskBuffer struct {
	mu      sync.Mutex
	db      *bolt.DB
	max     int64
	epoch   string
	entries []entry // in memory, for the size policy without scanning
	bytes   int64
	dropped [2]uint64
}

// OpenDiskBuffer opens (creating) the buffer in dir, bounded to maxBytes of
// encoded batches (the file itself may be somewhat larger: bbolt reuses
// freed pages rather than shrinking).
func OpenDiskBuffer(dir string, maxBytes int64) (*DiskBuffer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the buffer dir: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "buffer.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening the buffer (is another agent using %s?): %w", dir, err)
	}
	d := &DiskBuffer{db: db, max: maxBytes}
	err = db.Update(func(tx *bolt.Tx) error {
		bb, err := tx.CreateBucketIfNotExists(bucketBatches)
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		// The epoch makes batch ids unique across a wiped buffer: a new
		// buffer restarts its sequence, and the server must not take its
		// batches for replays of the old one's.
		if e := meta.Get(keyEpoch); e != nil {
			d.epoch = string(e)
		} else {
			d.epoch = newEpoch()
			if err := meta.Put(keyEpoch, []byte(d.epoch)); err != nil {
				return err
			}
		}
		if v := meta.Get(keyDropped); len(v) == 16 {
			d.dropped[0], d.dropped[1] = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
		}
		return bb.ForEach(func(k, v []byte) error {
			var b struct {
				Samples []json.RawMessage `json:"samples"`
			}
			json.Unmarshal(v, &b)
			e := entry{seq: binary.BigEndian.Uint64(k), size: int64(len(v)), samples: len(b.Samples)}
			d.entries = append(d.entries, e)
			d.bytes += e.size
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("reading the buffer: %w", err)
	}
	return d, nil
}

func seqKey(s uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], s)
	return k[:]
}

func (d *DiskBuffer) Put(b *Batch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var e entry
	var drop []entry
	err := d.db.Update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBatches)
		seq, err := bb.NextSequence()
		if err != nil {
			return err
		}
		b.Seq, b.ID = seq, batchID(d.epoch, seq)
		enc, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("encoding a batch: %w", err)
		}
		if int64(len(enc)) > d.max/4 {
			return fmt.Errorf("%w (%d bytes, bound %d)", ErrBatchTooLarge, len(enc), d.max)
		}
		if err := bb.Put(seqKey(seq), enc); err != nil {
			return err
		}
		e = entry{seq: seq, size: int64(len(enc)), samples: len(b.Samples)}
		drop = thinning(append(d.entries[:len(d.entries):len(d.entries)], e), d.bytes+e.size, d.max)
		if len(drop) == 0 {
			return nil
		}
		// Thinning happens in the same transaction as the Put: the
		// counters and the data never disagree after a crash.
		dropped := d.dropped
		for _, x := range drop {
			if err := bb.Delete(seqKey(x.seq)); err != nil {
				return err
			}
			dropped[0]++
			dropped[1] += uint64(x.samples)
		}
		v := make([]byte, 16)
		binary.BigEndian.PutUint64(v, dropped[0])
		binary.BigEndian.PutUint64(v[8:], dropped[1])
		return tx.Bucket(bucketMeta).Put(keyDropped, v)
	})
	if err != nil {
		return err
	}
	d.entries = append(d.entries, e)
	d.bytes += e.size
	for _, x := range drop {
		d.forget(x.seq)
		d.dropped[0]++
		d.dropped[1] += uint64(x.samples)
	}
	return nil
}

func (d *DiskBuffer) forget(seq uint64) {
	for i, e := range d.entries {
		if e.seq == seq {
			d.entries = append(d.entries[:i], d.entries[i+1:]...)
			d.bytes -= e.size
			return
		}
	}
}

func (d *DiskBuffer) Oldest(n int, maxBytes int64) ([]Batch, error) {
	var out []Batch
	err := d.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketBatches).Cursor()
		var size int64
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			if len(out) > 0 && size+int64(len(v)) > maxBytes {
				break
			}
			var b Batch
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("decoding batch %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, b)
			size += int64(len(v))
		}
		return nil
	})
	return out, err
}

func (d *DiskBuffer) Ack(seqs []uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.db.Update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBatches)
		for _, s := range seqs {
			if err := bb.Delete(seqKey(s)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting acknowledged batches: %w", err)
	}
	for _, s := range seqs {
		d.forget(s)
	}
	return nil
}

func (d *DiskBuffer) Stats() BufferStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return BufferStats{Batches: len(d.entries), Bytes: d.bytes, DroppedBatches: d.dropped[0], DroppedSamples: d.dropped[1]}
}

func (d *DiskBuffer) Close() error { return d.db.Close() }
