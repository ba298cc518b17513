package metrics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/annotations"
)

// Resolution is how fine stored data is: Raw, or a rollup tier's window.
type Resolution time.Duration

// The resolutions vigie keeps.
const (
	Raw         Resolution = 0
	FiveMinutes            = Resolution(5 * time.Minute)
	OneHour                = Resolution(time.Hour)
)

// String names a resolution as the X-Vigie-Resolution header and the tier
// directories do: raw, 5m, 1h.
func (r Resolution) String() string {
	d := time.Duration(r)
	switch {
	case r == Raw:
		return "raw"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

const (
	// baseLookback is Prometheus' default lookback delta, the one raw data
	// gets; a tier adds its resolution to it, so that a window's sample
	// covers the whole next window.
	baseLookback = 5 * time.Minute
	// subqueryStep is the step of subqueries that give none.
	subqueryStep = time.Minute
)

// ResolutionFor is the resolution a query reads (step 0 for an instant
// query): the coarsest tier whose windows are no longer than the step,
// than half of the shortest range in the query, and than the step of
// every subquery; Raw when none is, or when an instant query asks for a
// plain value.
func (d *DB) ResolutionFor(q string, step time.Duration) (Resolution, error) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return Raw, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	return d.resolutionOf(expr, step), nil
}

func (d *DB) resolutionOf(expr parser.Expr, step time.Duration) Resolution {
	budget := time.Duration(math.MaxInt64)
	if step > 0 {
		budget = step
	}
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.MatrixSelector:
			budget = min(budget, n.Range/2)
		case *parser.SubqueryExpr:
			s := n.Step
			if s == 0 {
				s = subqueryStep
			}
			budget = min(budget, s)
		case *parser.VectorSelector:
			if step == 0 && !slices.ContainsFunc(path, ranged) {
				budget = 0
			}
		}
		return nil
	})
	res := Raw
	for _, t := range d.tiers {
		if time.Duration(t.res) <= budget {
			res = t.res
		}
	}
	return res
}

func ranged(n parser.Node) bool {
	switch n.(type) {
	case *parser.MatrixSelector, *parser.SubqueryExpr:
		return true
	}
	return false
}

// source is a database serving the times [lo, hi).
type source struct {
	db     *tsdb.DB
	res    Resolution
	lo, hi int64
}

// sources split time between the databases for a query at res: res's
// tier up to its watermark, the finer ones after it (so recent data is
// always there), the coarser ones before its oldest data (so data older
// than a tier's retention is still answered, more coarsely).
func (d *DB) sources(res Resolution) ([]source, error) {
	dbs := []source{{db: d.db, res: Raw}}
	for _, t := range d.tiers {
		dbs = append(dbs, source{db: t.db, res: t.res})
	}
	c := slices.IndexFunc(dbs, func(s source) bool { return s.res == res })
	if c < 0 {
		return nil, fmt.Errorf("%w: no %s resolution", ErrBadQuery, res)
	}
	watermark := func(i int) int64 {
		if i == 0 {
			return math.MaxInt64
		}
		return d.tiers[i-1].watermark.Load()
	}
	oldest := func(i int) (int64, error) {
		if i == len(dbs)-1 {
			return math.MinInt64, nil
		}
		st, err := dbs[i].db.StartTime() // math.MaxInt64 when empty
		if i == 0 {
			// Late samples (an agent's backlog) sit in the out-of-order
			// head, which StartTime does not count: raw data answers for
			// the whole window, even in a store younger than it.
			st = min(st, d.opts.Now().Add(-d.opts.OutOfOrderWindow).UnixMilli())
		}
		return st, err
	}
	var out []source
	add := func(i int, lo, hi int64) {
		if lo < hi {
			s := dbs[i]
			s.lo, s.hi = lo, hi
			out = append(out, s)
		}
	}
	cursor := int64(math.MaxInt64) // what is left to serve is before it
	for i := 0; i < c; i++ {
		lo := watermark(i + 1)
		add(i, lo, cursor)
		cursor = min(cursor, lo)
	}
	for j := c; j < len(dbs); j++ {
		lo, err := oldest(j)
		if err != nil {
			return nil, err
		}
		hi := cursor
		if j > c {
			hi = min(hi, watermark(j))
		}
		add(j, lo, hi)
		cursor = min(cursor, lo)
	}
	return out, nil
}

// plan is the storage and lookback delta of a query at res.
func (d *DB) plan(res Resolution, q string, start, end time.Time, step time.Duration) (storage.Queryable, time.Duration, error) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	srcs, err := d.sources(res)
	if err != nil {
		return nil, 0, err
	}
	// The lookback must span the windows of the coarsest source the query
	// reads, which depends on how far back the lookback reaches.
	lookback := baseLookback
	for {
		mint, maxt := promql.FindMinMaxTime(&parser.EvalStmt{Expr: expr, Start: start, End: end, Interval: step, LookbackDelta: lookback})
		coarsest := Raw
		for _, s := range srcs {
			if s.lo <= maxt && s.hi > mint {
				coarsest = max(coarsest, s.res)
			}
		}
		want := baseLookback + time.Duration(coarsest)
		if want <= lookback {
			return tiered(srcs), lookback, nil
		}
		lookback = want
	}
}

