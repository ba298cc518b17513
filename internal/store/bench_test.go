package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/state"
)

// BenchmarkApplyStatus writes batches of 1,000 check results, as the state
// engine does at thousands of checks a second, and reports updates per
// second. "steady" is the usual batch, no state changing; "outage" is the
// worst one, every object changing state (each closes a period and opens
// one).
//
//	go test -run '^$' -bench ApplyStatus -benchtime 3s ./internal/store/
func BenchmarkApplyStatus(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) Store
	}{
		{"sqlite", func(tb testing.TB) Store {
			st, err := Open(ctx, Options{DSN: filepath.Join(tb.TempDir(), "b.db")})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(tb testing.TB) Store { return pgStore(tb) }},
	} {
		for _, changes := range []bool{false, true} {
			name := db.name + "/steady"
			if changes {
				name = db.name + "/outage"
			}
			b.Run(name, func(b *testing.B) {
				st := db.open(b)
				t0 := time.Now()
				batch := make([]StatusUpdate, 1000)
				n := 0
				fill := func() {
					n++
					for i := range batch {
						t := t0.Add(time.Duration(n) * time.Second)
						batch[i] = StatusUpdate{Status: state.Status{Kind: state.KindService, ObjectID: int64(i + 1), Checked: true,
							State: n % 2, StateType: state.Hard, Attempt: 1, LastCheck: t, NextCheck: t.Add(time.Minute),
							Output:   "TCP OK - 0.000 second response time on 127.0.0.1 port 22",
							Perfdata: []checks.Perf{{Label: "time", Value: 0.0002, Unit: "s"}}}}
						if changes {
							batch[i].Change = &state.Change{Kind: state.KindService, ObjectID: int64(i + 1), State: n % 2,
								StateType: state.Hard, Output: batch[i].Status.Output, Start: t}
						}
					}
				}
				b.ResetTimer()
				for b.Loop() {
					b.StopTimer()
					fill()
					b.StartTimer()
					if err := st.ApplyStatus(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "updates/s")
			})
		}
	}
}

var _ = fmt.Sprint
