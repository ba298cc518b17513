// Package remote speaks the Prometheus remote-write 1.0 protocol
// (snappy-compressed protobuf prompb.WriteRequest) both ways: a Writer
// forwards samples to any receiver (Prometheus, VictoriaMetrics, Mimir,
// another vigie) through a bounded on-disk queue, and a Receiver decodes
// the pushes of a Prometheus or an agent, with bounds on everything.
package remote

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// The headers of remote write 1.0.
const (
	ContentType     = "application/x-protobuf"
	ContentEncoding = "snappy"
	ProtocolVersion = "0.1.0"
)

// Limits bound what one remote-write request may carry. Zero fields take
// the defaults of DefaultLimits.
type Limits struct {
	// MaxBodyBytes bounds the compressed body (answered 413).
	MaxBodyBytes int64
	// MaxDecodedBytes bounds the body once decompressed; the length snappy
	// announces is checked before anything is decompressed (413).
	MaxDecodedBytes int64
	// MaxSeries and MaxSamples bound one request (counted before the
	// protobuf is decoded, so that a request of tiny empty messages cannot
	// blow up in memory).
	MaxSeries  int
	MaxSamples int
	// MaxLabels bounds the labels of one series, MaxLabelsTotal those of
	// a request, MaxLabelBytes the length of one label name or value.
	MaxLabels      int
	MaxLabelsTotal int
	MaxLabelBytes  int
	// MaxFuture refuses samples stamped further ahead than this.
	MaxFuture time.Duration
}

// DefaultLimits are generous for a Prometheus (which sends 2,000 samples
// a request by default) and still bound memory to some hundreds of MB.
var DefaultLimits = Limits{
	MaxBodyBytes:    10 << 20,
	MaxDecodedBytes: 64 << 20,
	MaxSeries:       100_000,
	MaxSamples:      1_000_000,
	MaxLabels:       256,
	MaxLabelsTotal:  4_000_000,
	MaxLabelBytes:   64 << 10,
	MaxFuture:       10 * time.Minute,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set(&d.MaxBodyBytes, l.MaxBodyBytes)
	set(&d.MaxDecodedBytes, l.MaxDecodedBytes)
	set(&d.MaxSeries, l.MaxSeries)
	set(&d.MaxSamples, l.MaxSamples)
	set(&d.MaxLabels, l.MaxLabels)
	set(&d.MaxLabelsTotal, l.MaxLabelsTotal)
	set(&d.MaxLabelBytes, l.MaxLabelBytes)
	set(&d.MaxFuture, l.MaxFuture)
	return d
}

// set overrides a default with a positive value (0 keeps the default).
func set[T int | int64 | time.Duration](dst *T, v T) {
	if v > 0 {
		*dst = v
	}
}

// Error is a request refused by the decoder or the receiver, with the HTTP
// status to answer and a reason for counters.
type Error struct {
	Status int
	Reason string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func badRequest(reason, format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Reason: reason, Msg: fmt.Sprintf(format, a...)}
}

func tooLarge(format string, a ...any) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Reason: "too_large", Msg: fmt.Sprintf(format, a...)}
}

// Decoded is the content of one request.
type Decoded struct {
	Samples []metrics.Sample
	// Histograms counts native histogram samples, which vigie's store
	// does not keep; they are skipped.
	Histograms int
}

