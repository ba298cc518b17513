package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// selfCheck is the result of a "self" service: the health of this server's
// parts, worst first. A full disk that stops the time-series store is
// CRITICAL here, and so becomes a problem like any other (an alarm, once
// events and alarms exist).
func (a *App) selfCheck(ctx context.Context) checks.Result {
	type part struct {
		state checks.State
		msg   string
	}
	var parts []part
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.st.Ping(pctx); err != nil {
		parts = append(parts, part{checks.Critical, "database unavailable: " + err.Error()})
	} else {
		parts = append(parts, part{checks.OK, "database ok"})
	}
	var perf []checks.Perf
	if a.tsdb != nil {
		h := a.tsdb.Health()
		st := checks.OK
		if !h.OK {
			st = checks.Critical
		}
		parts = append(parts, part{st, h.Message})
		if h.FreeBytes >= 0 {
			perf = append(perf, checks.Perf{Label: "tsdb_free", Value: float64(h.FreeBytes), Unit: "B"})
		}
	}
	if a.sink != nil {
		for _, w := range a.sink.writers {
			h := w.Health()
			st, msg := checks.OK, fmt.Sprintf("remote write %s: %d samples queued", h.Target, h.Samples)
			if !h.Since.IsZero() {
				st = checks.Warning
				msg = fmt.Sprintf("remote write %s failing for %s, %d samples queued: %s", h.Target,
					time.Since(h.Since).Round(time.Second), h.Samples, h.LastErr)
			}
			if h.MaxBytes > 0 && h.Bytes >= h.MaxBytes*9/10 {
				// Past the bound the oldest data is dropped.
				st = checks.Critical
				msg += fmt.Sprintf(" (queue %s of %s: the oldest is dropped when full)", metrics.HumanBytes(h.Bytes), metrics.HumanBytes(h.MaxBytes))
			}
			parts = append(parts, part{st, msg})
			perf = append(perf, checks.Perf{Label: "rw_" + h.Target + "_queued", Value: float64(h.Samples)})
		}
	}
	worst := checks.OK
	var bad, good []string
	for _, p := range parts {
		if p.state != checks.OK {
			bad = append(bad, p.msg)
			if p.state > worst {
				worst = p.state
			}
		} else {
			good = append(good, p.msg)
		}
	}
	return checks.Result{
		State:    worst,
		Output:   worst.String() + " - " + strings.Join(append(bad, good...), "; "),
		Perfdata: perf,
		Time:     time.Now(),
	}
}
