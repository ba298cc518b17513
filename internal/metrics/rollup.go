package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Rollups: each tier is a TSDB of its own where every raw series becomes,
// per window of the tier's resolution, one sample of each aggregate, a
// series with the raw labels plus __rollup__:
//
//	min, max, avg, count  the raw samples of the window (counters: no avg)
//	counter               counters only: the running total at the window's
//	                      last sample, which resets do not bring down
//
// Every aggregate is stamped with the time of the window's last raw
// sample, so that a window is seen by the same evaluations as its samples.
//
// The running total is the raw value plus an offset that grows by the
// value before each reset, as rate() counts a reset: the increase between
// two windows is the raw increase between their last samples, and with
// one sample per window rate() extrapolates over rollups as over raw data.
// A chunk of windows takes the offset over from the tier's counter sample
// at the raw sample just before it (offset = total - raw value there), so
// neither a restart nor the next pass needs more state than the tiers.
const (
	rollupLabel = "__rollup__"

	// rollupMargin covers appenders that checked a sample against the
	// window above and have not committed it yet.
	rollupMargin = 5 * time.Minute
	// rollChunk is the span of raw time one querier reads. A tier accepts
	// samples in order only down to half its block range below its newest
	// one, so every series of a chunk can be written before the next chunk.
	rollChunk = 6 * time.Hour
	tierBlock = 24 * time.Hour
	// counterLookback is how far before a chunk the previous raw sample of
	// a counter and its running total are looked for. A counter silent for
	// longer starts a new total at its raw value: rate() over rollups sees
	// a reset there when resets had raised the total before.
	counterLookback = 15 * time.Minute
	// rollBatch is how many series are committed at once, which bounds
	// the memory of a pass however many series there are.
	rollBatch = 1000

	watermarkFile = "rollup-watermark"
)

// aggregate is one of the series a raw series becomes in a tier.
type aggregate int

const (
	aggMin aggregate = iota
	aggMax
	aggAvg
	aggCount
	aggCounter
	numAggregates
)

var aggregateNames = [numAggregates]string{"min", "max", "avg", "count", "counter"}

// tier is one rollup resolution with its database and watermark.
type tier struct {
	res Resolution
	dir string
	db  *tsdb.DB
	// watermark is the end (exclusive, Unix ms) of the windows rolled so
	// far; math.MinInt64 until the first pass.
	watermark atomic.Int64
}

func openTier(dir string, res Resolution, retention time.Duration, logger *slog.Logger) (*tier, error) {
	to := tsdb.DefaultOptions()
	to.RetentionDuration = retention.Milliseconds()
	// A tier holds few samples per series and day: day-long blocks keep
	// its chunks full, and compaction merges them up to a tenth of the
	// retention (at most 31 days), as Prometheus sizes its own blocks.
	to.MinBlockDuration = tierBlock.Milliseconds()
	to.MaxBlockDuration = min(max(retention/10, tierBlock), 31*24*time.Hour).Milliseconds()
	db, err := tsdb.Open(dir, logger.With("rollup", res.String()), nil, to, nil)
	if err != nil {
		return nil, fmt.Errorf("opening the %s rollups: %w", res, err)
	}
	t := &tier{res: res, dir: dir, db: db}
	wm, err := readWatermark(dir)
	if err != nil {
		db.Close()
		return nil, err
	}
	t.watermark.Store(wm)
	return t, nil
}

// readWatermark reads a tier's watermark. Without the file, rolling starts
// over from the oldest raw data: the windows a tier already has are then
// refused as duplicates, so nothing is lost or written twice.
func readWatermark(dir string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, watermarkFile))
	if errors.Is(err, os.ErrNotExist) {
		return math.MinInt64, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the rollup watermark: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("reading the rollup watermark %s: %w", filepath.Join(dir, watermarkFile), err)
	}
	return t.UnixMilli(), nil
}

// setWatermark persists the watermark (write, sync, rename: a crash leaves
// the old one or the new one) before it is used.
func (t *tier) setWatermark(ms int64) error {
	path := filepath.Join(t.dir, watermarkFile)
	f, err := os.CreateTemp(t.dir, watermarkFile+".*")
	if err != nil {
		return fmt.Errorf("writing the rollup watermark: %w", err)
	}
	_, err = fmt.Fprintln(f, time.UnixMilli(ms).UTC().Format(time.RFC3339Nano))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing the rollup watermark: %w", err)
	}
	t.watermark.Store(ms)
	return nil
}

// rollupStats are the job's own metrics.
type rollupStats struct {
	samples    *prometheus.CounterVec
	watermarks *prometheus.GaugeVec
}

func newRollupStats() rollupStats {
	return rollupStats{
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_rollup_samples_total", Help: "Samples written to the rollup tiers.",
		}, []string{"resolution"}),
		watermarks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigie_rollup_watermark_timestamp_seconds", Help: "End of the raw data rolled up into each tier.",
		}, []string{"resolution"}),
	}
}

