package app

import (
	"context"
	"errors"
	"math"
	"strconv"

	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/state"
)

// samplesOf turns a batch of results into time series: every perfdata
// value as perfdata{host, service, metric, unit} (perfdata_total for
// counters, unit "c", so that rate() applies, with 32-bit wraps undone),
// plus each check's state and duration. Samples are stamped with the
// check's scheduled time when it ran on time (Status.SampleTime).
func (a *App) samplesOf(ctx context.Context, batch []state.Update) []metrics.Sample {
	out := make([]metrics.Sample, 0, 3*len(batch))
	for _, u := range batch {
		st := u.Status
		if !st.Checked || st.LastCheck.IsZero() {
			continue
		}
		at := st.SampleTime
		if at.IsZero() {
			at = st.LastCheck
		}
		host, service, ok := a.mon.names(st.Kind, st.ObjectID)
		if !ok {
			continue
		}
		base := func(name string) map[string]string {
			l := map[string]string{"__name__": name, "host": host}
			if service != "" {
				l["service"] = service
			}
			return l
		}
		stateName := "vigie_service_state"
		if st.Kind == state.KindHost {
			stateName = "vigie_host_state"
		}
		out = append(out,
			metrics.Sample{Labels: base(stateName), T: at, V: float64(st.State)},
			metrics.Sample{Labels: base("vigie_check_duration_seconds"), T: at, V: metrics.Seconds(st.Duration)},
		)
		for _, p := range st.Perfdata {
			name := "perfdata"
			if p.Unit == "c" {
				name = "perfdata_total"
			}
			l := base(name)
			l["metric"] = p.Label
			if p.Unit != "" {
				l["unit"] = p.Unit
			}
			v := p.Value
			if p.Unit == "c" {
				v = a.tsdb.Unwrap(ctx, l, v, counterWidth(p.Max))
			}
			out = append(out, metrics.Sample{Labels: l, T: at, V: v})
		}
	}
	return out
}

// counterWidth reads a counter's width from its perfdata max: SNMP checks
// give 2^32-1 for Counter32 and 2^64-1 for Counter64, so that a Counter32
// that goes down is a wrap for sure, and a Counter64 never wraps.
func counterWidth(max *float64) metrics.Width {
	switch {
	case max == nil:
		return metrics.WidthUnknown
	case *max == math.MaxUint32:
		return metrics.Width32
	case *max == math.MaxUint64:
		return metrics.Width64
	}
	return metrics.WidthUnknown
}

// writeResults stores a batch durably, then its samples. The samples are
// best effort: a refused sample is logged, never a reason to write the
// states again.
func (a *App) writeResults(ctx context.Context, batch []state.Update) error {
	if err := a.st.ApplyStatus(ctx, batch); err != nil {
		return err
	}
	if a.tsdb != nil {
		// While the disk is full the store has said so once, and the self
		// check shows it: no line per batch.
		if err := a.sink.Append(ctx, a.samplesOf(ctx, batch)); err != nil && !errors.Is(err, metrics.ErrIngestionStopped) {
			a.log.Warn("storing perfdata", "err", err, "batch", strconv.Itoa(len(batch)))
		}
	}
	return nil
}
