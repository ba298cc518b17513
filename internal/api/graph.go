package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql"
	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

const (
	// maxGraphSeries bounds the lines of one rendered graph.
	maxGraphSeries = 20
	// graphTimeout bounds the query behind one image.
	graphTimeout = 15 * time.Second
)

// graphPalette is the console's: lines keep their colour between the
// console and the exported image.
var graphPalette = []string{"#2563eb", "#0891b2", "#7c3aed", "#db2777", "#16a34a", "#ea580c", "#4f46e5", "#0d9488", "#a16207", "#64748b"}

// graphRequest is what /api/v1/graph.png draws.
type graphRequest struct {
	query, title, unit string
	start, end         time.Time
	width, height      int
	warning, critical  *float64
	loc                *time.Location
}

func parseGraphRequest(r *http.Request) (graphRequest, error) {
	q := r.URL.Query()
	g := graphRequest{query: q.Get("query"), title: q.Get("title"), unit: q.Get("unit"), loc: time.UTC}
	if g.query == "" || len(g.query) > maxQueryLen {
		return g, badField("query", "required, at most 16 KiB")
	}
	if len(g.title) > 200 {
		return g, badField("title", "at most 200 characters")
	}
	if len(g.unit) > 16 {
		return g, badField("unit", "at most 16 characters")
	}
	var err error
	if g.end, err = promTime(q.Get("end"), time.Now()); err != nil {
		return g, badField("end", "must be RFC 3339 or Unix seconds")
	}
	g.start, err = promTime(q.Get("start"), g.end.Add(-time.Hour))
	if err != nil || !g.start.Before(g.end) || g.end.Sub(g.start) > maxRange {
		return g, badField("start", "must be RFC 3339 or Unix seconds, before end, at most 5 years before")
	}
	size := func(name string, def, min, max int) (int, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return 0, badField(name, "must be between %d and %d pixels", min, max)
		}
		return n, nil
	}
	if g.width, err = size("width", 800, 100, 4000); err != nil {
		return g, err
	}
	if g.height, err = size("height", 300, 80, 3000); err != nil {
		return g, err
	}
	for _, t := range []struct {
		name string
		dst  **float64
	}{{"warning", &g.warning}, {"critical", &g.critical}} {
		if v := q.Get(t.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return g, badField(t.name, "must be a number")
			}
			*t.dst = &f
		}
	}
	if v := q.Get("tz"); v != "" {
		if g.loc, err = time.LoadLocation(v); err != nil || len(v) > 64 {
			return g, badField("tz", "must be an IANA time zone such as Europe/Paris")
		}
	}
	return g, nil
}

// graphPNG renders a PromQL range query as a PNG, for mail, reports and
// the console's export links: /api/v1/graph.png?query=&start=&end=&width=
// &height=&title=&unit=&warning=&critical=&tz=.
func (s *Server) graphPNG(w http.ResponseWriter, r *http.Request) {
	if s.opts.Metrics == nil {
		writeError(w, http.StatusNotFound, "not_found", "no time-series store")
		return
	}
	g, err := parseGraphRequest(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	// About one point per two pixels.
	step := g.end.Sub(g.start) / time.Duration(g.width/2)
	if step < time.Second {
		step = time.Second
	}
	query := strings.ReplaceAll(g.query, "$window", promRangeOf(max(2*step, 2*time.Minute)))
	ctx, cancel := context.WithTimeout(r.Context(), graphTimeout)
	defer cancel()
	v, err := s.opts.Metrics.QueryRange(ctx, query, g.start, g.end, step)
	if errors.Is(err, metrics.ErrBadQuery) {
		s.writeErr(w, badField("query", "%v", err))
		return
	}
	if err != nil {
		s.metricsErr(w, err)
		return
	}
	mat, _ := v.(promql.Matrix)
	png, err := renderGraph(g, mat, step)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Disposition", `inline; filename="vigie-graph.png"`)
	w.Write(png)
}

// promRangeOf writes a duration as a PromQL range, in whole seconds.
func promRangeOf(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10) + "s"
}