// DecodeWriteRequest decodes a snappy-compressed prompb.WriteRequest,
// checking every bound before the work it guards: the decompressed length
// snappy announces before decompressing, then, in one pass over the
// protobuf, the counts of series, labels and samples as they come, every
// label and every time. Errors are *Error. Samples of one series share
// one label map.
//
// The protobuf is walked here (with protowire) rather than unmarshalled
// into prompb types: the generated decoder would allocate for exemplars,
// histograms and packed fields before any bound could be checked, a
// hundredfold blow-up of a small body at worst. Exemplars and metadata
// are skipped; histograms are counted, not decoded.
func DecodeWriteRequest(body []byte, lim Limits, now time.Time) (Decoded, error) {
	lim = lim.withDefaults()
	if int64(len(body)) > lim.MaxBodyBytes {
		return Decoded{}, tooLarge("request body over %d bytes", lim.MaxBodyBytes)
	}
	if len(body) == 0 {
		return Decoded{}, badRequest("malformed", "empty body: expected a snappy-compressed protobuf WriteRequest")
	}
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return Decoded{}, badRequest("malformed", "body is not snappy-compressed (block format): %v", err)
	}
	if int64(n) > lim.MaxDecodedBytes {
		return Decoded{}, tooLarge("body decompresses to %d bytes, over the limit of %d", n, lim.MaxDecodedBytes)
	}
	raw, err := snappy.Decode(make([]byte, n), body)
	if err != nil {
		return Decoded{}, badRequest("malformed", "decompressing the body (snappy): %v", err)
	}
	d := decoder{lim: lim, latest: now.Add(lim.MaxFuture).UnixMilli()}
	if err := d.request(raw); err != nil {
		return Decoded{}, err
	}
	return d.out, nil
}

// decoder walks a WriteRequest:
//
//	WriteRequest { repeated TimeSeries timeseries = 1; metadata = 3 }
//	TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
//	               exemplars = 3; histograms = 4 }
//	Label        { string name = 1; string value = 2 }
//	Sample       { double value = 1; int64 timestamp = 2 }
type decoder struct {
	lim     Limits
	latest  int64
	out     Decoded
	series  int
	labels  int
	pending []prompb.Sample // one series' samples, until its labels are known
}

func malformed(format string, a ...any) *Error {
	return badRequest("malformed", "decoding the protobuf WriteRequest: "+format, a...)
}

// field reads one field's tag and value: bytes for length-delimited
// fields, the number for varint and fixed64 ones.
func field(b []byte) (num protowire.Number, typ protowire.Type, val []byte, x uint64, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, nil, 0, nil, protowire.ParseError(n)
	}
	b = b[n:]
	switch typ {
	case protowire.BytesType:
		val, n = protowire.ConsumeBytes(b)
	case protowire.VarintType:
		x, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		x, n = protowire.ConsumeFixed64(b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return 0, 0, nil, 0, nil, protowire.ParseError(n)
	}
	return num, typ, val, x, b[n:], nil
}

func (d *decoder) request(b []byte) error {
	for len(b) > 0 {
		num, typ, val, _, rest, err := field(b)
		if err != nil {
			return malformed("%v", err)
		}
		b = rest
		if num != 1 {
			continue // metadata and unknown fields
		}
		if typ != protowire.BytesType {
			return malformed("timeseries[%d]: wrong wire type", d.series)
		}
		if d.series++; d.series > d.lim.MaxSeries {
			return tooLarge("more than %d series in one request", d.lim.MaxSeries)
		}
		if err := d.timeSeries(val, d.series-1); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) timeSeries(b []byte, i int) error {
	ls := map[string]string{}
	nl := 0
	d.pending = d.pending[:0]
	for len(b) > 0 {
		num, typ, val, _, rest, err := field(b)
		if err != nil {
			return malformed("timeseries[%d]: %v", i, err)
		}
		b = rest
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			if nl++; nl > d.lim.MaxLabels {
				return badRequest("invalid", "timeseries[%d]: more than %d labels", i, d.lim.MaxLabels)
			}
			if d.labels++; d.labels > d.lim.MaxLabelsTotal {
				return tooLarge("more than %d labels in one request", d.lim.MaxLabelsTotal)
			}
			if err := d.label(val, ls, i, nl-1); err != nil {
				return err
			}
		case 2:
			if len(d.out.Samples)+len(d.pending)+1 > d.lim.MaxSamples {
				return tooLarge("more than %d samples in one request", d.lim.MaxSamples)
			}
			s, err := sample(val)
			if err != nil {
				return malformed("timeseries[%d].samples[%d]: %v", i, len(d.pending), err)
			}
			d.pending = append(d.pending, s)
		case 4:
			d.out.Histograms++
		}
	}
	for k, v := range ls {
		if v == "" {
			delete(ls, k) // an empty value is an absent label
		}
	}
	name, ok := ls["__name__"]
	if !ok {
		return badRequest("invalid", "timeseries[%d]: no metric name (label __name__)", i)
	}
	if !validMetricName(name) {
		return badRequest("invalid", "timeseries[%d]: invalid metric name %q (expected [a-zA-Z_:][a-zA-Z0-9_:]*)", i, name)
	}
	for j, s := range d.pending {
		if s.Timestamp > d.latest {
			return badRequest("invalid", "timeseries[%d].samples[%d] of %s: time %s is more than %v in the future",
				i, j, name, time.UnixMilli(s.Timestamp).UTC().Format(time.RFC3339), d.lim.MaxFuture)
		}
		d.out.Samples = append(d.out.Samples, metrics.Sample{Labels: ls, T: time.UnixMilli(s.Timestamp).UTC(), V: s.Value})
	}
	return nil
}

