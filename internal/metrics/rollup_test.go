package metrics

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// testSeries is what a test writes, kept to compute what the rollups must
// hold.
type testSeries struct {
	labels  map[string]string
	samples []rawSample
}

const testInterval = time.Minute

// testStart is a midnight in the past; samples fall 17 s past each minute,
// so that no sample sits on a window's edge.
func testStart() time.Time {
	return time.Now().UTC().Add(-20 * 24 * time.Hour).Truncate(24 * time.Hour)
}

func sampleTimes(from, to time.Time) []int64 {
	var ts []int64
	for at := from.Add(17 * time.Second); at.Before(to); at = at.Add(testInterval) {
		ts = append(ts, at.UnixMilli())
	}
	return ts
}

// gaugeSeries is a load average: a daily wave with noise.
func gaugeSeries(host string, from, to time.Time) testSeries {
	rng := rand.New(rand.NewPCG(uint64(len(host)), 7))
	s := testSeries{labels: series("load", "host", host)}
	for _, t := range sampleTimes(from, to) {
		day := float64(t%86_400_000) / 86_400_000
		s.samples = append(s.samples, rawSample{t, 2 + math.Sin(2*math.Pi*day) + rng.Float64()})
	}
	return s
}

// counterSeries grows by 10 a second and restarts from zero right after
// the sample before each of resets (the counter of a restarted process).
func counterSeries(host string, from, to time.Time, resets ...time.Time) testSeries {
	s := testSeries{labels: series("bytes_total", "host", host)}
	v := 1e6
	for _, t := range sampleTimes(from, to) {
		v += 10 * testInterval.Seconds()
		for _, r := range resets {
			if t > r.UnixMilli()-testInterval.Milliseconds() && t <= r.UnixMilli() {
				v = 10 * testInterval.Seconds()
			}
		}
		s.samples = append(s.samples, rawSample{t, v})
	}
	return s
}

// write appends every sample in time order, as checks deliver them.
func write(t *testing.T, d *DB, all ...testSeries) {
	t.Helper()
	var samples []Sample
	for _, s := range all {
		for _, rs := range s.samples {
			samples = append(samples, Sample{Labels: s.labels, T: time.UnixMilli(rs.t), V: rs.v})
		}
	}
	slices.SortStableFunc(samples, func(a, b Sample) int { return a.T.Compare(b.T) })
	for len(samples) > 0 {
		n := min(len(samples), 5000)
		if err := d.Append(ctx, samples[:n]); err != nil {
			t.Fatal(err)
		}
		samples = samples[n:]
	}
}

// clockAfter is a clock hours after the data: the raw data's own newest
// sample then sets the rollup cut-off.
func clockAfter(end time.Time) func() time.Time {
	return func() time.Time { return end.Add(3 * time.Hour) }
}