// renderGraph draws the series with a title, a unit on the value axis,
// dashed threshold lines and a legend under the plot.
func renderGraph(g graphRequest, mat promql.Matrix, step time.Duration) ([]byte, error) {
	sort.Slice(mat, func(i, j int) bool { return mat[i].Metric.String() < mat[j].Metric.String() })
	var kept []promql.Series
	for _, s := range mat {
		if len(s.Floats) > 0 {
			kept = append(kept, s)
		}
	}
	omitted := 0
	if len(kept) > maxGraphSeries {
		omitted = len(kept) - maxGraphSeries
		kept = kept[:maxGraphSeries]
	}
	maps := make([]map[string]string, len(kept))
	for i, s := range kept {
		maps[i] = s.Metric.Map()
	}
	names := legendsOf("", maps)
	for i, n := range names {
		if n == "" {
			names[i] = maps[i]["__name__"]
		}
		if names[i] == "" {
			names[i] = "value"
		}
	}

	var series []chart.Series
	var legend []legendEntry
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range kept {
		colour := drawing.ColorFromHex(strings.TrimPrefix(graphPalette[i%len(graphPalette)], "#"))
		style := chart.Style{StrokeColor: colour, StrokeWidth: 1.5}
		// A line per run of points: a gap of more than two steps is a gap
		// in the data, not a straight line across it.
		var cur *chart.TimeSeries
		flush := func() {
			if cur == nil {
				return
			}
			if len(cur.XValues) == 1 {
				// A line needs two points: hold a lone value for one step.
				cur.XValues = append(cur.XValues, cur.XValues[0].Add(step))
				cur.YValues = append(cur.YValues, cur.YValues[0])
			}
			series = append(series, *cur)
			cur = nil
		}
		var last int64
		for _, p := range s.Floats {
			if math.IsNaN(p.F) || math.IsInf(p.F, 0) {
				continue
			}
			if cur != nil && time.Duration(p.T-last)*time.Millisecond > 2*step+step/2 {
				flush()
			}
			if cur == nil {
				cur = &chart.TimeSeries{Style: style}
			}
			cur.XValues = append(cur.XValues, time.UnixMilli(p.T))
			cur.YValues = append(cur.YValues, p.F)
			lo, hi = math.Min(lo, p.F), math.Max(hi, p.F)
			last = p.T
		}
		flush()
		legend = append(legend, legendEntry{name: names[i], style: style})
	}
	if omitted > 0 {
		legend = append(legend, legendEntry{name: fmt.Sprintf("and %d more series", omitted)})
	}
	for _, t := range []struct {
		v      *float64
		name   string
		colour string
	}{{g.warning, "warning", "d97706"}, {g.critical, "critical", "dc2626"}} {
		if t.v == nil {
			continue
		}
		style := chart.Style{StrokeColor: drawing.ColorFromHex(t.colour), StrokeWidth: 2, StrokeDashArray: []float64{8, 5}}
		series = append(series, chart.TimeSeries{Style: style, XValues: []time.Time{g.start, g.end}, YValues: []float64{*t.v, *t.v}})
		legend = append(legend, legendEntry{name: t.name + " " + formatUnit(*t.v, g.unit), style: style})
		lo, hi = math.Min(lo, *t.v), math.Max(hi, *t.v)
	}
	empty := len(kept) == 0
	var xlabels []chart.Tick
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	// Values from zero when they are all positive, as the console draws
	// them, with some room above.
	if lo > 0 {
		lo = 0
	}
	if hi <= lo {
		hi = lo + 1
	} else {
		hi += (hi - lo) * 0.05
	}
	ticks := niceTicks(lo, hi, max(3, min(8, g.height/50)), g.unit)
	if empty {
		ticks = niceTicks(0, 1, 1, "")
	}
	lo, hi = ticks[0].Value, ticks[len(ticks)-1].Value
	if empty {
		// Mail and reports still get an image, saying so.
		series = append(series, chart.TimeSeries{Style: chart.Style{StrokeWidth: 0, StrokeColor: drawing.ColorTransparent}, XValues: []time.Time{g.start, g.end}, YValues: []float64{lo, lo}})
	}

	grid := chart.Style{StrokeColor: drawing.ColorFromHex("d5dce5"), StrokeWidth: 1}
	axis := chart.Style{FontColor: drawing.ColorFromHex("475569"), StrokeColor: drawing.ColorFromHex("cbd5e1"), FontSize: 8}
	top := 14
	if g.title != "" {
		top = 34
	}
	rows := legendRows(legend, g.width-28)
	xticks := timeTicks(g.start, g.end, g.width, g.loc)
	xlabels = xticks
	c := chart.Chart{
		Width: g.width, Height: g.height,
		Title:      g.title,
		TitleStyle: chart.Style{FontSize: 11, FontColor: drawing.ColorFromHex("0f172a"), Padding: chart.Box{Top: 10}},
		Background: chart.Style{Padding: chart.Box{Top: top, Left: 16, Right: 12, Bottom: 30 + 16*rows}},
		XAxis: chart.XAxis{
			Style: axis, Ticks: xticks,
			// go-chart's labels are drawn invisible (for its layout) and
			// ours on one baseline.
			TickStyle:      chart.Style{FontColor: drawing.Color{R: 255, G: 255, B: 255, A: 1}},
			Range:          &chart.ContinuousRange{Min: float64(g.start.UnixNano()), Max: float64(g.end.UnixNano())},
			GridMajorStyle: grid, GridMinorStyle: grid,
		},
		YAxis: chart.YAxis{
			Style:          axis,
			ValueFormatter: func(v any) string { f, _ := v.(float64); return formatUnit(f, g.unit) },
			Range:          &chart.ContinuousRange{Min: lo, Max: hi},
			Ticks:          ticks,
			GridMajorStyle: grid, GridMinorStyle: grid,
		},
		YAxisSecondary: chart.YAxis{Style: chart.Hidden()},
		Series:         series,
	}
	c.Elements = []chart.Renderable{func(r chart.Renderer, box chart.Box, defaults chart.Style) {
		font, _ := chart.GetDefaultFont()
		r.SetFont(font)
		r.SetFontSize(8)
		r.SetFontColor(drawing.ColorFromHex("475569"))
		drawTimeLabels(r, box, g, xlabels)
		drawLegend(r, legend, box, g, empty)
	}}
	var png bytes.Buffer
	if err := c.Render(chart.PNG, &png); err != nil {
		return nil, fmt.Errorf("rendering a graph: %w", err)
	}
	return png.Bytes(), nil
}