func (s rollupStats) watermark(t *tier) {
	if wm := t.watermark.Load(); wm != math.MinInt64 {
		s.watermarks.WithLabelValues(t.res.String()).Set(float64(wm) / 1000)
	}
}

// Run rolls complete windows up now and every minute until ctx is done.
// A failed pass is logged and tried again at the next tick.
func (d *DB) Run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		// While the disk is full, rollups would fail the same way: they
		// wait for the room that ingestion waits for.
		if !d.Health().OK {
			d.opts.Logger.Debug("rollups wait: time-series ingestion is stopped")
		} else if err := d.Rollup(ctx); err != nil && ctx.Err() == nil {
			d.opts.Logger.Warn("rolling up time series", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

var errClosed = errors.New("the time-series database is closed")

// Rollup turns every window of raw data that can no longer change and is
// not rolled up yet into rollup samples, tier by tier. Run calls it;
// tests and benchmarks call it directly.
func (d *DB) Rollup(ctx context.Context) error {
	d.rollMu.Lock()
	defer d.rollMu.Unlock()
	if d.closed {
		return errClosed
	}
	cutoff, ok := d.rollCutoff()
	if !ok {
		return nil
	}
	for _, t := range d.tiers {
		if err := d.rollTier(ctx, t, cutoff); err != nil {
			return fmt.Errorf("rolling up %s windows: %w", t.res, err)
		}
	}
	return nil
}

// rollCutoff is the time before which raw data is final: the raw database
// refuses samples more than OutOfOrderWindow older than its newest one
// (Open), and its newest one is never ahead of the clock for this purpose.
func (d *DB) rollCutoff() (int64, bool) {
	maxT := d.db.Head().MaxTime()
	for _, b := range d.db.Blocks() {
		maxT = max(maxT, b.Meta().MaxTime)
	}
	if maxT == math.MinInt64 {
		return 0, false // no raw data yet
	}
	ref := min(d.opts.Now().UnixMilli(), maxT)
	return ref - (d.opts.OutOfOrderWindow + rollupMargin).Milliseconds(), true
}

func (d *DB) rollTier(ctx context.Context, t *tier, cutoff int64) error {
	res := time.Duration(t.res).Milliseconds()
	end := alignDown(cutoff, res)
	start, err := d.db.StartTime()
	if err != nil {
		return err
	}
	if start == math.MaxInt64 {
		return nil
	}
	// Windows before the oldest raw data have nothing left to roll.
	from := max(t.watermark.Load(), alignDown(start, res))
	for from < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		to := min(from+rollChunk.Milliseconds(), end)
		if err := d.rollRange(ctx, t, from, to); err != nil {
			return err
		}
		if err := t.setWatermark(to); err != nil {
			return err
		}
		d.stats.watermark(t)
		from = to
	}
	return nil
}

// rollRange rolls the windows of [from, to) of every raw series into t,
// streaming the series from one querier and committing them in batches.
func (d *DB) rollRange(ctx context.Context, t *tier, from, to int64) error {
	mint := from - counterLookback.Milliseconds()
	q, err := d.db.Querier(mint, to-1)
	if err != nil {
		return fmt.Errorf("reading raw data: %w", err)
	}
	defer q.Close()
	set := q.Select(ctx, false, &storage.SelectHints{Start: mint, End: to - 1},
		labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	totals, err := runningTotals(ctx, t, from)
	if err != nil {
		return err
	}
	w := &tierWriter{tier: t, app: t.db.Appender(ctx)}
	defer func() { w.app.Rollback() }()
	var it chunkenc.Iterator
	res := time.Duration(t.res).Milliseconds()
	for n := 1; set.Next(); n++ {
		s := set.At()
		w.series(s.Labels())
		it = s.Iterator(it)
		counter := IsCounter(s.Labels().Get(labels.MetricName))
		var total *rawSample
		if last, ok := totals[s.Labels().Hash()]; ok && counter {
			total = &last
		}
		if err := rollSeries(it, from, res, counter, total, w.add); err != nil {
			return err
		}
		if n%rollBatch == 0 {
			if err := w.commit(ctx); err != nil {
				return err
			}
		}
	}
	if err := set.Err(); err != nil {
		return fmt.Errorf("reading raw data: %w", err)
	}
	if err := w.commit(ctx); err != nil {
		return err
	}
	d.stats.samples.WithLabelValues(t.res.String()).Add(float64(w.written))
	if w.refused > 0 {
		// Only after a crash between a commit and its watermark.
		d.opts.Logger.Info("rollup samples already present, skipped", "resolution", t.res.String(),
			"samples", w.refused, "from", time.UnixMilli(from).UTC(), "to", time.UnixMilli(to).UTC())
	}
	return nil
}

// runningTotals reads the last counter aggregate of every series in the
// lookback before from, by hash of the raw labels.
func runningTotals(ctx context.Context, t *tier, from int64) (map[uint64]rawSample, error) {
	mint := from - counterLookback.Milliseconds()
	q, err := t.db.Querier(mint, from-1)
	if err != nil {
		return nil, fmt.Errorf("reading %s running totals: %w", t.res, err)
	}
	defer q.Close()
	set := q.Select(ctx, false, &storage.SelectHints{Start: mint, End: from - 1},
		labels.MustNewMatcher(labels.MatchEqual, rollupLabel, aggregateNames[aggCounter]))
	out := map[uint64]rawSample{}
	var it chunkenc.Iterator
	for set.Next() {
		s := set.At()
		it = s.Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			out[labels.NewBuilder(s.Labels()).Del(rollupLabel).Labels().Hash()] = rawSample{ts, v}
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("reading %s running totals: %w", t.res, err)
		}
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("reading %s running totals: %w", t.res, err)
	}
	return out, nil
}

func alignDown(t, res int64) int64 {
	r := t % res
	if r < 0 {
		r += res
	}
	return t - r
}

// window accumulates the raw samples of one series in one window.
type window struct {
	start         int64
	n             int
	min, max, sum float64
	lastT         int64
	// total is a counter's running total at the last sample.
	total float64
}

type rawSample struct {
	t int64
	v float64
}

// rollSeries aggregates the samples of it at or after from into windows of
// res milliseconds and emits each window's aggregates. Samples before from
// are the lookback: the raw sample there, with a counter's running total
// at the same time (total, nil when none), sets the offset to go on with.
func rollSeries(it chunkenc.Iterator, from, res int64, counter bool, total *rawSample, emit func(a aggregate, t int64, v float64) error) error {
	var w window
	var prev rawSample
	havePrev, started := false, false
	// offset is what resets took off the raw values since the total began.
	offset := 0.0
	flush := func() error {
		if w.n == 0 {
			return nil
		}
		err := errors.Join(emit(aggMin, w.lastT, w.min), emit(aggMax, w.lastT, w.max), emit(aggCount, w.lastT, float64(w.n)))
		if counter {
			return errors.Join(err, emit(aggCounter, w.lastT, w.total))
		}
		return errors.Join(err, emit(aggAvg, w.lastT, w.sum/float64(w.n)))
	}
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		if vt != chunkenc.ValFloat {
			continue // vigie writes no histograms
		}
		t, v := it.At()
		if math.IsNaN(v) {
			continue // staleness markers and NaN have no value to aggregate
		}
		if t < from {
			prev, havePrev = rawSample{t, v}, true
			continue
		}
		if counter {
			if !started && havePrev && total != nil && total.t == prev.t {
				offset = total.v - prev.v
			}
			// As rate() reads a drop: the counter restarted from zero.
			if havePrev && v < prev.v {
				offset += prev.v
			}
		}
		started = true
		if ws := alignDown(t, res); w.n == 0 || ws != w.start {
			if err := flush(); err != nil {
				return err
			}
			w = window{start: ws, min: v, max: v}
		}
		w.n++
		w.min, w.max, w.sum = min(w.min, v), max(w.max, v), w.sum+v
		w.lastT, w.total = t, v+offset
		prev, havePrev = rawSample{t, v}, true
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("reading raw samples: %w", err)
	}
	return flush()
}