func (d *decoder) label(b []byte, ls map[string]string, i, j int) error {
	var name, value []byte
	for len(b) > 0 {
		num, typ, val, _, rest, err := field(b)
		if err != nil {
			return malformed("timeseries[%d].labels[%d]: %v", i, j, err)
		}
		b = rest
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			name = val
		case 2:
			value = val
		}
	}
	at := func() string { return fmt.Sprintf("timeseries[%d].labels[%d]", i, j) }
	if len(name) > d.lim.MaxLabelBytes || len(value) > d.lim.MaxLabelBytes {
		return badRequest("invalid", "%s: name or value longer than %d bytes", at(), d.lim.MaxLabelBytes)
	}
	if !validLabelName(string(name)) {
		return badRequest("invalid", "%s: invalid label name %q (expected [a-zA-Z_][a-zA-Z0-9_]*)", at(), name)
	}
	if !utf8.Valid(value) {
		return badRequest("invalid", "%s: value of %s is not valid UTF-8", at(), name)
	}
	if _, dup := ls[string(name)]; dup {
		return badRequest("invalid", "%s: label %s given twice", at(), name)
	}
	ls[string(name)] = string(value)
	return nil
}

func sample(b []byte) (prompb.Sample, error) {
	var s prompb.Sample
	for len(b) > 0 {
		num, typ, _, x, rest, err := field(b)
		if err != nil {
			return s, err
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			s.Value = math.Float64frombits(x)
		case num == 2 && typ == protowire.VarintType:
			s.Timestamp = int64(x)
		case num == 1 || num == 2:
			return s, fmt.Errorf("field %d: wrong wire type", num)
		}
	}
	return s, nil
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// encodeSamples builds a WriteRequest of samples, one TimeSeries per label
// set (samples of a series keep their order), label names sorted as the
// protocol requires.
func encodeSamples(samples []metrics.Sample) *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	index := map[string]int{}
	var key strings.Builder
	names := make([]string, 0, 8)
	for _, s := range samples {
		names = names[:0]
		for k := range s.Labels {
			names = append(names, k)
		}
		sort.Strings(names)
		key.Reset()
		for _, k := range names {
			key.WriteString(k)
			key.WriteByte(0xff)
			key.WriteString(s.Labels[k])
			key.WriteByte(0xfe)
		}
		i, ok := index[key.String()]
		if !ok {
			ls := make([]prompb.Label, 0, len(names))
			for _, k := range names {
				ls = append(ls, prompb.Label{Name: k, Value: s.Labels[k]})
			}
			i = len(req.Timeseries)
			index[key.String()] = i
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls})
		}
		req.Timeseries[i].Samples = append(req.Timeseries[i].Samples, prompb.Sample{Timestamp: s.T.UnixMilli(), Value: s.V})
	}
	return req
}

// EncodeWriteRequest encodes samples as a remote-write body: a
// snappy-compressed protobuf WriteRequest.
func EncodeWriteRequest(samples []metrics.Sample) ([]byte, error) {
	b, err := encodeSamples(samples).Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the WriteRequest: %w", err)
	}
	return snappy.Encode(nil, b), nil
}