// everywhere is every database over all time, for listing series and
// labels.
func (d *DB) everywhere() tiered {
	srcs := []source{{db: d.db, res: Raw, lo: math.MinInt64, hi: math.MaxInt64}}
	for _, t := range d.tiers {
		srcs = append(srcs, source{db: t.db, res: t.res, lo: math.MinInt64, hi: math.MaxInt64})
	}
	return srcs
}

// tiered reads its sources as one storage, a series present in several
// of them being one series.
type tiered []source

func (srcs tiered) Querier(mint, maxt int64) (storage.Querier, error) {
	var qs []storage.Querier
	for _, s := range srcs {
		lo, hi := max(mint, s.lo), min(maxt, s.hi-1)
		if lo > hi {
			continue
		}
		q, err := s.db.Querier(lo, hi)
		if err != nil {
			for _, q := range qs {
				q.Close()
			}
			return nil, err
		}
		if s.res != Raw {
			q = rollupQuerier{q}
		}
		qs = append(qs, clamped{q, lo, hi})
	}
	return storage.NewMergeQuerier(qs, nil, storage.ChainedSeriesMerge), nil
}

// clamped keeps a querier to its source's times: the TSDB reads the times
// of the select hints rather than its own bounds.
type clamped struct {
	storage.Querier
	lo, hi int64
}

func (c clamped) Select(ctx context.Context, sortSeries bool, h *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	hc := storage.SelectHints{Start: c.lo, End: c.hi}
	if h != nil {
		hc = *h
		hc.Start, hc.End = max(h.Start, c.lo), min(h.End, c.hi)
	}
	if hc.Start > hc.End {
		return storage.EmptySeriesSet()
	}
	return c.Querier.Select(ctx, sortSeries, &hc, ms...)
}

// rollupQuerier reads a tier as if it held raw series: one aggregate per
// series, chosen for the function that reads it, without __rollup__.
// Selectors that name __rollup__ get the tier's series as stored.
type rollupQuerier struct {
	storage.Querier
}

func (q rollupQuerier) Select(ctx context.Context, sortSeries bool, h *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	for _, m := range ms {
		if m.Name == rollupLabel {
			return q.Querier.Select(ctx, sortSeries, h, ms...)
		}
	}
	gauge, counter := aggregatesFor(h)
	want := labels.MustNewMatcher(labels.MatchRegexp, rollupLabel, aggregateNames[gauge]+"|"+aggregateNames[counter])
	// Each name is a counter or not, so one aggregate per name is read:
	// without __rollup__ the series stay sorted.
	return &rollupSet{
		SeriesSet: q.Querier.Select(ctx, sortSeries, h, append(slices.Clip(ms), want)...),
		gauge:     aggregateNames[gauge],
		counter:   aggregateNames[counter],
	}
}

// aggregatesFor picks the aggregate of gauges and of counters that stands
// for raw samples under a function.
func aggregatesFor(h *storage.SelectHints) (gauge, counter aggregate) {
	if h != nil {
		switch h.Func {
		case "max_over_time":
			return aggMax, aggMax
		case "min_over_time":
			return aggMin, aggMin
		}
	}
	return aggAvg, aggCounter
}

func (q rollupQuerier) LabelNames(ctx context.Context, h *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	names, ann, err := q.Querier.LabelNames(ctx, h, ms...)
	return slices.DeleteFunc(names, func(n string) bool { return n == rollupLabel }), ann, err
}

func (q rollupQuerier) LabelValues(ctx context.Context, name string, h *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if name == rollupLabel {
		return nil, nil, nil
	}
	return q.Querier.LabelValues(ctx, name, h, ms...)
}

type rollupSet struct {
	storage.SeriesSet
	gauge, counter string
	cur            storage.Series
}

func (s *rollupSet) Next() bool {
	for s.SeriesSet.Next() {
		series := s.SeriesSet.At()
		ls := series.Labels()
		want := s.gauge
		if IsCounter(ls.Get(labels.MetricName)) {
			want = s.counter
		}
		if ls.Get(rollupLabel) == want {
			s.cur = rollupSeries{series, labels.NewBuilder(ls).Del(rollupLabel).Labels()}
			return true
		}
	}
	return false
}

func (s *rollupSet) At() storage.Series { return s.cur }

type rollupSeries struct {
	storage.Series
	lset labels.Labels
}

func (s rollupSeries) Labels() labels.Labels { return s.lset }
