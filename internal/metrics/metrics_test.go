package metrics

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
)

var ctx = context.Background()

func open(t *testing.T) *DB {
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func series(name string, kv ...string) map[string]string {
	m := map[string]string{"__name__": name}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestPromQLOverWrittenData(t *testing.T) {
	d := open(t)
	t0 := time.Now().Add(-50 * time.Minute).Truncate(time.Minute)
	var batch []Sample
	for i := 0; i < 60; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		// A counter growing by 60 per 30 s on two hosts: rate 2/s each.
		batch = append(batch,
			Sample{series("vigie_bytes_total", "host", "a", "service", "if1"), at, float64(i * 60)},
			Sample{series("vigie_bytes_total", "host", "b", "service", "if1"), at, float64(i * 60)},
			// A response time gauge cycling 1..10 ms.
			Sample{series("vigie_time_seconds", "host", "a", "service", "http"), at, float64(i%10+1) / 1000},
		)
	}
	if err := d.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(29 * time.Minute)
	scalar := func(q string) float64 {
		t.Helper()
		v, err := d.Query(ctx, q, at)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		vec, ok := v.(promql.Vector)
		if !ok || len(vec) != 1 {
			t.Fatalf("%s: %v", q, v)
		}
		return vec[0].F
	}
	tests := []struct {
		q    string
		want float64
	}{
		{`rate(vigie_bytes_total{host="a"}[5m])`, 2},
		{`sum(rate(vigie_bytes_total[5m]))`, 4},
		{`count(sum by (host) (rate(vigie_bytes_total[5m])))`, 2},
		{`max_over_time(vigie_time_seconds[10m])`, 0.010},
		{`quantile_over_time(0.5, vigie_time_seconds[5m])`, 0.0055},
	}
	for _, tt := range tests {
		if got := scalar(tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tt.q, got, tt.want)
		}
	}
	m, err := d.QueryRange(ctx, `rate(vigie_bytes_total[2m])`, t0.Add(5*time.Minute), t0.Add(25*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if mat := m.(promql.Matrix); len(mat) != 2 || len(mat[0].Floats) != 21 {
		t.Fatalf("range query: %v", m)
	}
	ss, err := d.Series(ctx, []string{`{__name__=~"vigie_.+", host="a"}`}, t0, at)
	if err != nil || len(ss) != 2 {
		t.Fatalf("series: %v %v", ss, err)
	}
	names, _ := d.LabelNames(ctx, t0, at)
	vals, _ := d.LabelValues(ctx, "host", t0, at)
	if len(names) != 3 || len(vals) != 2 || vals[0] != "a" {
		t.Fatalf("labels %v values %v", names, vals)
	}
	for _, bad := range []string{`rate(`, `sum by (x) (`, `vigie_time_seconds[5m]) + `} {
		if _, err := d.Query(ctx, bad, at); !errors.Is(err, ErrBadQuery) {
			t.Errorf("%q: %v, want a bad query", bad, err)
		}
	}
	if _, err := d.QueryRange(ctx, `up`, t0, t0.Add(24*time.Hour), time.Second); !errors.Is(err, ErrBadQuery) {
		t.Errorf("too many points: %v", err)
	}
	if err := d.Append(ctx, []Sample{{Labels: map[string]string{"host": "x"}, T: at, V: 1}}); err == nil {
		t.Error("a sample without a name was accepted")
	}
}

func TestSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d.Append(ctx, []Sample{{series("x", "host", "h"), now, 42}})
	d.Close()
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v, err := d.Query(ctx, `x`, now)
	if err != nil || len(v.(promql.Vector)) != 1 || v.(promql.Vector)[0].F != 42 {
		t.Fatalf("after reopen: %v %v", v, err)
	}
}
