package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
)

func TestIsCounter(t *testing.T) {
	for name, want := range map[string]bool{
		"perfdata_total": true, "http_requests_total": true, "rpc_duration_seconds_count": true,
		"rpc_duration_seconds_sum": true, "rpc_duration_seconds_bucket": true,
		"perfdata": false, "vigie_check_duration_seconds": false, "total": false, "node_load1": false,
	} {
		if got := IsCounter(name); got != want {
			t.Errorf("IsCounter(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRoundMantissa(t *testing.T) {
	tests := []struct {
		v      float64
		bits   int
		maxRel float64 // relative error allowed
		exact  bool
	}{
		{0.045, 16, 1.0 / (1 << 16), false},
		{0.002345, 12, 1.0 / (1 << 12), false},
		{123456789, 16, 1.0 / (1 << 16), false},
		{-3.75, 8, 0, true}, // needs few bits: kept exactly
		{1843, 16, 0, true}, // integers below 2^16 are exact
		{0, 8, 0, true},
		{math.Inf(1), 8, 0, true},
		{0.1, 0, 0, true},  // 0: exact
		{0.1, 52, 0, true}, // 52 and more: exact
	}
	for _, tt := range tests {
		got := roundMantissa(tt.v, tt.bits)
		if tt.exact {
			if got != tt.v {
				t.Errorf("roundMantissa(%v, %d) = %v, want it unchanged", tt.v, tt.bits, got)
			}
			continue
		}
		if rel := math.Abs(got-tt.v) / math.Abs(tt.v); rel > tt.maxRel {
			t.Errorf("roundMantissa(%v, %d) = %v: relative error %g > %g", tt.v, tt.bits, got, rel, tt.maxRel)
		}
		// The low bits are zero: that is what the chunks store cheaply.
		if m := math.Float64bits(got) & (1<<(52-tt.bits) - 1); m != 0 {
			t.Errorf("roundMantissa(%v, %d) = %v keeps low bits %x", tt.v, tt.bits, got, m)
		}
	}
}

func TestSeconds(t *testing.T) {
	for _, d := range []time.Duration{0, time.Nanosecond, 1234567 * time.Nanosecond, 2 * time.Second, 10*time.Second + 1} {
		got := Seconds(d)
		if math.Abs(got-d.Seconds()) > 0.5/(1<<20) {
			t.Errorf("Seconds(%v) = %v, off by more than half a step", d, got)
		}
		if got*(1<<20) != math.Round(got*(1<<20)) {
			t.Errorf("Seconds(%v) = %v is not a multiple of 2^-20", d, got)
		}
	}
}

// Unwrap keeps 32-bit counters monotonic across wraps, lets resets be
// resets, and after a restart resumes from the stored values.
func TestUnwrap(t *testing.T) {
	const top = 1 << 32
	tests := []struct {
		name  string
		width Width
		raw   []float64
		want  []float64
	}{
		{"32-bit wrap", Width32, []float64{top - 1000, 500, 2000}, []float64{top - 1000, top + 500, top + 2000}},
		{"two wraps", Width32, []float64{top - 10, 10, top - 10, 10}, []float64{top - 10, top + 10, 2*top - 10, 2*top + 10}},
		{"unknown width, top to bottom quarter: a wrap", WidthUnknown, []float64{top - 1e6, 1e6}, []float64{top - 1e6, top + 1e6}},
		{"unknown width, a small decrease: a reset", WidthUnknown, []float64{5000, 100}, []float64{5000, 100}},
		{"unknown width, a reset after a wrap", WidthUnknown, []float64{top - 5, 5, 3}, []float64{top - 5, top + 5, 3}},
		{"64-bit: untouched", Width64, []float64{100, 5}, []float64{100, 5}},
		{"above 32 bits: untouched", WidthUnknown, []float64{top + 10, 3}, []float64{top + 10, 3}},
	}
	for _, tt := range tests {
		d := open(t)
		ls := series("perfdata_total", "host", "h", "metric", tt.name)
		for i, raw := range tt.raw {
			if got := d.Unwrap(ctx, ls, raw, tt.width); got != tt.want[i] {
				t.Errorf("%s: sample %d: Unwrap(%v) = %v, want %v", tt.name, i, raw, got, tt.want[i])
			}
		}
	}
}

func TestUnwrapResumesAfterRestart(t *testing.T) {
	const top = 1 << 32
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls := series("perfdata_total", "host", "router", "metric", "in")
	t0 := time.Now().Add(-10 * time.Minute)
	var batch []Sample
	for i, raw := range []float64{top - 3000, 1000} {
		batch = append(batch, Sample{ls, t0.Add(time.Duration(i) * time.Minute), d.Unwrap(ctx, ls, raw, Width32)})
	}
	if err := d.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Still counting up from 1000, then wrapping once more while vigie
	// was stopped.
	v1 := d.Unwrap(ctx, ls, 4000, Width32)
	if v1 != top+4000 {
		t.Fatalf("after a restart: %v, want %v", v1, float64(top+4000))
	}
	d2, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if err := d2.Append(ctx, []Sample{{ls, t0, top + 1000}}); err != nil {
		t.Fatal(err)
	}
	if v := d2.Unwrap(ctx, ls, 500, Width32); v != 2*top+500 {
		t.Fatalf("a wrap while stopped: %v, want %v", v, float64(2*top+500))
	}
}

// The reason for all this: rate() over a wrapping 32-bit counter gives the
// real rate, not a spike or a dip.
func TestRateOverWrappedCounter(t *testing.T) {
	d := open(t)
	ls := series("perfdata_total", "host", "router", "metric", "in")
	t0 := time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	raw := float64(1<<32) - 10*6000 + 1000
	var batch []Sample
	for i := 0; i <= 20; i++ {
		batch = append(batch, Sample{ls, t0.Add(time.Duration(i) * time.Minute), d.Unwrap(ctx, ls, raw, Width32)})
		raw = math.Mod(raw+6000, 1<<32) // 100 octets/s, wrapping after ten minutes
	}
	if err := d.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	v, err := d.Query(ctx, `rate(perfdata_total[10m])`, t0.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	vec := v.(promql.Vector)
	if len(vec) != 1 || math.Abs(vec[0].F-100) > 1e-9 {
		t.Fatalf("rate over a wrap: %v, want 100/s", vec)
	}
}
