// Package metrics keeps every number vigie collects (perfdata of checks and
// plugins, later SNMP counters and agent metrics) in an embedded
// time-series database, the Prometheus TSDB (WAL, compressed chunks,
// compaction), and answers PromQL over it. Raw data is also rolled up into
// 5-minute and 1-hour tiers kept much longer (rollup.go), which queries over
// long ranges read by themselves (tiers.go).
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// Sample is one value of one series at one time.
type Sample struct {
	Labels map[string]string
	T      time.Time
	V      float64
}

// Options configure the database.
type Options struct {
	// Retention drops blocks older than this (default 15 days).
	Retention time.Duration
	// RetentionBytes, when positive, drops the oldest blocks once the
	// database is larger.
	RetentionBytes int64
	// MaxQuerySamples bounds what one query may load (default 50 million).
	MaxQuerySamples int
	// QueryTimeout bounds one query (default 30 s).
	QueryTimeout time.Duration
	// PrecisionBits, between 1 and 52, rounds the values of gauges to that
	// many significant bits before storing them (16 bits keep 4.8
	// significant digits and halve the disk a noisy gauge takes); 0 or 64
	// keeps them exact. Counters are always exact.
	PrecisionBits int
	// MinFreeBytes stops ingestion while the file system of the store has
	// less free space than this (0: never; Append then stops only when a
	// write fails for lack of space).
	MinFreeBytes int64
	// Rollup5mRetention and Rollup1hRetention keep the 5-minute and 1-hour
	// rollup tiers (defaults one year and five years).
	Rollup5mRetention time.Duration
	Rollup1hRetention time.Duration
	// OutOfOrderWindow is how much older than the newest sample a sample
	// may be and still be stored (default one hour): what an agent
	// replays after an outage must fit in it. The rollups wait for it to
	// pass before a window is final, so a longer one delays them (queries
	// read raw data past the rollups' watermark meanwhile).
	OutOfOrderWindow time.Duration
	// Now is the clock the rollup job reads (default time.Now).
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// DB is the embedded time-series database with its PromQL engine and its
// rollup tiers.
type DB struct {
	db     *tsdb.DB
	dir    string
	engine *promql.Engine
	opts   Options
	wraps  unwrapper
	guard  *guard
	usage  struct {
		mu    sync.Mutex
		at    time.Time
		bytes int64
	}
	// tiers from the finest to the coarsest.
	tiers []*tier
	stats rollupStats
	// rollMu serialises rollup passes and Close, so that the tiers are
	// never closed under a pass.
	rollMu sync.Mutex
	closed bool
}

// Open opens (creating if needed) the database in dir, and its rollup
// tiers in the sibling directories dir-5m and dir-1h.
func Open(dir string, opts Options) (*DB, error) {
	if opts.Retention <= 0 {
		opts.Retention = 15 * 24 * time.Hour
	}
	if opts.Rollup5mRetention <= 0 {
		opts.Rollup5mRetention = 365 * 24 * time.Hour
	}
	if opts.Rollup1hRetention <= 0 {
		opts.Rollup1hRetention = 5 * 365 * 24 * time.Hour
	}
	if opts.OutOfOrderWindow <= 0 {
		opts.OutOfOrderWindow = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxQuerySamples <= 0 {
		opts.MaxQuerySamples = 50_000_000
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	to := tsdb.DefaultOptions()
	to.RetentionDuration = opts.Retention.Milliseconds()
	to.MaxBytes = opts.RetentionBytes
	// Results arrive late (a batch written every 100 ms, agents replaying
	// after an outage): accept samples up to OutOfOrderWindow old.
	to.OutOfOrderTimeWindow = opts.OutOfOrderWindow.Milliseconds()
	db, err := tsdb.Open(dir, opts.Logger, opts.Registerer, to, nil)
	if err != nil {
		return nil, fmt.Errorf("opening the time-series database: %w", err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               opts.Logger,
		Reg:                  opts.Registerer,
		MaxSamples:           opts.MaxQuerySamples,
		Timeout:              opts.QueryTimeout,
		LookbackDelta:        baseLookback,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		// Subqueries without a step (x[1h:]) need an interval; Prometheus'
		// default evaluation interval is one minute.
		NoStepSubqueryIntervalFn: func(int64) int64 { return subqueryStep.Milliseconds() },
	})
	d := &DB{db: db, dir: dir, engine: engine, opts: opts, wraps: unwrapper{series: map[string]*counterState{}},
		guard: newGuard(dir, opts.MinFreeBytes, opts.Logger), stats: newRollupStats()}
	if opts.Registerer != nil {
		for _, c := range append(d.collectors(), d.stats.samples, d.stats.watermarks) {
			if err := opts.Registerer.Register(c); err != nil {
				db.Close()
				return nil, fmt.Errorf("registering the time-series store's metrics: %w", err)
			}
		}
	}
	for _, t := range []struct {
		res       Resolution
		retention time.Duration
	}{{FiveMinutes, opts.Rollup5mRetention}, {OneHour, opts.Rollup1hRetention}} {
		tr, err := openTier(dir+"-"+t.res.String(), t.res, t.retention, opts.Logger)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.tiers = append(d.tiers, tr)
		d.stats.watermark(tr)
	}
	return d, nil
}

// Close waits for a rollup pass in progress, then flushes and closes the
// database and its tiers.
func (d *DB) Close() error {
	d.rollMu.Lock()
	defer d.rollMu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	errs := []error{d.db.Close()}
	for _, t := range d.tiers {
		errs = append(errs, t.db.Close())
	}
	return errors.Join(errs...)
}

// Append writes samples in one commit. Samples with no name, a NaN time or
// a label set that the TSDB refuses are skipped and reported by a
// *RefusedError; the rest are written. While the disk is full, nothing is
// written and the error wraps ErrIngestionStopped.
func (d *DB) Append(ctx context.Context, samples []Sample) error {
	if len(samples) == 0 {
		return nil
	}
	if err := d.guard.admit(len(samples)); err != nil {
		return err
	}
	app := d.db.Appender(ctx)
	var refused []Refusal
	invalid := 0
	for i, s := range samples {
		ls := labels.FromMap(s.Labels)
		if ls.Get(labels.MetricName) == "" {
			refused = append(refused, Refusal{Index: i, Err: fmt.Errorf("sample without %s", labels.MetricName)})
			invalid++
			continue
		}
		v := s.V
		if d.opts.PrecisionBits > 0 && !IsCounter(ls.Get(labels.MetricName)) {
			v = roundMantissa(v, d.opts.PrecisionBits)
		}
		if _, err := app.Append(0, ls, s.T.UnixMilli(), v); err != nil {
			refused = append(refused, Refusal{Index: i, Err: fmt.Errorf("%s: %w", ls.String(), err)})
		}
	}
	if err := app.Commit(); err != nil {
		d.guard.failed(err, len(samples))
		return fmt.Errorf("committing samples: %w", err)
	}
	d.guard.appended.Add(float64(len(samples) - len(refused)))
	if invalid > 0 {
		d.guard.refused.WithLabelValues("invalid").Add(float64(invalid))
	}
	if n := len(refused) - invalid; n > 0 {
		d.guard.refused.WithLabelValues("rejected").Add(float64(n))
	}
	if len(refused) > 0 {
		return &RefusedError{Total: len(samples), Refused: refused}
	}
	return nil
}

// RefusedError is Append's answer when some samples were not stored (out
// of order, too old, a second value for one time, no name); the others
// were written.
type RefusedError struct {
	Total   int
	Refused []Refusal
}

// Refusal is one refused sample: its index in Append's argument and why.
type Refusal struct {
	Index int
	Err   error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%d of %d samples refused, first: %v", len(e.Refused), e.Total, e.Refused[0].Err)
}

func (e *RefusedError) Unwrap() error { return e.Refused[0].Err }

// Reason names why a sample was refused, for counters: out_of_order,
// too_old, duplicate (another value at the same time) or invalid.
func (r Refusal) Reason() string {
	switch {
	case errors.Is(r.Err, storage.ErrOutOfOrderSample):
		return "out_of_order"
	case errors.Is(r.Err, storage.ErrOutOfBounds), errors.Is(r.Err, storage.ErrTooOldSample):
		return "too_old"
	case errors.Is(r.Err, storage.ErrDuplicateSampleForTimestamp):
		return "duplicate"
	}
	return "invalid"
}

// Accepted returns the samples that were stored, in order.
func (e *RefusedError) Accepted(samples []Sample) []Sample {
	out := make([]Sample, 0, len(samples)-len(e.Refused))
	next := 0
	for i, s := range samples {
		if next < len(e.Refused) && e.Refused[next].Index == i {
			next++
			continue
		}
		out = append(out, s)
	}
	return out
}

// Queryable is the raw data alone, without the rollups.
func (d *DB) Queryable() storage.Queryable { return d.db }

// ErrBadQuery wraps errors of the query itself (syntax, types, limits), as
// opposed to failures of the database.
var ErrBadQuery = errors.New("bad query")

// Query evaluates an instant query, on the resolution ResolutionFor picks.
func (d *DB) Query(ctx context.Context, q string, t time.Time) (parser.Value, error) {
	res, err := d.ResolutionFor(q, 0)
	if err != nil {
		return nil, err
	}
	return d.QueryAt(ctx, res, q, t)
}

// QueryAt evaluates an instant query on the given resolution (with the
// finer ones after its watermark, the coarser ones before its oldest data).
func (d *DB) QueryAt(ctx context.Context, res Resolution, q string, t time.Time) (parser.Value, error) {
	qa, lookback, err := d.plan(res, q, t, t, 0)
	if err != nil {
		return nil, err
	}
	qry, err := d.engine.NewInstantQuery(ctx, qa, promql.NewPrometheusQueryOpts(false, lookback), q, t)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	// Not closed: Close hands the result's points back to a pool for the
	// next query while the caller still reads them.
	return result(qry.Exec(ctx))
}

// QueryRange evaluates a range query, on the resolution ResolutionFor
// picks.
func (d *DB) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (parser.Value, error) {
	if step <= 0 {
		return nil, fmt.Errorf("%w: step must be positive", ErrBadQuery)
	}
	res, err := d.ResolutionFor(q, step)
	if err != nil {
		return nil, err
	}
	return d.QueryRangeAt(ctx, res, q, start, end, step)
}

// QueryRangeAt evaluates a range query on the given resolution, as
// QueryAt does.
func (d *DB) QueryRangeAt(ctx context.Context, res Resolution, q string, start, end time.Time, step time.Duration) (parser.Value, error) {
	if step <= 0 {
		return nil, fmt.Errorf("%w: step must be positive", ErrBadQuery)
	}
	if end.Before(start) {
		return nil, fmt.Errorf("%w: end is before start", ErrBadQuery)
	}
	// Prometheus' own bound: at most 11,000 points per series.
	if end.Sub(start)/step > 11000 {
		return nil, fmt.Errorf("%w: more than 11,000 points per series; raise the step", ErrBadQuery)
	}
	qa, lookback, err := d.plan(res, q, start, end, step)
	if err != nil {
		return nil, err
	}
	qry, err := d.engine.NewRangeQuery(ctx, qa, promql.NewPrometheusQueryOpts(false, lookback), q, start, end, step)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	// Not closed, as in QueryAt.
	return result(qry.Exec(ctx))
}

func result(r *promql.Result) (parser.Value, error) {
	if r.Err != nil {
		var perr promql.ErrQueryCanceled
		if errors.As(r.Err, &perr) {
			return nil, r.Err
		}
		return nil, fmt.Errorf("%w: %v", ErrBadQuery, r.Err)
	}
	return r.Value, nil
}

// Series lists the label sets of the series matching any of the selectors
// between start and end, in raw data or in the rollups (hosts gone for
// longer than the raw retention).
func (d *DB) Series(ctx context.Context, selectors []string, start, end time.Time) ([]map[string]string, error) {
	q, err := d.everywhere().Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	seen := map[string]bool{}
	out := []map[string]string{}
	for _, sel := range selectors {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadQuery, err)
		}
		set := q.Select(ctx, false, &storage.SelectHints{Start: start.UnixMilli(), End: end.UnixMilli(), Func: "series"}, ms...)
		for set.Next() {
			ls := set.At().Labels()
			if k := ls.String(); !seen[k] {
				seen[k] = true
				out = append(out, ls.Map())
			}
		}
		if err := set.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LabelNames lists label names, in raw data and rollups alike.
func (d *DB) LabelNames(ctx context.Context, start, end time.Time) ([]string, error) {
	q, err := d.everywhere().Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	names, _, err := q.LabelNames(ctx, nil)
	sort.Strings(names)
	return names, err
}

// LabelValues lists the values of a label, in raw data and rollups alike.
func (d *DB) LabelValues(ctx context.Context, name string, start, end time.Time) ([]string, error) {
	q, err := d.everywhere().Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	vals, _, err := q.LabelValues(ctx, name, nil)
	sort.Strings(vals)
	return vals, err
}

// Inf and NaN are written by Prometheus' API as strings.
func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return fmt.Sprintf("%g", v)
}

// Compact persists the heads of the database and its tiers into blocks
// now, as they do by themselves in time (for benchmarks and tests).
func (d *DB) Compact(ctx context.Context) error {
	if err := d.db.Compact(ctx); err != nil {
		return err
	}
	for _, t := range d.tiers {
		if err := t.db.Compact(ctx); err != nil {
			return fmt.Errorf("compacting the %s rollups: %w", t.res, err)
		}
	}
	return nil
}

// BlockStats returns how many samples the persisted blocks hold and their
// size on disk.
func (d *DB) BlockStats() (samples uint64, bytes int64) {
	for _, b := range d.db.Blocks() {
		samples += b.Meta().Stats.NumSamples
		bytes += b.Size()
	}
	return samples, bytes
}
