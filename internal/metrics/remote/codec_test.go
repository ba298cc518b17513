package remote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

var now0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func encodeReq(t testing.TB, req *prompb.WriteRequest) []byte {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

func series(name string, kv ...string) []prompb.Label {
	ls := []prompb.Label{{Name: "__name__", Value: name}}
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

func TestDecodeRoundTrip(t *testing.T) {
	var in []metrics.Sample
	for i := range 50 {
		in = append(in, metrics.Sample{
			Labels: map[string]string{"__name__": "perfdata", "host": "h" + string(rune('a'+i%5)), "metric": "time"},
			T:      now0.Add(time.Duration(i) * time.Second), V: float64(i) / 3,
		})
	}
	in = append(in, metrics.Sample{Labels: map[string]string{"__name__": "stale"}, T: now0, V: math.Float64frombits(0x7ff0000000000002)})
	body, err := EncodeWriteRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeWriteRequest(body, Limits{}, now0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Samples) != len(in) {
		t.Fatalf("decoded %d samples, sent %d", len(d.Samples), len(in))
	}
	// Grouped by series, each series in its order.
	got := map[string][]float64{}
	for _, s := range d.Samples {
		got[s.Labels["host"]] = append(got[s.Labels["host"]], s.V)
	}
	want := map[string][]float64{}
	for _, s := range in {
		want[s.Labels["host"]] = append(want[s.Labels["host"]], s.V)
	}
	for h, vs := range want {
		for i := range vs {
			if math.Float64bits(vs[i]) != math.Float64bits(got[h][i]) {
				t.Fatalf("series %q sample %d: got %v want %v", h, i, got[h][i], vs[i])
			}
		}
	}
}

// TestDecodeErrors: every malformed or oversize request is refused with
// the status and a message naming what is wrong.
func TestDecodeErrors(t *testing.T) {
	ok := prompb.Sample{Timestamp: now0.UnixMilli(), Value: 1}
	req := func(ts ...prompb.TimeSeries) []byte { return encodeReq(t, &prompb.WriteRequest{Timeseries: ts}) }
	many := func(n int) []byte {
		r := &prompb.WriteRequest{}
		for range n {
			r.Timeseries = append(r.Timeseries, prompb.TimeSeries{Labels: series("m"), Samples: []prompb.Sample{ok}})
		}
		return encodeReq(t, r)
	}
	lotsOfSamples := make([]prompb.Sample, 30)
	for i := range lotsOfSamples {
		lotsOfSamples[i] = prompb.Sample{Timestamp: now0.UnixMilli() + int64(i), Value: 1}
	}
	// A snappy block announcing 1 GiB: the varint length header only.
	var huge [binary.MaxVarintLen64]byte
	bomb := huge[:binary.PutUvarint(huge[:], 1<<30)]
	lim := Limits{MaxBodyBytes: 4096, MaxDecodedBytes: 8192, MaxSeries: 10, MaxSamples: 20, MaxLabels: 4, MaxLabelsTotal: 12, MaxLabelBytes: 32, MaxFuture: time.Minute}
	four := prompb.TimeSeries{Labels: series("m", "a", "1", "b", "2", "c", "3"), Samples: []prompb.Sample{ok}}

	cases := []struct {
		name   string
		body   []byte
		status int
		msg    string
	}{
		{"empty", nil, 400, "empty body"},
		{"not snappy", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 400, "not snappy"},
		{"body too large", make([]byte, 5000), 413, "request body over 4096 bytes"},
		{"decompression bomb", bomb, 413, "decompresses to 1073741824 bytes"},
		{"truncated snappy", snappy.Encode(nil, []byte("0123456789abcdef0123456789abcdef"))[:10], 400, "snappy"},
		{"not protobuf", snappy.Encode(nil, []byte{0x0a, 0xff, 0xff, 0xff}), 400, "decoding the protobuf"},
		{"too many series", many(11), 413, "more than 10 series"},
		{"too many samples", req(prompb.TimeSeries{Labels: series("m"), Samples: lotsOfSamples}), 413, "more than 20 samples"},
		{"too many labels", req(prompb.TimeSeries{Labels: series("m", "a", "1", "b", "2", "c", "3", "d", "4"), Samples: []prompb.Sample{ok}}), 400, "timeseries[0]: more than 4 labels"},
		{"too many labels in all", req(four, four, four, four), 413, "more than 12 labels in one request"},
		{"wrong wire type", snappy.Encode(nil, []byte{0x08, 0x01}), 400, "timeseries[0]: wrong wire type"},
		{"truncated sample", snappy.Encode(nil, []byte{0x0a, 0x04, 0x12, 0x02, 0x09, 0x00}), 400, "timeseries[0].samples[0]"},
		{"no name", req(prompb.TimeSeries{Labels: []prompb.Label{{Name: "job", Value: "x"}}, Samples: []prompb.Sample{ok}}), 400, "no metric name"},
		{"bad metric name", req(prompb.TimeSeries{Labels: series("1up"), Samples: []prompb.Sample{ok}}), 400, `invalid metric name "1up"`},
		{"bad label name", req(prompb.TimeSeries{Labels: series("m", "bad-name", "x"), Samples: []prompb.Sample{ok}}), 400, `timeseries[0].labels[1]: invalid label name "bad-name"`},
		{"label twice", req(prompb.TimeSeries{Labels: series("m", "a", "1", "a", "2"), Samples: []prompb.Sample{ok}}), 400, "label a given twice"},
		{"bad utf8", req(prompb.TimeSeries{Labels: series("m", "a", "\xff\xfe"), Samples: []prompb.Sample{ok}}), 400, "not valid UTF-8"},
		{"label too long", req(prompb.TimeSeries{Labels: series("m", "a", strings.Repeat("x", 33)), Samples: []prompb.Sample{ok}}), 400, "longer than 32 bytes"},
		{"future", req(prompb.TimeSeries{Labels: series("m"), Samples: []prompb.Sample{{Timestamp: now0.Add(time.Hour).UnixMilli()}}}), 400, "in the future"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeWriteRequest(c.body, lim, now0)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %v", err)
			}
			if e.Status != c.status || !strings.Contains(e.Msg, c.msg) {
				t.Fatalf("got %d %q, want %d containing %q", e.Status, e.Msg, c.status, c.msg)
			}
		})
	}
}

