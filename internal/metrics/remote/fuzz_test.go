package remote

import (
	"errors"
	"flag"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// fuzzNow is late enough for the real request of the corpus to be in the past.
var fuzzNow = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the generated seeds of FuzzDecodeWriteRequest in testdata")

// FuzzDecodeWriteRequest: whatever the bytes, the decoder answers an
// *Error or samples within the limits, each with a valid name, and never
// panics. Seeds: testdata/fuzz/FuzzDecodeWriteRequest (requests encoded
// here, one a real Prometheus 2.42 sent, and malformed ones).
func FuzzDecodeWriteRequest(f *testing.F) {
	lim := Limits{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 4 << 20, MaxSeries: 1000, MaxSamples: 5000, MaxLabels: 32, MaxLabelBytes: 1024, MaxFuture: time.Hour}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeWriteRequest(body, lim, fuzzNow)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge) || e.Msg == "" {
				t.Fatalf("error is not a 400/413 *Error: %#v", err)
			}
			return
		}
		if len(d.Samples) > lim.MaxSamples {
			t.Fatalf("%d samples over the limit", len(d.Samples))
		}
		for _, s := range d.Samples {
			if !validMetricName(s.Labels["__name__"]) || len(s.Labels) > lim.MaxLabels {
				t.Fatalf("sample with labels %v", s.Labels)
			}
			if s.T.After(fuzzNow.Add(lim.MaxFuture)) {
				t.Fatalf("sample in the future: %v", s.T)
			}
		}
		// What was accepted encodes and decodes to the same count.
		again, err := EncodeWriteRequest(d.Samples)
		if err != nil {
			t.Fatal(err)
		}
		if d2, err := DecodeWriteRequest(again, Limits{}, fuzzNow); err != nil || len(d2.Samples) != len(d.Samples) {
			t.Fatalf("re-encoded: %d samples, %v", len(d2.Samples), err)
		}
	})
}

// TestWriteFuzzSeeds regenerates the encoded seeds with -write-seeds.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to regenerate the seeds")
	}
	ok := prompb.Sample{Timestamp: now0.UnixMilli(), Value: 42}
	good := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: series("perfdata", "host", "web1", "metric", "time", "unit", "s"), Samples: []prompb.Sample{ok, {Timestamp: ok.Timestamp + 1000, Value: 0.5}}},
		{Labels: series("up", "job", "node"), Samples: []prompb.Sample{{Timestamp: ok.Timestamp, Value: math.Float64frombits(0x7ff0000000000002)}}},
	}, Metadata: []prompb.MetricMetadata{{MetricFamilyName: "up", Type: prompb.MetricMetadata_GAUGE, Help: "up"}}}
	writeSeed(t, "good", encodeReq(t, good))
	writeSeed(t, "histogram", encodeReq(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: series("h"), Histograms: []prompb.Histogram{{Timestamp: ok.Timestamp, Schema: 3}}}}}))
	writeSeed(t, "no-name", encodeReq(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: []prompb.Label{{Name: "a", Value: "b"}}, Samples: []prompb.Sample{ok}}}}))
	writeSeed(t, "bad-label", encodeReq(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: series("m", "a-b", "c"), Samples: []prompb.Sample{ok}}}}))
	writeSeed(t, "future", encodeReq(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: series("m"), Samples: []prompb.Sample{{Timestamp: math.MaxInt64}}}}}))
	writeSeed(t, "not-protobuf", snappy.Encode(nil, []byte{0x0a, 0xff, 0xff, 0xff, 0x0f}))
	writeSeed(t, "not-snappy", []byte("this is not snappy"))
	writeSeed(t, "bomb", []byte{0x80, 0x80, 0x80, 0x80, 0x04})
	writeSeed(t, "empty", nil)
}

// TestRealPrometheusSeed: the request a Prometheus 2.42 sent (scraping
// itself) decodes.
func TestRealPrometheusSeed(t *testing.T) {
	b, err := os.ReadFile("testdata/fuzz/FuzzDecodeWriteRequest/prometheus-2.42")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := strings.CutPrefix(strings.TrimSpace(string(b)), "go test fuzz v1\n[]byte(")
	body, err := strconv.Unquote(strings.TrimSuffix(s, ")"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeWriteRequest([]byte(body), Limits{}, fuzzNow)
	if err != nil || len(d.Samples) < 50 {
		t.Fatalf("%d samples, %v", len(d.Samples), err)
	}
	// The generated decoder reads the same samples.
	var req prompb.WriteRequest
	raw, _ := snappy.Decode(nil, []byte(body))
	if err := req.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	k := 0
	for _, ts := range req.Timeseries {
		for _, smp := range ts.Samples {
			got := d.Samples[k]
			if got.T.UnixMilli() != smp.Timestamp || math.Float64bits(got.V) != math.Float64bits(smp.Value) || len(got.Labels) != len(ts.Labels) {
				t.Fatalf("sample %d: %+v, prompb says %+v %v", k, got, smp, ts.Labels)
			}
			for _, l := range ts.Labels {
				if got.Labels[l.Name] != l.Value {
					t.Fatalf("sample %d: label %s=%q, prompb says %q", k, l.Name, got.Labels[l.Name], l.Value)
				}
			}
			k++
		}
	}
	if k != len(d.Samples) {
		t.Fatalf("%d samples, prompb says %d", len(d.Samples), k)
	}
	names := map[string]bool{}
	for _, s := range d.Samples {
		names[s.Labels["__name__"]] = true
	}
	if !names["up"] && !names["scrape_duration_seconds"] && !names["prometheus_build_info"] {
		t.Fatalf("no familiar series among %d names", len(names))
	}
}
