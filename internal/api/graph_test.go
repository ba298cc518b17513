package api

import (
	"bytes"
	"context"
	"image"
	"image/color"
	stdpng "image/png"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// fakeMetrics answers every range query with the same matrix, and keeps
// the last query and step.
type fakeMetrics struct {
	mat   promql.Matrix
	query string
	step  time.Duration
}

func (f *fakeMetrics) Query(ctx context.Context, q string, t time.Time) (parser.Value, error) {
	return promql.Vector{}, nil
}

func (f *fakeMetrics) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (parser.Value, error) {
	f.query, f.step = q, step
	return f.mat, nil
}

func (f *fakeMetrics) Series(ctx context.Context, sel []string, start, end time.Time) ([]map[string]string, error) {
	return nil, nil
}

func (f *fakeMetrics) LabelNames(ctx context.Context, start, end time.Time) ([]string, error) {
	return nil, nil
}

func (f *fakeMetrics) LabelValues(ctx context.Context, name string, start, end time.Time) ([]string, error) {
	return nil, nil
}

// wave is a series of n points 10 s apart ending at end.
func wave(end time.Time, n int, base, amp float64, kv ...string) promql.Series {
	s := promql.Series{Metric: labels.FromStrings(kv...)}
	for i := 0; i < n; i++ {
		t := end.Add(-time.Duration(n-1-i) * 10 * time.Second)
		if i > n/2 && i < n/2+30 {
			continue // a gap in the data
		}
		s.Floats = append(s.Floats, promql.FPoint{T: t.UnixMilli(), F: base + amp*math.Sin(float64(i)/40)})
	}
	return s
}

// colourCount counts the pixels close to c.
func colourCount(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(r>>8, uint32(c.R)) < 40 && absDiff(g>>8, uint32(c.G)) < 40 && absDiff(bl>>8, uint32(c.B)) < 40 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestGraphPNGDrawsThresholdsLegendAndTitle(t *testing.T) {
	end := time.Now().Truncate(time.Minute)
	fm := &fakeMetrics{mat: promql.Matrix{
		wave(end, 360, 3, 1.5, "__name__", "perfdata", "host", "h", "service", "echo", "metric", "a", "unit", "ms"),
		wave(end, 360, 4, 1, "__name__", "perfdata", "host", "h", "service", "echo", "metric", "b", "unit", "ms"),
	}}
	s := &Server{opts: Options{Metrics: fm}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	get := func(params url.Values) (*httptest.ResponseRecorder, image.Image) {
		rec := httptest.NewRecorder()
		s.graphPNG(rec, httptest.NewRequest("GET", "/api/v1/graph.png?"+params.Encode(), nil))
		if rec.Code != 200 {
			return rec, nil
		}
		img, err := stdpng.Decode(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatalf("decoding the PNG: %v", err)
		}
		if dir := os.Getenv("VIGIE_SHOTS"); dir != "" {
			os.WriteFile(filepath.Join(dir, "graph-"+params.Get("title")+".png"), rec.Body.Bytes(), 0o644)
		}
		return rec, img
	}
	params := url.Values{
		"query": {`rate(perfdata_total{host="h"}[$window]) or perfdata{host="h"}`}, "start": {strconv.FormatInt(end.Add(-time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)},
		"width": {"800"}, "height": {"300"}, "title": {"echo a, b"}, "unit": {"ms"}, "warning": {"5"}, "critical": {"6.5"}, "tz": {"Europe/Paris"},
	}
	rec, img := get(params)
	if img == nil {
		t.Fatalf("graph: %d %s", rec.Code, rec.Body)
	}
	if img.Bounds().Dx() != 800 || img.Bounds().Dy() != 300 || rec.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("size %v, type %s", img.Bounds(), rec.Header().Get("Content-Type"))
	}
	// $window became a window of at least two steps (and two minutes).
	if fm.query != `rate(perfdata_total{host="h"}[120s]) or perfdata{host="h"}` || fm.step != 9*time.Second {
		t.Errorf("query %q step %v", fm.query, fm.step)
	}
	// The threshold lines and both series are drawn in their colours.
	for name, c := range map[string]color.RGBA{
		"warning": {0xd9, 0x77, 0x06, 255}, "critical": {0xdc, 0x26, 0x26, 255},
		"series a": {0x25, 0x63, 0xeb, 255}, "series b": {0x08, 0x91, 0xb2, 255},
	} {
		if n := colourCount(img, c); n < 100 {
			t.Errorf("%s: %d pixels of its colour", name, n)
		}
	}
	// Without thresholds, no threshold colours.
	params.Del("warning")
	params.Del("critical")
	params.Set("title", "no thresholds")
	_, img = get(params)
	if n := colourCount(img, color.RGBA{0xdc, 0x26, 0x26, 255}); n > 20 {
		t.Errorf("critical colour drawn without a critical threshold: %d pixels", n)
	}
	// A long range of bytes, and an empty answer, still draw.
	params.Set("start", strconv.FormatInt(end.Add(-365*24*time.Hour).Unix(), 10))
	params.Set("unit", "B")
	params.Set("title", "a year")
	if rec, _ := get(params); rec.Code != 200 || fm.step < 20*time.Hour {
		t.Errorf("a year: %d, step %v", rec.Code, fm.step)
	}
	fm.mat = nil
	params.Set("title", "empty")
	if rec, _ := get(params); rec.Code != 200 {
		t.Errorf("empty: %d", rec.Code)
	}
	// Bounds.
	for _, bad := range []url.Values{
		{"query": {"up"}, "width": {"99999"}},
		{"query": {"up"}, "warning": {"x"}},
		{"query": {"up"}, "tz": {"Mars/Olympus"}},
		{"query": {"up"}, "start": {"0"}, "end": {strconv.FormatInt(end.Unix(), 10)}},
		{"query": {"up"}, "title": {string(make([]byte, 300))}},
	} {
		if rec, _ := get(bad); rec.Code != 400 {
			t.Errorf("%v: %d", bad, rec.Code)
		}
	}
}

func TestFormatUnit(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{0.0005, "s", "500 µs"}, {0.25, "s", "250 ms"}, {3, "s", "3 s"}, {600, "s", "10 min"},
		{250, "ms", "250 ms"}, {2500, "ms", "2.5 s"}, {3, "us", "3 µs"},
		{2048, "B", "2 KiB"}, {3, "MB", "3 MiB"}, {1536, "MB", "1.5 GiB"}, {1e6, "B/s", "977 KiB/s"},
		{50, "%", "50%"}, {12000, "", "12k"}, {2.5e6, "/s", "2.5M/s"}, {0.5, "", "0.5"}, {21, "°C", "21 °C"},
	} {
		if got := formatUnit(c.v, c.unit); got != c.want {
			t.Errorf("%v %s: %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}