// TestReceiverHeaders: other protocols are refused with 415, not
// misread.
func TestReceiverHeaders(t *testing.T) {
	r := NewReceiver(nil, Limits{}, nil)
	for _, h := range []http.Header{
		{"Content-Encoding": {"gzip"}},
		{"Content-Type": {"application/json"}},
		{"Content-Type": {"application/x-protobuf;proto=io.prometheus.write.v2.Request"}},
	} {
		var e *Error
		if err := r.Receive(t.Context(), h, strings.NewReader("x")); !errors.As(err, &e) || e.Status != 415 {
			t.Errorf("%v: %v", h, err)
		}
	}
}

// writeSeed stores a seed in the corpus format of `go test -fuzz`.
func writeSeed(t *testing.T, name string, b []byte) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeWriteRequest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	s.WriteString("go test fuzz v1\n[]byte(")
	s.WriteString(quoteBytes(b))
	s.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(dir, name), []byte(s.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func quoteBytes(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			s.WriteByte(c)
		} else {
			s.WriteString(`\x`)
			s.WriteByte("0123456789abcdef"[c>>4])
			s.WriteByte("0123456789abcdef"[c&15])
		}
	}
	s.WriteByte('"')
	return s.String()
}

// TestDecodeBoundsMemory: a small body of millions of empty exemplars, or
// a histogram with a huge packed field, costs no more than its size (the
// generated prompb decoder allocated 374 MB for these 3 MB).
func TestDecodeBoundsMemory(t *testing.T) {
	var pb []byte
	ts := []byte{0x0a, 0x0a, 0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_', 0x12, 0x01, 'm'} // labels: __name__="m"
	ts[1] = byte(len(ts) - 2)
	ts = append(ts, 0x12, 0x00) // one sample, zero
	for range 1_000_000 {
		ts = append(ts, 0x1a, 0x00) // an empty exemplar
	}
	// A histogram whose packed positive deltas (field 10) hold 1 MB of varints.
	h := protowireBytes(10, bytes.Repeat([]byte{0x01}, 1<<20))
	ts = append(ts, protowireBytes(4, h)...)
	pb = protowireBytes(1, ts)
	body := snappy.Encode(nil, pb)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := DecodeWriteRequest(body, Limits{}, now0)
	runtime.ReadMemStats(&after)
	if err != nil || len(d.Samples) != 1 || d.Histograms != 1 {
		t.Fatalf("%d samples, %d histograms, %v", len(d.Samples), d.Histograms, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*uint64(len(pb))+1<<20 {
		t.Fatalf("decoding %d bytes allocated %d", len(pb), alloc)
	}
}

func protowireBytes(num int, b []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(num)<<3|2)
	out = binary.AppendUvarint(out, uint64(len(b)))
	return append(out, b...)
}
