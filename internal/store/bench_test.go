package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/state"
)

// BenchmarkApplyStatus writes batches of 1,000 check results, as the
// scheduler does at 10,000 checks/s; it reports results per second.
func BenchmarkApplyStatus(b *testing.B) {
	for name, open := range map[string]func(testing.TB) Store{
		"sqlite": func(tb testing.TB) Store {
			st, err := Open(ctx, Options{DSN: filepath.Join(tb.TempDir(), "b.db")})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(tb testing.TB) Store { return openPostgres(tb) },
	} {
		b.Run(name, func(b *testing.B) {
			st := open(b)
			batch := make([]StatusUpdate, 1000)
			t0 := time.Now()
			for i := range batch {
				batch[i] = StatusUpdate{Status: state.Status{Kind: state.KindService, ObjectID: int64(i + 1), Checked: true,
					StateType: state.Hard, Output: "TCP OK - 0.000 second response time on 127.0.0.1 port 22",
					Perfdata: []checks.Perf{{Label: "time", Value: 0.0002, Unit: "s"}}, LastCheck: t0, NextCheck: t0}}
			}
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				if err := st.ApplyStatus(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "results/s")
		})
	}
}