// tierWriter appends the aggregates of one series after another to a
// tier, reusing each aggregate's series reference.
type tierWriter struct {
	tier    *tier
	app     storage.Appender
	base    labels.Labels
	lsets   [numAggregates]labels.Labels
	refs    [numAggregates]storage.SeriesRef
	written int
	refused int
}

func (w *tierWriter) series(base labels.Labels) {
	w.base = base
	w.lsets = [numAggregates]labels.Labels{}
	w.refs = [numAggregates]storage.SeriesRef{}
}

func (w *tierWriter) add(a aggregate, t int64, v float64) error {
	if w.lsets[a].IsEmpty() {
		w.lsets[a] = labels.NewBuilder(w.base).Set(rollupLabel, aggregateNames[a]).Labels()
	}
	ref, err := w.app.Append(w.refs[a], w.lsets[a], t, v)
	switch {
	case err == nil:
		w.written++
	case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrDuplicateSampleForTimestamp),
		errors.Is(err, storage.ErrOutOfBounds):
		// Rolled already: the pass before a crash wrote it and the
		// watermark did not follow.
		w.refused++
	default:
		return fmt.Errorf("writing %s: %w", w.lsets[a], err)
	}
	if ref != 0 {
		w.refs[a] = ref
	}
	return nil
}

func (w *tierWriter) commit(ctx context.Context) error {
	if err := w.app.Commit(); err != nil {
		return fmt.Errorf("committing %s rollups: %w", w.tier.res, err)
	}
	w.app = w.tier.db.Appender(ctx)
	return ctx.Err()
}
