package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/golang/snappy"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// The queue is a directory of append-only segment files (00000001.seg,
// 00000002.seg…) and a cursor file.
//
// A record is a 12-byte header then its payload:
//
//	length  uint32  payload bytes
//	count   uint32  samples in the payload
//	crc     uint32  CRC-32C of length, count and payload
//	payload         snappy-compressed protobuf prompb.WriteRequest
//
// Concatenated protobuf messages merge, repeated fields appending, so a
// batch is the decompressed payloads of consecutive records concatenated:
// the sender never decodes the protobuf.
//
// The cursor file holds the position (segment, offset) of the first record
// not yet delivered, with a CRC. It is rewritten (temporary file, rename)
// after every delivered batch; segments before it are deleted.
//
// Durability: a record is written with one write(2) when enqueued, so a
// crash of vigie itself loses nothing. Segments, the cursor and the
// directory are fsync'd every sync interval (1 s by default) and on close:
// a power loss can lose the last interval's records (a torn last record is
// detected by its length or CRC and skipped, counted, never fatal) and can
// bring back an older cursor, in which case up to an interval of batches is
// sent twice (receivers ignore a sample sent twice with the same time and
// value). An unreadable cursor restarts from the oldest segment.
//
// Writing always starts a new segment when the queue opens, so a torn tail
// is never written after.

const (
	headerLen        = 12
	maxRecordPayload = 64 << 20
	segSuffix        = ".seg"
	cursorFile       = "cursor"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type position struct {
	seq uint64
	off int64
}

func (p position) less(o position) bool {
	return p.seq < o.seq || p.seq == o.seq && p.off < o.off
}

type segment struct {
	seq uint64
	// size is the end of the last whole record; samples the samples of
	// its records; read the samples already read into batches.
	size    int64
	samples int64
	read    int64
}

// queueOptions configure a queue.
type queueOptions struct {
	MaxBytes     int64
	SegmentBytes int64
	Logger       *slog.Logger
	// Dropped is told of samples lost (reason queue_full or corrupt) and
	// Corrupt of every corrupt record skipped.
	Dropped func(reason string, samples int64)
	Corrupt func()
	// Changed is called (under the queue's lock) with the bytes on disk
	// and the samples waiting, after every change.
	Changed func(bytes, samples int64)
}

// queue is a bounded, durable FIFO of samples.
type queue struct {
	dir  string
	opts queueOptions

	mu      sync.Mutex
	segs    []*segment // oldest first; the last is written
	head    *os.File
	rf      *os.File // reading handle, of segment rfSeq
	rfSeq   uint64
	cur     position // first record not delivered (persisted)
	readPos position // first record not read into a batch
	pending int64    // samples not delivered
	bytes   int64    // bytes of every segment
	dirty   bool     // head written since the last sync
	curDir  bool     // cursor or directory changed since the last sync
	closed  bool
	notify  chan struct{}
}

// openQueue opens (creating) the queue in dir, scanning what a previous run
// left: segments before the cursor are deleted, a torn record at the end of
// a segment is counted and skipped.
func openQueue(dir string, opts queueOptions) (*queue, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = min(16<<20, max(opts.MaxBytes/8, 64<<10))
	}
	if opts.Dropped == nil {
		opts.Dropped = func(string, int64) {}
	}
	if opts.Corrupt == nil {
		opts.Corrupt = func() {}
	}
	if opts.Changed == nil {
		opts.Changed = func(int64, int64) {}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the queue directory: %w", err)
	}
	q := &queue{dir: dir, opts: opts, notify: make(chan struct{}, 1)}
	seqs, err := q.listSegments()
	if err != nil {
		return nil, err
	}
	cur, err := q.readCursor()
	if err != nil {
		opts.Logger.Warn("remote-write queue cursor unreadable; resending from the oldest segment", "dir", dir, "err", err)
	}
	for _, seq := range seqs {
		if seq < cur.seq {
			if err := os.Remove(q.segPath(seq)); err != nil {
				return nil, fmt.Errorf("removing a delivered segment: %w", err)
			}
			continue
		}
		s, err := q.scan(seq)
		if err != nil {
			return nil, err
		}
		q.segs = append(q.segs, s)
		q.bytes += s.size
	}
	if len(q.segs) == 0 || cur.seq < q.segs[0].seq {
		cur = position{}
		if len(q.segs) > 0 {
			cur.seq = q.segs[0].seq
		}
	}
	if len(q.segs) > 0 {
		first := q.segs[0]
		if cur.off > first.size {
			cur.off = first.size
		}
		before, err := q.samplesBefore(first, cur.off)
		if err != nil {
			return nil, err
		}
		first.read = before
	}
	for _, s := range q.segs {
		q.pending += s.samples - s.read
	}
	q.cur, q.readPos = cur, cur
	next := uint64(1)
	if n := len(q.segs); n > 0 {
		next = q.segs[n-1].seq + 1
	}
	if err := q.newHead(next); err != nil {
		return nil, err
	}
	if q.cur.seq == 0 {
		q.cur = position{seq: next}
		q.readPos = q.cur
	}
	q.changed()
	return q, nil
}

