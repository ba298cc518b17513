package metrics

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// IsCounter says whether a series name is a counter by Prometheus'
// conventions: counters only go up (or reset to zero), so rate() and
// increase() apply, and their values are never rounded.
func IsCounter(name string) bool {
	for _, suffix := range []string{"_total", "_count", "_sum", "_bucket"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// roundMantissa keeps bits significant bits of v (1..52), as
// VictoriaMetrics' -precisionBits does: values that differ only beyond the
// precision a graph shows then share their low bits, which the XOR encoding
// of the chunks stores in almost nothing.
func roundMantissa(v float64, bits int) float64 {
	if bits <= 0 || bits >= 52 || v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	frac, exp := math.Frexp(v)
	scale := float64(uint64(1) << bits)
	return math.Ldexp(math.Round(frac*scale)/scale, exp)
}

// Seconds is a duration as stored: in seconds, rounded to 2^-20 s
// (0.95 µs). A check's duration is measured to the nanosecond, but its last
// digits are noise, and noise is what costs bytes in a time series: at this
// resolution a millisecond-range duration takes 3 bytes a sample instead of
// 8.
func Seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*(1<<20)) / (1 << 20)
}

// Width is how many bits a counter has before it wraps to zero: 32 for
// SNMP's Counter32, 64 for Counter64, 0 when the source does not say.
type Width int

const (
	WidthUnknown Width = 0
	Width32      Width = 32
	Width64      Width = 64
)

// counterState is what Unwrap remembers of a counter.
type counterState struct {
	raw    float64 // the last value the source gave
	offset float64 // added to raw values: 2^32 per wrap seen
}

// unwrapper turns counters that wrap around (a 32-bit octet counter of a
// busy interface wraps every few minutes) into counters that only reset:
// Prometheus' rate() takes any decrease for a restart from zero, which is
// right for a reset and wrong by 2^32 for a wrap.
type unwrapper struct {
	mu     sync.Mutex
	series map[string]*counterState
}

const two32 = 1 << 32

// Unwrap returns the value to store for a counter sample: raw plus 2^32 per
// wrap the counter went through. A decrease is a wrap when the counter is
// 32-bit (or, its width unknown, when it went from the top quarter of the
// 32-bit range to the bottom quarter), else a reset, stored as it is so
// that rate() sees the reset. After a restart of vigie, the number of wraps
// comes back from the last stored value of the series.
func (d *DB) Unwrap(ctx context.Context, ls map[string]string, raw float64, width Width) float64 {
	if width == Width64 || raw < 0 || raw >= two32 || math.IsNaN(raw) {
		return raw
	}
	key := labels.FromMap(ls).String()
	d.wraps.mu.Lock()
	defer d.wraps.mu.Unlock()
	c, ok := d.wraps.series[key]
	if !ok {
		c = &counterState{raw: math.NaN()}
		if last, ok := d.lastValue(ctx, ls); ok && last >= two32 {
			// Stored values are raw + n·2^32 and raw < 2^32, so the last
			// raw value and the offset both come back.
			c.offset = math.Floor(last/two32) * two32
			c.raw = last - c.offset
		}
		d.wraps.series[key] = c
	}
	if !math.IsNaN(c.raw) && raw < c.raw {
		wrapped := width == Width32 || (c.raw >= 3*two32/4 && raw < two32/4)
		if wrapped {
			c.offset += two32
		} else {
			c.offset = 0
		}
	}
	c.raw = raw
	return raw + c.offset
}

// lastValue is the newest stored value of a series within the last day.
func (d *DB) lastValue(ctx context.Context, ls map[string]string) (float64, bool) {
	now := time.Now()
	q, err := d.db.Querier(now.Add(-24*time.Hour).UnixMilli(), now.Add(time.Hour).UnixMilli())
	if err != nil {
		return 0, false
	}
	defer q.Close()
	var ms []*labels.Matcher
	for k, v := range ls {
		ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, k, v))
	}
	set := q.Select(ctx, false, nil, ms...)
	var (
		v     float64
		found bool
	)
	for set.Next() {
		s := set.At()
		if s.Labels().Len() != len(ls) {
			continue
		}
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			_, v = it.At()
			found = true
		}
	}
	return v, found && set.Err() == nil
}
