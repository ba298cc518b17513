package api

import (
	"bytes"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql"
	chart "github.com/wcharczuk/go-chart/v2"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// maxGraphSeries bounds the lines of one rendered graph.
const maxGraphSeries = 20

// graphPNG renders a PromQL range query as a PNG, for mail, reports and
// the console's export button: /api/v1/graph.png?query=&start=&end=&width=&height=.
func (s *Server) graphPNG(w http.ResponseWriter, r *http.Request) {
	if s.opts.Metrics == nil {
		writeError(w, http.StatusNotFound, "not_found", "no time-series store")
		return
	}
	q := r.URL.Query()
	query := q.Get("query")
	if query == "" || len(query) > maxQueryLen {
		s.writeErr(w, badField("query", "required, at most 16 KiB"))
		return
	}
	end, err := promTime(q.Get("end"), time.Now())
	if err != nil {
		s.writeErr(w, badField("end", "must be RFC 3339 or Unix seconds"))
		return
	}
	start, err := promTime(q.Get("start"), end.Add(-time.Hour))
	if err != nil || !start.Before(end) {
		s.writeErr(w, badField("start", "must be RFC 3339 or Unix seconds, before end"))
		return
	}
	size := func(name string, def, min, max int) (int, bool) {
		v := q.Get(name)
		if v == "" {
			return def, true
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= min && n <= max
	}
	width, ok1 := size("width", 800, 100, 4000)
	height, ok2 := size("height", 300, 80, 3000)
	if !ok1 || !ok2 {
		s.writeErr(w, badField("width", "width 100..4000 and height 80..3000 pixels"))
		return
	}
	step := end.Sub(start) / time.Duration(width/2)
	if step < time.Second {
		step = time.Second
	}
	v, err := s.opts.Metrics.QueryRange(r.Context(), query, start, end, step)
	if errors.Is(err, metrics.ErrBadQuery) {
		s.writeErr(w, badField("query", "%v", err))
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	mat, _ := v.(promql.Matrix)
	sort.Slice(mat, func(i, j int) bool { return mat[i].Metric.String() < mat[j].Metric.String() })
	var series []chart.Series
	for _, s := range mat {
		if len(series) == maxGraphSeries {
			break
		}
		if len(s.Floats) == 0 {
			continue
		}
		ts := chart.TimeSeries{Name: legendOf(s.Metric.Map())}
		for _, p := range s.Floats {
			ts.XValues = append(ts.XValues, time.UnixMilli(p.T))
			ts.YValues = append(ts.YValues, p.F)
		}
		if len(ts.XValues) == 1 {
			// A line needs two points: hold the only value for one step.
			ts.XValues = append(ts.XValues, ts.XValues[0].Add(step))
			ts.YValues = append(ts.YValues, ts.YValues[0])
		}
		series = append(series, ts)
	}
	title := ""
	if len(series) == 0 {
		// Mail and reports still get an image, saying so.
		title = "no data in this range"
		series = append(series, chart.TimeSeries{Name: "none", XValues: []time.Time{start, end}, YValues: []float64{0, 0}})
	}
	c := chart.Chart{
		Title: title, Width: width, Height: height,
		Background: chart.Style{Padding: chart.Box{Top: 20, Left: 10, Right: 10, Bottom: 10}},
		XAxis:      chart.XAxis{ValueFormatter: chart.TimeMinuteValueFormatter},
		Series:     series,
	}
	if len(series) > 1 {
		c.Elements = []chart.Renderable{chart.Legend(&c)}
	}
	var png bytes.Buffer
	if err := c.Render(chart.PNG, &png); err != nil {
		s.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Disposition", `inline; filename="vigie-graph.png"`)
	w.Write(png.Bytes())
}

// legendOf names a series by its labels, the name and the obvious ones
// first.
func legendOf(m map[string]string) string {
	var parts []string
	for _, k := range []string{"host", "service", "metric"} {
		if v, ok := m[k]; ok {
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		return m["__name__"]
	}
	return strings.Join(parts, " ")
}