// niceTicks spreads about n ticks over [lo, hi] on round values (1, 2 or
// 5 times a power of ten), the first at or below lo and the last at or
// above hi.
func niceTicks(lo, hi float64, n int, unit string) []chart.Tick {
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	first := math.Floor(lo/step) * step
	var ticks []chart.Tick
	for v := first; ; v += step {
		// Round away float noise (0.30000000000000004).
		v = math.Round(v/step) * step
		ticks = append(ticks, chart.Tick{Value: v, Label: formatUnit(v, unit)})
		if v >= hi-step*1e-9 || len(ticks) > 50 {
			break
		}
	}
	return ticks
}

type legendEntry struct {
	name  string
	style chart.Style
}

// legend layout: a swatch, a gap and the name, entries side by side,
// wrapping; text width estimated at 6 pixels a character for the
// padding, measured when drawn.
const (
	swatchWidth = 22
	entryGap    = 16
	charWidth   = 6
)

func legendRows(entries []legendEntry, width int) int {
	if len(entries) == 0 {
		return 0
	}
	rows, x := 1, 0
	for _, e := range entries {
		w := swatchWidth + 4 + len([]rune(e.name))*charWidth
		if x > 0 && x+w > width {
			rows, x = rows+1, 0
		}
		x += w + entryGap
	}
	return rows
}

func drawLegend(r chart.Renderer, entries []legendEntry, box chart.Box, g graphRequest, empty bool) {
	r.SetFontColor(drawing.ColorFromHex("334155"))
	if empty {
		msg := "no data in this range"
		tb := r.MeasureText(msg)
		r.SetFontColor(drawing.ColorFromHex("64748b"))
		r.SetFontSize(10)
		r.Text(msg, box.Left+(box.Width()-tb.Width())/2, box.Top+box.Height()/2)
		r.SetFontSize(8)
		r.SetFontColor(drawing.ColorFromHex("334155"))
	}
	// Below the time axis' labels.
	y := box.Bottom + 40
	x := 16
	limit := g.width - 12
	for _, e := range entries {
		tb := r.MeasureText(e.name)
		w := swatchWidth + 4 + tb.Width()
		if x > 16 && x+w > limit {
			x, y = 16, y+16
		}
		if e.style.StrokeColor.A > 0 {
			r.SetStrokeColor(e.style.StrokeColor)
			r.SetStrokeWidth(2)
			r.SetStrokeDashArray(e.style.StrokeDashArray)
			r.MoveTo(x, y-4)
			r.LineTo(x+swatchWidth, y-4)
			r.Stroke()
		}
		r.SetStrokeDashArray(nil)
		r.Text(e.name, x+swatchWidth+4, y)
		x += w + entryGap
	}
}