func (q *queue) segPath(seq uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%08d%s", seq, segSuffix))
}

func (q *queue) listSegments() ([]uint64, error) {
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("reading the queue directory: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil || seq == 0 {
			continue
		}
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

// scan reads a segment's record headers to find where its whole records
// end and how many samples they hold. CRCs are checked when the records
// are read for sending.
func (q *queue) scan(seq uint64) (*segment, error) {
	f, err := os.Open(q.segPath(seq))
	if err != nil {
		return nil, fmt.Errorf("opening a queue segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	s := &segment{seq: seq}
	var h [headerLen]byte
	for {
		if _, err := f.ReadAt(h[:], s.size); err != nil {
			if !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("reading a queue segment: %w", err)
			}
			break
		}
		n, count := int64(binary.LittleEndian.Uint32(h[0:])), int64(binary.LittleEndian.Uint32(h[4:]))
		if n == 0 || n > maxRecordPayload || count == 0 || s.size+headerLen+n > st.Size() {
			break
		}
		s.size += headerLen + n
		s.samples += count
	}
	if s.size < st.Size() {
		q.opts.Corrupt()
		q.opts.Logger.Warn("remote-write queue: skipping a torn or corrupt record at the end of a segment (left by a crash)",
			"segment", q.segPath(seq), "bytes", st.Size()-s.size)
	}
	return s, nil
}

// samplesBefore counts the samples of a segment's records before off.
func (q *queue) samplesBefore(s *segment, off int64) (int64, error) {
	f, err := os.Open(q.segPath(s.seq))
	if err != nil {
		return 0, fmt.Errorf("opening a queue segment: %w", err)
	}
	defer f.Close()
	var n, at int64
	var h [headerLen]byte
	for at < off {
		if _, err := f.ReadAt(h[:], at); err != nil {
			return 0, fmt.Errorf("reading a queue segment: %w", err)
		}
		at += headerLen + int64(binary.LittleEndian.Uint32(h[0:]))
		n += int64(binary.LittleEndian.Uint32(h[4:]))
	}
	return n, nil
}

// newHead closes the segment being written and starts segment seq. On
// failure there is no head; enqueue tries again.
func (q *queue) newHead(seq uint64) error {
	if q.head != nil {
		if err := q.head.Sync(); err != nil {
			q.opts.Logger.Error("remote-write queue: syncing a segment", "dir", q.dir, "err", err)
		}
		q.head.Close()
		q.head = nil
	}
	f, err := os.OpenFile(q.segPath(seq), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("creating a queue segment: %w", err)
	}
	q.head = f
	q.segs = append(q.segs, &segment{seq: seq})
	q.curDir = true
	return nil
}

// enqueue appends samples as records of at most perRecord samples.
func (q *queue) enqueue(samples []metrics.Sample, perRecord int) error {
	if len(samples) == 0 {
		return nil
	}
	var recs [][]byte
	for len(samples) > 0 {
		n := min(len(samples), perRecord)
		pb, err := encodeSamples(samples[:n]).Marshal()
		if err != nil {
			return fmt.Errorf("encoding samples: %w", err)
		}
		payload := snappy.Encode(nil, pb)
		if len(payload) > maxRecordPayload {
			return fmt.Errorf("a record of %d samples is over %d bytes", n, maxRecordPayload)
		}
		rec := make([]byte, headerLen+len(payload))
		binary.LittleEndian.PutUint32(rec[0:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(rec[4:], uint32(n))
		copy(rec[headerLen:], payload)
		crc := crc32.Update(crc32.Checksum(rec[0:8], castagnoli), castagnoli, payload)
		binary.LittleEndian.PutUint32(rec[8:], crc)
		recs = append(recs, rec)
		samples = samples[n:]
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errors.New("the queue is closed")
	}
	for _, rec := range recs {
		head := q.segs[len(q.segs)-1]
		if q.head == nil || head.size > 0 && head.size+int64(len(rec)) > q.opts.SegmentBytes {
			if err := q.newHead(head.seq + 1); err != nil {
				return err
			}
			head = q.segs[len(q.segs)-1]
		}
		if _, err := q.head.Write(rec); err != nil {
			// A short write leaves a torn record: start a new segment so
			// that nothing is written after it.
			q.newHead(head.seq + 1)
			return fmt.Errorf("writing to the queue: %w", err)
		}
		count := int64(binary.LittleEndian.Uint32(rec[4:]))
		head.size += int64(len(rec))
		head.samples += count
		q.pending += count
		q.bytes += int64(len(rec))
		q.dirty = true
		q.enforceLimit()
	}
	q.changed()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return nil
}

// enforceLimit drops the oldest segments while the queue is over its
// bound: never silently (a counter and a WARN line each).
func (q *queue) enforceLimit() {
	for q.bytes > q.opts.MaxBytes {
		if len(q.segs) == 1 {
			if err := q.newHead(q.segs[0].seq + 1); err != nil {
				q.opts.Logger.Error("remote-write queue: starting a segment", "dir", q.dir, "err", err)
				return
			}
		}
		old := q.segs[0]
		lost := old.samples - old.read
		q.segs = q.segs[1:]
		q.bytes -= old.size
		q.pending -= lost
		next := position{seq: q.segs[0].seq}
		if q.cur.less(next) {
			q.cur = next
		}
		if q.readPos.less(next) {
			q.readPos = next
		}
		if err := os.Remove(q.segPath(old.seq)); err != nil {
			q.opts.Logger.Error("remote-write queue: removing the oldest segment", "dir", q.dir, "err", err)
		}
		q.writeCursor()
		q.opts.Dropped("queue_full", lost)
		q.opts.Logger.Warn("remote-write queue full: dropped its oldest segment", "dir", q.dir,
			"samples", lost, "bytes", old.size, "queue_max_bytes", q.opts.MaxBytes)
	}
}

// batch is what the sender delivers in one request.
type batch struct {
	raw     []byte // concatenated protobuf WriteRequests
	samples int64
	end     position
}

// next reads the records from the read position, up to max samples (at
// least one record), or returns nil when there are none. Corrupt records
// are skipped with the rest of their segment, counted.
func (q *queue) next(max int64) (*batch, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := &batch{end: q.readPos}
	for b.samples < max {
		i := q.segIndex(b.end.seq)
		if i < 0 {
			if len(q.segs) == 0 {
				break
			}
			b.end = position{seq: q.segs[0].seq}
			continue
		}
		s := q.segs[i]
		if b.end.off >= s.size {
			if i == len(q.segs)-1 {
				break
			}
			b.end = position{seq: q.segs[i+1].seq}
			continue
		}
		payload, count, err := q.readRecord(s, b.end.off)
		if err != nil {
			q.skipCorrupt(i, err)
			b.end = position{seq: q.segs[i+1].seq}
			continue
		}
		if b.samples > 0 && b.samples+count > max {
			break
		}
		raw, err := snappy.Decode(nil, payload)
		if err != nil {
			q.skipCorrupt(i, err)
			b.end = position{seq: q.segs[i+1].seq}
			continue
		}
		b.raw = append(b.raw, raw...)
		b.samples += count
		s.read += count
		b.end.off += headerLen + int64(len(payload))
	}
	if b.end == q.readPos {
		return nil, nil
	}
	q.readPos = b.end
	return b, nil
}

func (q *queue) segIndex(seq uint64) int {
	for i, s := range q.segs {
		if s.seq == seq {
			return i
		}
	}
	return -1
}

// readRecord reads and checks the record at off.
func (q *queue) readRecord(s *segment, off int64) ([]byte, int64, error) {
	if q.rf == nil || q.rfSeq != s.seq {
		if q.rf != nil {
			q.rf.Close()
			q.rf = nil
		}
		f, err := os.Open(q.segPath(s.seq))
		if err != nil {
			return nil, 0, err
		}
		q.rf, q.rfSeq = f, s.seq
	}
	var h [headerLen]byte
	if _, err := q.rf.ReadAt(h[:], off); err != nil {
		return nil, 0, fmt.Errorf("reading a record header: %w", err)
	}
	n, count := binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[4:])
	if n == 0 || n > maxRecordPayload || off+headerLen+int64(n) > s.size || count == 0 {
		return nil, 0, fmt.Errorf("record header out of bounds (length %d, samples %d)", n, count)
	}
	payload := make([]byte, n)
	if _, err := q.rf.ReadAt(payload, off+headerLen); err != nil {
		return nil, 0, fmt.Errorf("reading a record: %w", err)
	}
	if crc := crc32.Update(crc32.Checksum(h[0:8], castagnoli), castagnoli, payload); crc != binary.LittleEndian.Uint32(h[8:]) {
		return nil, 0, errors.New("checksum mismatch")
	}
	return payload, int64(count), nil
}

// skipCorrupt gives up the rest of segment i: its framing is no longer to
// be trusted. A corrupt head is closed first so that writing goes on in a
// new segment.
func (q *queue) skipCorrupt(i int, cause error) {
	s := q.segs[i]
	if i == len(q.segs)-1 {
		if err := q.newHead(s.seq + 1); err != nil {
			q.opts.Logger.Error("remote-write queue: starting a segment", "dir", q.dir, "err", err)
		}
	}
	lost := s.samples - s.read
	s.read = s.samples
	q.pending -= lost
	q.opts.Corrupt()
	q.opts.Dropped("corrupt", lost)
	q.opts.Logger.Warn("remote-write queue: corrupt record, skipping the rest of its segment",
		"segment", q.segPath(s.seq), "err", cause, "samples", lost)
	q.changed()
}

// commit records a batch as delivered (or given up): the cursor moves to
// its end and segments before it are deleted.
func (q *queue) commit(b *batch) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending -= b.samples
	if q.cur.less(b.end) {
		q.cur = b.end
		for len(q.segs) > 1 && q.segs[0].seq < q.cur.seq {
			old := q.segs[0]
			q.segs = q.segs[1:]
			q.bytes -= old.size
			if q.rf != nil && q.rfSeq == old.seq {
				q.rf.Close()
				q.rf = nil
			}
			if err := os.Remove(q.segPath(old.seq)); err != nil {
				q.opts.Logger.Error("remote-write queue: removing a delivered segment", "dir", q.dir, "err", err)
			}
		}
		q.writeCursor()
	}
	q.changed()
}

func (q *queue) changed() { q.opts.Changed(q.bytes, q.pending) }

// stats returns the bytes on disk and the samples waiting.
func (q *queue) stats() (bytes, samples int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes, q.pending
}

// writeCursor replaces the cursor file (fsync'd by sync).
func (q *queue) writeCursor() {
	var b [20]byte
	binary.LittleEndian.PutUint64(b[0:], q.cur.seq)
	binary.LittleEndian.PutUint64(b[8:], uint64(q.cur.off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	tmp := filepath.Join(q.dir, cursorFile+".tmp")
	if err := os.WriteFile(tmp, b[:], 0o640); err == nil {
		err = os.Rename(tmp, filepath.Join(q.dir, cursorFile))
		if err != nil {
			q.opts.Logger.Error("remote-write queue: saving the cursor", "dir", q.dir, "err", err)
		}
	} else {
		q.opts.Logger.Error("remote-write queue: saving the cursor", "dir", q.dir, "err", err)
	}
	q.curDir = true
}

func (q *queue) readCursor() (position, error) {
	b, err := os.ReadFile(filepath.Join(q.dir, cursorFile))
	if errors.Is(err, os.ErrNotExist) {
		return position{}, nil
	}
	if err != nil {
		return position{}, err
	}
	if len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return position{}, errors.New("cursor file of the wrong size or checksum")
	}
	return position{seq: binary.LittleEndian.Uint64(b[0:]), off: int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}

// sync makes what was written durable: the head segment, the cursor and
// the directory.
func (q *queue) sync() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.syncLocked()
}

func (q *queue) syncLocked() error {
	var errs []error
	if q.dirty && q.head != nil {
		errs = append(errs, q.head.Sync())
		q.dirty = false
	}
	if q.curDir {
		if f, err := os.Open(filepath.Join(q.dir, cursorFile)); err == nil {
			errs = append(errs, f.Sync())
			f.Close()
		}
		if d, err := os.Open(q.dir); err == nil {
			errs = append(errs, d.Sync())
			d.Close()
		}
		q.curDir = false
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("syncing the remote-write queue: %w", err)
	}
	return nil
}

// close syncs and closes the files; enqueue fails afterwards.
func (q *queue) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	err := q.syncLocked()
	if q.head != nil {
		q.head.Close()
	}
	if q.rf != nil {
		q.rf.Close()
	}
	return err
}
