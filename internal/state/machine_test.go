package state

import (
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

func TestApplySoftHard(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		state     int
		wantType  string
		attempt   int
		changed   bool
		hardChang bool
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{"first OK is HARD and not a hard change", 3, []step{
			{0, Hard, 1, true, false},
			{0, Hard, 1, false, false},
		}},
		{"problem goes HARD after max attempts", 3, []step{
			{0, Hard, 1, true, false},
			{2, Soft, 1, true, false},
			{2, Soft, 2, false, false},
			{2, Hard, 3, true, true},
			{2, Hard, 3, false, false},
			{1, Hard, 3, true, true}, // CRITICAL -> WARNING while HARD
			{0, Hard, 1, true, true}, // recovery
		}},
		{"soft recovery is not a hard change", 3, []step{
			{0, Hard, 1, true, false},
			{2, Soft, 1, true, false},
			{0, Hard, 1, true, false},
		}},
		{"max_attempts 1 is HARD at once", 1, []step{
			{2, Hard, 1, true, true},
			{0, Hard, 1, true, true},
		}},
		{"first result a problem starts SOFT", 2, []step{
			{2, Soft, 1, true, false},
			{2, Hard, 2, true, true},
		}},
		{"state changes inside SOFT keep counting", 3, []step{
			{0, Hard, 1, true, false},
			{1, Soft, 1, true, false},
			{2, Soft, 2, true, false},
			{2, Hard, 3, true, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st Status
			for i, s := range tt.steps {
				at := t0.Add(time.Duration(i) * time.Minute)
				out := Apply(&st, s.state, checks.Result{State: checks.State(s.state), Output: "x", Time: at}, tt.max, Thresholds{})
				if st.StateType != s.wantType || st.Attempt != s.attempt || out.Changed != s.changed || out.HardChange != s.hardChang {
					t.Fatalf("step %d (state %d): got type %s attempt %d changed %v hard %v; want %s %d %v %v",
						i, s.state, st.StateType, st.Attempt, out.Changed, out.HardChange, s.wantType, s.attempt, s.changed, s.hardChang)
				}
				if out.Changed && !st.LastStateChange.Equal(at) {
					t.Fatalf("step %d: last state change %v, want %v", i, st.LastStateChange, at)
				}
				if st.State != s.state || !st.Checked || !st.LastCheck.Equal(at) {
					t.Fatalf("step %d: status not updated: %+v", i, st)
				}
			}
		})
	}
}

func TestFlapping(t *testing.T) {
	var st Status
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	apply := func(i, s int) Outcome {
		return Apply(&st, s, checks.Result{Time: t0.Add(time.Duration(i) * time.Minute)}, 1, Thresholds{})
	}
	apply(0, 0)
	started := false
	// Alternate OK/CRITICAL: every result is a change.
	for i := 1; i <= 10; i++ {
		if apply(i, (i%2)*2).FlapStart {
			started = true
		}
	}
	if !started || !st.Flapping {
		t.Fatalf("alternating states did not start flapping: pct %.1f", st.PercentStateChange)
	}
	stopped := false
	for i := 11; i < 40; i++ {
		if apply(i, 0).FlapStop {
			stopped = true
		}
	}
	if !stopped || st.Flapping {
		t.Fatalf("steady state did not stop flapping: pct %.1f", st.PercentStateChange)
	}
	if st.PercentStateChange != 0 {
		t.Fatalf("after 29 steady results the window should be clean, pct %.1f", st.PercentStateChange)
	}
}

func TestPercentChangeWeights(t *testing.T) {
	all := percentChange(1<<flapWindow-1, flapWindow)
	if all < 99.9 || all > 100.1 {
		t.Fatalf("every result a change: got %.2f%%, want 100%%", all)
	}
	newest := percentChange(1, flapWindow)
	oldest := percentChange(1<<(flapWindow-1), flapWindow)
	if newest <= oldest {
		t.Fatalf("a recent change must weigh more: newest %.2f oldest %.2f", newest, oldest)
	}
}

func TestAlignedNextIsStable(t *testing.T) {
	iv := 30 * time.Second
	k := key{KindService, 42}
	off := offsetOf(k, iv)
	if off != offsetOf(k, iv) || off < 0 || off >= iv {
		t.Fatalf("offset %v not stable or out of [0,%v)", off, iv)
	}
	now := time.Date(2026, 1, 1, 0, 0, 7, 0, time.UTC)
	n1 := alignedNext(now, iv, off)
	if !n1.After(now) || n1.Sub(now) > iv {
		t.Fatalf("next %v not within one interval after %v", n1, now)
	}
	if n2 := alignedNext(n1, iv, off); n2.Sub(n1) != iv {
		t.Fatalf("consecutive slots %v apart, want %v", n2.Sub(n1), iv)
	}
	// Offsets spread: 10,000 services must not share a handful of slots.
	seen := map[time.Duration]bool{}
	for i := int64(0); i < 10000; i++ {
		seen[offsetOf(key{KindService, i}, iv)/time.Millisecond] = true
	}
	if len(seen) < 7500 { // uniform hashing gives about 8,500
		t.Fatalf("offsets of 10,000 services fall in only %d distinct ms", len(seen))
	}
}