// timeTicks places ticks on round local times (minutes, hours, days,
// months) about every 110 pixels, labelled as fits the step. go-chart
// places its labels by their measured height, which differs with the
// letters: the labels are drawn by drawTimeLabels instead.
func timeTicks(start, end time.Time, width int, loc *time.Location) []chart.Tick {
	const month = 30 * 24 * time.Hour
	span := end.Sub(start)
	want := span / time.Duration(max(2, width/110))
	steps := []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour,
		14 * 24 * time.Hour, month, 2 * month, 3 * month, 6 * month, 12 * month}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if s >= want {
			step = s
			break
		}
	}
	l := start.In(loc)
	var t time.Time
	switch {
	case step >= month:
		n := int(step / month)
		t = time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
		for (int(t.Month())-1)%n != 0 {
			t = t.AddDate(0, -1, 0)
		}
	case step >= 24*time.Hour:
		t = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		if step == 7*24*time.Hour || step == 14*24*time.Hour {
			for t.Weekday() != time.Monday {
				t = t.AddDate(0, 0, -1)
			}
		}
	default:
		// Round in local time: hours and minutes of the local clock.
		day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		t = day.Add(l.Sub(day) / step * step)
	}
	next := func(t time.Time) time.Time {
		switch {
		case step >= month:
			return t.AddDate(0, int(step/month), 0)
		case step >= 24*time.Hour:
			return t.AddDate(0, 0, int(step/(24*time.Hour)))
		}
		return t.Add(step)
	}
	// go-chart spans the axis from the first tick to the last: the range's
	// ends are ticks without labels.
	ticks := []chart.Tick{{Value: float64(start.UnixNano())}}
	for ; !t.After(end) && len(ticks) < 60; t = next(t) {
		if !t.After(start) || !t.Before(end) {
			continue
		}
		var label string
		switch {
		case step >= 12*month:
			label = t.Format("2006")
		case step >= month:
			label = t.Format("Jan 2006")
		case step >= 24*time.Hour:
			label = t.Format("2 Jan")
		case t.Hour() == 0 && t.Minute() == 0 && span > 12*time.Hour:
			label = t.Format("2 Jan")
		default:
			label = t.Format("15:04")
		}
		ticks = append(ticks, chart.Tick{Value: float64(t.UnixNano()), Label: label})
	}
	return append(ticks, chart.Tick{Value: float64(end.UnixNano())})
}

// drawTimeLabels writes the time ticks' labels on one baseline under the
// plot.
func drawTimeLabels(r chart.Renderer, box chart.Box, g graphRequest, ticks []chart.Tick) {
	span := float64(g.end.UnixNano() - g.start.UnixNano())
	for _, t := range ticks {
		if t.Label == "" {
			continue
		}
		x := box.Left + int(float64(box.Width())*(t.Value-float64(g.start.UnixNano()))/span)
		tb := r.MeasureText(t.Label)
		r.Text(t.Label, x-tb.Width()/2, box.Bottom+20)
	}
}

// formatUnit writes a value with its unit, scaled as the console does:
// seconds as ms or µs, bytes in KiB, MiB…, large counts with k, M, G; a
// trailing "/s" (rates) is kept.
func formatUnit(v float64, unit string) string {
	base, rate := strings.CutSuffix(unit, "/s")
	suffix := ""
	if rate {
		suffix = "/s"
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', 3, 64) }
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return num(v)
	}
	a := math.Abs(v)
	switch base {
	case "s", "ms", "us", "µs":
		secs := v * map[string]float64{"s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}[base]
		as := math.Abs(secs)
		switch {
		case as == 0:
			return "0" + suffix
		case as < 1e-3:
			return num(secs*1e6) + " µs" + suffix
		case as < 1:
			return num(secs*1e3) + " ms" + suffix
		case as < 120 || rate:
			return num(secs) + " s" + suffix
		case as < 7200:
			return num(secs/60) + " min"
		default:
			return num(secs/3600) + " h"
		}
	case "B", "KB", "MB", "GB", "TB":
		b := v * math.Pow(1024, float64(strings.Index("BKMGT", base[:1])))
		units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
		i := 0
		for math.Abs(b) >= 1024 && i < len(units)-1 {
			b /= 1024
			i++
		}
		return num(b) + " " + units[i] + suffix
	case "%":
		return num(v) + "%" + suffix
	}
	prefix := ""
	for _, p := range []struct {
		f float64
		s string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= p.f {
			v, prefix = v/p.f, p.s
			break
		}
	}
	out := num(v) + prefix
	if base != "" {
		out += " " + base
	}
	return out + suffix
}
