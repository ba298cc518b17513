// Package metrics keeps every number vigie collects (perfdata of checks and
// plugins, later SNMP counters and agent metrics) in an embedded
// time-series database, the Prometheus TSDB (WAL, compressed chunks,
// compaction), and answers PromQL over it.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
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
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// DB is the embedded time-series database with its PromQL engine.
type DB struct {
	db     *tsdb.DB
	engine *promql.Engine
	opts   Options
}

// Open opens (creating if needed) the database in dir.
func Open(dir string, opts Options) (*DB, error) {
	if opts.Retention <= 0 {
		opts.Retention = 15 * 24 * time.Hour
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
	// after an outage): accept samples up to an hour old.
	to.OutOfOrderTimeWindow = time.Hour.Milliseconds()
	db, err := tsdb.Open(dir, opts.Logger, opts.Registerer, to, nil)
	if err != nil {
		return nil, fmt.Errorf("opening the time-series database: %w", err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               opts.Logger,
		Reg:                  opts.Registerer,
		MaxSamples:           opts.MaxQuerySamples,
		Timeout:              opts.QueryTimeout,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
	return &DB{db: db, engine: engine, opts: opts}, nil
}

// Close flushes and closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Append writes samples in one commit. Samples with no name, a NaN time or
// a label set that the TSDB refuses are skipped and counted in the error;
// the rest are written.
func (d *DB) Append(ctx context.Context, samples []Sample) error {
	app := d.db.Appender(ctx)
	var errs []error
	for _, s := range samples {
		ls := labels.FromMap(s.Labels)
		if ls.Get(labels.MetricName) == "" {
			errs = append(errs, fmt.Errorf("sample without %s", labels.MetricName))
			continue
		}
		if _, err := app.Append(0, ls, s.T.UnixMilli(), s.V); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ls.String(), err))
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("committing samples: %w", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d samples refused, first: %w", len(errs), len(samples), errs[0])
	}
	return nil
}

// Queryable is the storage the PromQL engine reads.
func (d *DB) Queryable() storage.Queryable { return d.db }

// ErrBadQuery wraps errors of the query itself (syntax, types, limits), as
// opposed to failures of the database.
var ErrBadQuery = errors.New("bad query")

// Query evaluates an instant query.
func (d *DB) Query(ctx context.Context, q string, t time.Time) (parser.Value, error) {
	qry, err := d.engine.NewInstantQuery(ctx, d.db, nil, q, t)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	defer qry.Close()
	return result(qry.Exec(ctx))
}

// QueryRange evaluates a range query.
func (d *DB) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (parser.Value, error) {
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
	qry, err := d.engine.NewRangeQuery(ctx, d.db, nil, q, start, end, step)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	defer qry.Close()
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
// between start and end.
func (d *DB) Series(ctx context.Context, selectors []string, start, end time.Time) ([]map[string]string, error) {
	q, err := d.db.Querier(start.UnixMilli(), end.UnixMilli())
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

// LabelNames lists label names; LabelValues the values of one.
func (d *DB) LabelNames(ctx context.Context, start, end time.Time) ([]string, error) {
	q, err := d.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	names, _, err := q.LabelNames(ctx, nil)
	sort.Strings(names)
	return names, err
}

// LabelValues lists the values of a label.
func (d *DB) LabelValues(ctx context.Context, name string, start, end time.Time) ([]string, error) {
	q, err := d.db.Querier(start.UnixMilli(), end.UnixMilli())
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

// Compact persists the head into blocks now, as the database does by itself
// every two hours (for benchmarks and tests).
func (d *DB) Compact(ctx context.Context) error { return d.db.Compact(ctx) }

// BlockStats returns how many samples the persisted blocks hold and their
// size on disk.
func (d *DB) BlockStats() (samples uint64, bytes int64) {
	for _, b := range d.db.Blocks() {
		samples += b.Meta().Stats.NumSamples
		bytes += b.Size()
	}
	return samples, bytes
}