func openAt(t *testing.T, dir string, opts Options) *DB {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	d, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func rollup(t *testing.T, d *DB) {
	t.Helper()
	if err := d.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
}

func (d *DB) tier(res Resolution) *tier {
	for _, t := range d.tiers {
		if t.res == res {
			return t
		}
	}
	panic("no tier " + res.String())
}

// stored reads a tier's samples as stored, per aggregate.
func stored(t *testing.T, db *tsdb.DB, ms ...*labels.Matcher) map[string][]rawSample {
	t.Helper()
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	out := map[string][]rawSample{}
	set := q.Select(ctx, false, nil, ms...)
	var it chunkenc.Iterator
	for set.Next() {
		s := set.At()
		it = s.Iterator(it)
		agg := s.Labels().Get(rollupLabel)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			out[agg] = append(out[agg], rawSample{ts, v})
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedWindow is a window computed here from the raw samples.
type expectedWindow struct {
	lastT              int64
	min, max, avg, cnt float64
}

func expectedWindows(samples []rawSample, res Resolution, before int64) []expectedWindow {
	r := time.Duration(res).Milliseconds()
	var out []expectedWindow
	var sum float64
	for i, s := range samples {
		if s.t >= before {
			break
		}
		if i == 0 || s.t/r != samples[i-1].t/r {
			out = append(out, expectedWindow{min: s.v, max: s.v})
			sum = 0
		}
		w := &out[len(out)-1]
		w.lastT, w.min, w.max, w.cnt = s.t, min(w.min, s.v), max(w.max, s.v), w.cnt+1
		sum += s.v
		w.avg = sum / w.cnt
	}
	return out
}

func eq(a, b string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, a, b) }

func TestRollupAggregates(t *testing.T) {
	t0 := testStart()
	end := t0.Add(3 * 24 * time.Hour)
	// Resets in the middle of a window and right on the edge of a 5-minute
	// and an hour window.
	resets := []time.Time{t0.Add(31*time.Hour + 23*time.Minute + 17*time.Second), t0.Add(56*time.Hour + 17*time.Second)}
	load, bytes := gaugeSeries("a", t0, end), counterSeries("a", t0, end, resets...)
	d := openAt(t, t.TempDir(), Options{Now: clockAfter(end)})
	write(t, d, load, bytes)
	rollup(t, d)

	lastSample := bytes.samples[len(bytes.samples)-1].t
	cutoff := lastSample - (time.Hour + rollupMargin).Milliseconds()
	for _, res := range []Resolution{FiveMinutes, OneHour} {
		t.Run(res.String(), func(t *testing.T) {
			tr := d.tier(res)
			wm := tr.watermark.Load()
			if want := alignDown(cutoff, time.Duration(res).Milliseconds()); wm != want {
				t.Fatalf("watermark %v, want %v", time.UnixMilli(wm).UTC(), time.UnixMilli(want).UTC())
			}
			if b, err := os.ReadFile(filepath.Join(tr.dir, watermarkFile)); err != nil || !strings.HasPrefix(string(b), time.UnixMilli(wm).UTC().Format("2006-01-02T15:04")) {
				t.Fatalf("watermark file %q %v", b, err)
			}

			// Gauge: every aggregate of every window, against the raw samples.
			got := stored(t, tr.db, eq("__name__", "load"))
			want := expectedWindows(load.samples, res, wm)
			if len(want) < 30 {
				t.Fatalf("only %d windows to check", len(want))
			}
			for agg, pick := range map[string]func(expectedWindow) float64{
				"min": func(w expectedWindow) float64 { return w.min }, "max": func(w expectedWindow) float64 { return w.max },
				"avg": func(w expectedWindow) float64 { return w.avg }, "count": func(w expectedWindow) float64 { return w.cnt },
			} {
				if len(got[agg]) != len(want) {
					t.Fatalf("%s: %d windows, want %d", agg, len(got[agg]), len(want))
				}
				for i, w := range want {
					if g := got[agg][i]; g.t != w.lastT || math.Abs(g.v-pick(w)) > 1e-9 {
						t.Fatalf("%s window %d: %v at %v, want %v at %v", agg, i, g.v, time.UnixMilli(g.t).UTC(), pick(w), time.UnixMilli(w.lastT).UTC())
					}
				}
			}
			if len(got) != 4 {
				t.Errorf("gauge aggregates %v, want min, max, avg, count", slices.Collect(maps.Keys(got)))
			}

			// Counter: no avg, and one running total per window that grows
			// by the raw increase, as rate() counts it, resets included.
			got = stored(t, tr.db, eq("__name__", "bytes_total"))
			windows := expectedWindows(bytes.samples, res, wm)
			if _, ok := got["avg"]; ok || len(got["count"]) != len(windows) || len(got["counter"]) != len(windows) {
				t.Fatalf("counter aggregates: avg %v, %d counts and %d totals for %d windows", got["avg"] != nil, len(got["count"]), len(got["counter"]), len(windows))
			}
			total, i := bytes.samples[0].v, 0
			for k, w := range windows {
				for ; bytes.samples[i].t < w.lastT; i++ {
					if next := bytes.samples[i+1].v; next >= bytes.samples[i].v {
						total += next - bytes.samples[i].v
					} else {
						total += next
					}
				}
				if g := got["counter"][k]; g.t != w.lastT || math.Abs(g.v-total) > 1e-6 {
					t.Fatalf("running total %d: %v at %v, want %v at %v", k, g.v, time.UnixMilli(g.t).UTC(), total, time.UnixMilli(w.lastT).UTC())
				}
			}
			if last := bytes.samples[i].v; total <= last {
				t.Fatalf("running total %v, raw %v: the resets were not counted", total, last)
			}
		})
	}
}

// matrix runs a range query at a forced resolution.
func matrix(t *testing.T, d *DB, res Resolution, q string, start, end time.Time, step time.Duration) promql.Matrix {
	t.Helper()
	v, err := d.QueryRangeAt(ctx, res, q, start, end, step)
	if err != nil {
		t.Fatalf("%s at %s: %v", q, res, err)
	}
	return v.(promql.Matrix)
}

// sameMatrix compares two one-series answers point by point.
func sameMatrix(t *testing.T, what string, got, want promql.Matrix, tolerance float64) {
	t.Helper()
	if len(got) != 1 || len(want) != 1 {
		t.Fatalf("%s: %d and %d series", what, len(got), len(want))
	}
	g, w := got[0].Floats, want[0].Floats
	if len(g) != len(w) || len(w) < 10 {
		t.Fatalf("%s: %d points, want %d (at least 10)", what, len(g), len(w))
	}
	for i := range w {
		if g[i].T != w[i].T || math.Abs(g[i].F-w[i].F) > tolerance*math.Abs(w[i].F) {
			t.Fatalf("%s at %v: %v, raw %v", what, time.UnixMilli(w[i].T).UTC(), g[i].F, w[i].F)
		}
	}
}

func TestCounterRateOverRollups(t *testing.T) {
	t0 := testStart()
	end := t0.Add(3 * 24 * time.Hour)
	resets := []time.Time{t0.Add(31*time.Hour + 23*time.Minute + 17*time.Second), t0.Add(56*time.Hour + 17*time.Second)}
	d := openAt(t, t.TempDir(), Options{Now: clockAfter(end)})
	write(t, d, counterSeries("a", t0, end, resets...), gaugeSeries("a", t0, end))
	rollup(t, d)

	from, to := t0.Add(6*time.Hour), end.Add(-3*time.Hour)
	tests := []struct {
		res  Resolution
		q    string
		step time.Duration
	}{
		{FiveMinutes, `rate(bytes_total[30m])`, 5 * time.Minute},
		{FiveMinutes, `increase(bytes_total[1h])`, 15 * time.Minute},
		{FiveMinutes, `sum(rate(bytes_total[10m]))`, 5 * time.Minute},
		{OneHour, `rate(bytes_total[3h])`, time.Hour},
		{OneHour, `increase(bytes_total[6h])`, time.Hour},
	}
	if r := matrix(t, d, Raw, `resets(bytes_total[2d])`, to, to, time.Hour); len(r) != 1 || r[0].Floats[0].F != 2 {
		t.Fatalf("the range should hold two resets: %v", r)
	}
	for _, tt := range tests {
		t.Run(tt.res.String()+" "+tt.q, func(t *testing.T) {
			if res, _ := d.ResolutionFor(tt.q, tt.step); res != tt.res {
				t.Fatalf("%s at %v reads %s, want %s", tt.q, tt.step, res, tt.res)
			}
			sameMatrix(t, tt.q, matrix(t, d, tt.res, tt.q, from, to, tt.step), matrix(t, d, Raw, tt.q, from, to, tt.step), 1e-9)
		})
	}
}

func TestResolutionFor(t *testing.T) {
	d := open(t)
	tests := []struct {
		q    string
		step time.Duration
		want Resolution
	}{
		// A month at 1 h steps, at 15 s steps.
		{`perfdata{metric="time"}`, time.Hour, OneHour},
		{`perfdata{metric="time"}`, 15 * time.Second, Raw},
		{`perfdata`, 5 * time.Minute, FiveMinutes},
		{`perfdata`, 30 * time.Minute, FiveMinutes},
		{`perfdata`, 4 * time.Minute, Raw},
		// Windows of at least two samples per range.
		{`rate(perfdata_total[5m])`, time.Hour, Raw},
		{`rate(perfdata_total[10m])`, time.Hour, FiveMinutes},
		{`rate(perfdata_total[2h])`, time.Hour, OneHour},
		{`max_over_time(perfdata[1d]) / avg_over_time(perfdata[20m])`, time.Hour, FiveMinutes},
		// Instant queries: ranges decide; a plain value is raw.
		{`max_over_time(perfdata[30d])`, 0, OneHour},
		{`increase(perfdata_total[15m])`, 0, FiveMinutes},
		{`perfdata`, 0, Raw},
		{`sum(rate(perfdata_total[1d])) / count(perfdata)`, 0, Raw},
		// Subqueries: their step bounds the windows.
		{`max_over_time(perfdata[1d:5m])`, 0, FiveMinutes},
		{`max_over_time(perfdata[1d:])`, 0, Raw},
		{`max_over_time(rate(perfdata_total[4h])[7d:1h])`, 0, OneHour},
		{`vector(1)`, time.Hour, OneHour},
	}
	for _, tt := range tests {
		res, err := d.ResolutionFor(tt.q, tt.step)
		if err != nil || res != tt.want {
			t.Errorf("%s at step %v: %s %v, want %s", tt.q, tt.step, res, err, tt.want)
		}
	}
	if _, err := d.ResolutionFor(`rate(`, time.Hour); err == nil {
		t.Error("a malformed query got a resolution")
	}
}

func TestQueriesReadTheTiers(t *testing.T) {
	t0 := testStart()
	end := t0.Add(3 * 24 * time.Hour)
	load := gaugeSeries("a", t0, end)
	d := openAt(t, t.TempDir(), Options{Now: clockAfter(end)})
	write(t, d, load, gaugeSeries("b", t0, end))
	rollup(t, d)
	wm := d.tier(OneHour).watermark.Load()

	// A month at 1 h steps: hourly averages up to the 1 h watermark, then
	// raw data to the end.
	from := end.Add(-30 * 24 * time.Hour)
	if res, _ := d.ResolutionFor(`load{host="a"}`, time.Hour); res != OneHour {
		t.Fatalf("a month at 1 h steps reads %s", res)
	}
	m, err := d.QueryRange(ctx, `load{host="a"}`, from, end, time.Hour)
	if err != nil || len(m.(promql.Matrix)) != 1 {
		t.Fatalf("%v %v", m, err)
	}
	hourly := map[int64]float64{}
	for _, w := range expectedWindows(load.samples, OneHour, wm) {
		hourly[alignDown(w.lastT, time.Hour.Milliseconds())+time.Hour.Milliseconds()] = w.avg
	}
	rawAt := func(ts int64) float64 {
		i, _ := slices.BinarySearchFunc(load.samples, ts+1, func(s rawSample, t int64) int { return cmp.Compare(s.t, t) })
		return load.samples[i-1].v
	}
	points := m.(promql.Matrix)[0].Floats
	if first := time.UnixMilli(points[0].T); first.After(t0.Add(2 * time.Hour)) {
		t.Fatalf("first point at %v, data from %v", first, t0)
	}
	var fromTier, fromRaw int
	for _, p := range points {
		want, ok := hourly[p.T]
		if p.T > wm {
			want, ok = rawAt(p.T), true
			fromRaw++
		} else {
			fromTier++
		}
		if !ok || math.Abs(p.F-want) > 1e-9 {
			t.Fatalf("at %v: %v, want %v (watermark %v)", time.UnixMilli(p.T).UTC(), p.F, want, time.UnixMilli(wm).UTC())
		}
	}
	if fromTier < 60 || fromRaw < 1 || fromRaw > 3 {
		t.Fatalf("%d points from the 1 h tier, %d from raw data", fromTier, fromRaw)
	}

	// At 15 s steps: raw values.
	if res, _ := d.ResolutionFor(`load{host="a"}`, 15*time.Second); res != Raw {
		t.Fatalf("15 s steps read %s", res)
	}
	start := t0.Add(30 * time.Hour)
	m, err = d.QueryRange(ctx, `load{host="a"}`, start, start.Add(time.Hour), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.(promql.Matrix)[0].Floats {
		if p.F != rawAt(p.T) {
			t.Fatalf("15 s step at %v: %v, raw %v", time.UnixMilli(p.T).UTC(), p.F, rawAt(p.T))
		}
	}

	// Functions over ranges read the aggregate that answers them exactly,
	// from either tier.
	for _, q := range []string{`max_over_time(load{host="a"}[1h])`, `min_over_time(load{host="a"}[1h])`, `avg_over_time(load{host="a"}[1h])`} {
		if res, _ := d.ResolutionFor(q, time.Hour); res != FiveMinutes {
			t.Fatalf("%s at 1 h steps reads %s", q, res)
		}
		from, to := t0.Add(2*time.Hour), time.UnixMilli(wm)
		raw := matrix(t, d, Raw, q, from, to, time.Hour)
		sameMatrix(t, q+" (5m)", matrix(t, d, FiveMinutes, q, from, to, time.Hour), raw, 1e-9)
		sameMatrix(t, q+" (1h)", matrix(t, d, OneHour, q, from, to, time.Hour), raw, 1e-9)
	}

	// Naming __rollup__ reads the aggregate as stored.
	counts := matrix(t, d, OneHour, `load{host="a", __rollup__="count"}`, t0.Add(2*time.Hour), time.UnixMilli(wm-1), time.Hour)
	if len(counts) != 1 || counts[0].Metric.Get(rollupLabel) != "count" || len(counts[0].Floats) < 60 {
		t.Fatalf("counts: %v", counts)
	}
	for _, p := range counts[0].Floats {
		if p.F != 60 {
			t.Fatalf("%v samples in the hour before %v, want 60", p.F, time.UnixMilli(p.T).UTC())
		}
	}
}

func TestOlderThanRawRetention(t *testing.T) {
	t0 := testStart()
	end := t0.Add(3 * 24 * time.Hour)
	load := gaugeSeries("a", t0, end)
	d := openAt(t, t.TempDir(), Options{Now: clockAfter(end), Retention: 24 * time.Hour})
	// A host that went away on the first day.
	write(t, d, load, gaugeSeries("old", t0, t0.Add(12*time.Hour)))
	rollup(t, d)
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if start, _ := d.db.StartTime(); time.UnixMilli(start).Before(t0.Add(36 * time.Hour)) {
		t.Fatalf("raw data still starts at %v", time.UnixMilli(start).UTC())
	}

	// Off the hour, so that the 1-hour samples are up to an hour old at
	// each point.
	day1 := t0.Add(2*time.Hour + 30*time.Minute)
	tests := []struct {
		q    string
		step time.Duration
		want Resolution // the tier answering, Raw's being gone
		from Resolution
	}{
		{`load{host="a"}`, time.Hour, OneHour, OneHour},
		{`load{host="a"}`, 5 * time.Minute, FiveMinutes, FiveMinutes},
		// Raw resolution asked, the 5-minute tier answers.
		{`load{host="a"}`, 15 * time.Second, Raw, FiveMinutes},
	}
	for _, tt := range tests {
		if res, _ := d.ResolutionFor(tt.q, tt.step); res != tt.want {
			t.Fatalf("%s at %v reads %s, want %s", tt.q, tt.step, res, tt.want)
		}
		m, err := d.QueryRange(ctx, tt.q, day1, day1.Add(2*time.Hour), tt.step)
		if err != nil || len(m.(promql.Matrix)) != 1 {
			t.Fatalf("%s at %v: %v %v", tt.q, tt.step, m, err)
		}
		avg := map[int64]float64{}
		for _, w := range expectedWindows(load.samples, tt.from, end.UnixMilli()) {
			avg[w.lastT] = w.avg
		}
		for _, p := range m.(promql.Matrix)[0].Floats {
			// The latest window stamped at or before the point.
			var want float64
			for ts, v := range avg {
				if ts <= p.T && ts > p.T-time.Duration(tt.from).Milliseconds() {
					want = v
				}
			}
			if math.Abs(p.F-want) > 1e-9 {
				t.Fatalf("%s at %v, %v: %v, want the %s average %v", tt.q, tt.step, time.UnixMilli(p.T).UTC(), p.F, tt.from, want)
			}
		}
		if n, want := len(m.(promql.Matrix)[0].Floats), int(2*time.Hour/tt.step)+1; n != want {
			t.Fatalf("%s at %v: %d points, want %d", tt.q, tt.step, n, want)
		}
	}

	// The host gone from raw data is still listed.
	ss, err := d.Series(ctx, []string{`{host="old"}`}, t0, t0.Add(24*time.Hour))
	if err != nil || len(ss) != 1 || ss[0]["__name__"] != "load" || len(ss[0]) != 2 {
		t.Fatalf("series of the old host: %v %v", ss, err)
	}
	vals, err := d.LabelValues(ctx, "host", t0, end)
	if err != nil || strings.Join(vals, ",") != "a,old" {
		t.Fatalf("hosts: %v %v", vals, err)
	}
	names, err := d.LabelNames(ctx, t0, t0.Add(24*time.Hour))
	if err != nil || strings.Join(names, ",") != "__name__,host" {
		t.Fatalf("label names: %v %v", names, err)
	}
}

// samplesPerWindow counts a tier's avg samples per window.
func samplesPerWindow(t *testing.T, d *DB, res Resolution) map[int64]int {
	n := map[int64]int{}
	for _, s := range stored(t, d.tier(res).db, eq("__name__", "load"), eq(rollupLabel, "avg")) {
		for _, x := range s {
			n[alignDown(x.t, time.Duration(res).Milliseconds())]++
		}
	}
	return n
}

func TestRollupRestart(t *testing.T) {
	t0 := testStart()
	mid, end := t0.Add(30*time.Hour+7*time.Minute), t0.Add(3*24*time.Hour)
	load := gaugeSeries("a", t0, end)
	// A counter reset before the restart: the running totals go on from
	// what the tiers hold.
	bytes := counterSeries("a", t0, end, t0.Add(10*time.Hour+17*time.Second))
	half := slices.IndexFunc(load.samples, func(s rawSample) bool { return s.t >= mid.UnixMilli() })
	dir := t.TempDir()

	d := openAt(t, dir, Options{Now: clockAfter(mid)})
	write(t, d, testSeries{load.labels, load.samples[:half]}, testSeries{bytes.labels, bytes.samples[:half]})
	rollup(t, d)
	first := map[Resolution]int64{}
	for _, tr := range d.tiers {
		first[tr.res] = tr.watermark.Load()
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Rollup(ctx); err == nil {
		t.Fatal("a closed database rolled up")
	}

	d = openAt(t, dir, Options{Now: clockAfter(end)})
	for _, tr := range d.tiers {
		if tr.watermark.Load() != first[tr.res] {
			t.Fatalf("%s watermark after reopening %v, was %v", tr.res, tr.watermark.Load(), first[tr.res])
		}
	}
	write(t, d, testSeries{load.labels, load.samples[half:]}, testSeries{bytes.labels, bytes.samples[half:]})
	rollup(t, d)

	check := func(when string) {
		t.Helper()
		for _, tr := range d.tiers {
			res := time.Duration(tr.res).Milliseconds()
			wm := tr.watermark.Load()
			if wm <= first[tr.res] {
				t.Fatalf("%s: %s watermark did not move from %v", when, tr.res, time.UnixMilli(wm).UTC())
			}
			n := samplesPerWindow(t, d, tr.res)
			for w := alignDown(load.samples[0].t, res); w < wm; w += res {
				if n[w] != 1 {
					t.Fatalf("%s: %s window %v has %d samples", when, tr.res, time.UnixMilli(w).UTC(), n[w])
				}
			}
			if len(n) != int((wm-alignDown(load.samples[0].t, res))/res) {
				t.Fatalf("%s: %s: %d windows", when, tr.res, len(n))
			}
			got := stored(t, tr.db, eq("__name__", "load"), eq(rollupLabel, "avg"))["avg"]
			for i, w := range expectedWindows(load.samples, tr.res, wm) {
				if got[i].t != w.lastT || math.Abs(got[i].v-w.avg) > 1e-9 {
					t.Fatalf("%s: %s window %d: %v, want %v", when, tr.res, i, got[i], w)
				}
			}
			q := `increase(bytes_total[6h])`
			from, to := t0.Add(6*time.Hour), time.UnixMilli(wm)
			sameMatrix(t, when+" "+q, matrix(t, d, tr.res, q, from, to, time.Hour), matrix(t, d, Raw, q, from, to, time.Hour), 1e-9)
		}
	}
	check("after a restart")

	// A crash after writing rollups and before moving the watermark: the
	// windows are rolled again, the samples already there refused.
	for _, tr := range d.tiers {
		before := tr.watermark.Load()
		if err := tr.setWatermark(first[tr.res]); err != nil {
			t.Fatal(err)
		}
		rollup(t, d)
		if tr.watermark.Load() != before {
			t.Fatalf("%s watermark %v after rolling again, was %v", tr.res, tr.watermark.Load(), before)
		}
	}
	check("after rolling windows again")
}

func TestTierRetention(t *testing.T) {
	t0 := testStart()
	end := t0.Add(5 * 24 * time.Hour)
	d := openAt(t, t.TempDir(), Options{Now: clockAfter(end), Rollup5mRetention: 48 * time.Hour, Rollup1hRetention: 20 * 24 * time.Hour})
	write(t, d, gaugeSeries("a", t0, end))
	rollup(t, d)
	for _, tr := range d.tiers {
		if err := tr.db.Compact(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Time retention drops whole blocks older than the newest block's end
	// minus the retention: the 5-minute tier lost its first day, the
	// 1-hour one kept everything.
	start5m, _ := d.tier(FiveMinutes).db.StartTime()
	start1h, _ := d.tier(OneHour).db.StartTime()
	if time.UnixMilli(start5m).Before(t0.Add(24 * time.Hour)) {
		t.Errorf("5m rollups start at %v, retention 48h, data from %v to %v", time.UnixMilli(start5m).UTC(), t0, end)
	}
	if time.UnixMilli(start1h).After(t0.Add(time.Hour)) {
		t.Errorf("1h rollups start at %v, data from %v", time.UnixMilli(start1h).UTC(), t0)
	}
}

func TestRunRollsUntilStopped(t *testing.T) {
	t0 := testStart()
	end := t0.Add(6 * time.Hour)
	d := openAt(t, t.TempDir(), Options{Now: clockAfter(end)})
	write(t, d, gaugeSeries("a", t0, end))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for d.tier(FiveMinutes).watermark.Load() == math.MinInt64 {
		if time.Now().After(deadline) {
			t.Fatal("Run rolled nothing up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
}
