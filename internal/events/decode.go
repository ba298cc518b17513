package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds of what Decode accepts. A larger document, a longer field or more
// events is refused with an error naming what was too large.
const (
	MaxDecodeBytes  = 1 << 20 // one document
	MaxBatchEvents  = 1000    // events in one array
	MaxNameBytes    = 255     // connector, connector_name, component, resource…
	MaxOutputBytes  = 64 << 10
	MaxTags         = 64
	MaxTagKeyBytes  = 255
	MaxTagValueByte = 1024
)

// DecodeError says why a document was refused and which field caused it.
// Index is the event's place in an array, -1 for a single object.
type DecodeError struct {
	Index int
	Field string
	Msg   string
	// Syntax is set when the document is not JSON at all.
	Syntax bool
}

// Path names the field in the document: "state", "[3].component".
func (e *DecodeError) Path() string {
	p := e.Field
	if e.Index >= 0 {
		p = fmt.Sprintf("[%d]", e.Index)
		if e.Field != "" {
			p += "." + e.Field
		}
	}
	return p
}

func (e *DecodeError) Error() string {
	if p := e.Path(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// canopsisEvent is the wire form of an event, as Canopsis sends it.
type canopsisEvent struct {
	Connector     *string         `json:"connector"`
	ConnectorName *string         `json:"connector_name"`
	EventType     *string         `json:"event_type"`
	SourceType    *string         `json:"source_type"`
	Component     *string         `json:"component"`
	Resource      *string         `json:"resource"`
	State         json.RawMessage `json:"state"`
	Output        *string         `json:"output"`
	LongOutput    *string         `json:"long_output"`
	Timestamp     json.RawMessage `json:"timestamp"`
	PerfData      *string         `json:"perf_data"`
	Tags          json.RawMessage `json:"tags"`

	// Fields of the Canopsis form that vigie has no column for. Real
	// senders (Canopsis connectors, Centreon's stream connector, old
	// scripts) put them in, so they are accepted: the names become tags,
	// perf_data_array becomes perf_data, scheduled is ignored.
	StateType     json.RawMessage `json:"state_type"`
	DisplayName   *string         `json:"display_name"`
	Author        *string         `json:"author"`
	Initiator     *string         `json:"initiator"`
	Scheduled     *bool           `json:"scheduled"`
	PerfDataArray json.RawMessage `json:"perf_data_array"`
}

// perfPoint is one entry of Canopsis' perf_data_array.
type perfPoint struct {
	Metric string   `json:"metric"`
	Value  *float64 `json:"value"`
	Unit   string   `json:"unit"`
	Min    *float64 `json:"min"`
	Max    *float64 `json:"max"`
	Warn   *float64 `json:"warn"`
	Crit   *float64 `json:"crit"`
	Type   string   `json:"type"`
}

// MaxPerfPoints bounds perf_data_array.
const MaxPerfPoints = 256

// Decode reads one event or an array of events in the Canopsis form
// (connector, connector_name, event_type, source_type, component,
// resource, state, output, long_output, timestamp, perf_data, tags).
// Decoding is strict: unknown fields, missing required fields, a state
// outside 0..3 and oversized values are refused with a *DecodeError
// naming the field. An event without a timestamp gets the current time.
func Decode(data []byte) ([]Event, error) {
	return DecodeAt(data, time.Now())
}

// DecodeAt is Decode with the time given to events without a timestamp.
func DecodeAt(data []byte, now time.Time) ([]Event, error) {
	if len(data) > MaxDecodeBytes {
		return nil, &DecodeError{Index: -1, Msg: fmt.Sprintf("document is larger than %d bytes", MaxDecodeBytes)}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, &DecodeError{Index: -1, Msg: "empty document: want an event object or an array of them"}
	}
	now = now.UTC()
	if trimmed[0] != '[' {
		ev, err := decodeOne(data, -1, now)
		if err != nil {
			return nil, err
		}
		return []Event{ev}, nil
	}
	var raws []json.RawMessage
	if err := strictUnmarshal(data, &raws); err != nil {
		return nil, jsonError(err, -1)
	}
	if len(raws) == 0 {
		return nil, &DecodeError{Index: -1, Msg: "empty array: want at least one event"}
	}
	if len(raws) > MaxBatchEvents {
		return nil, &DecodeError{Index: -1, Msg: fmt.Sprintf("%d events in one array, at most %d", len(raws), MaxBatchEvents)}
	}
	evs := make([]Event, 0, len(raws))
	for i, raw := range raws {
		ev, err := decodeOne(raw, i, now)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// strictUnmarshal decodes exactly one JSON value, refusing unknown fields
// and trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// jsonError turns encoding/json's errors into a DecodeError naming the field.
func jsonError(err error, index int) error {
	var (
		te *json.UnmarshalTypeError
		se *json.SyntaxError
	)
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return &DecodeError{Index: index, Msg: fmt.Sprintf("want an event object, not a JSON %s", te.Value)}
		}
		return &DecodeError{Index: index, Field: field, Msg: fmt.Sprintf("must not be a JSON %s", te.Value)}
	case errors.As(err, &se):
		return &DecodeError{Index: index, Msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se), Syntax: true}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &DecodeError{Index: index, Msg: "malformed JSON: unexpected end of the document", Syntax: true}
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, `json: unknown field "`); ok {
		return &DecodeError{Index: index, Field: strings.TrimSuffix(f, `"`), Msg: "unknown field"}
	}
	return &DecodeError{Index: index, Msg: strings.TrimPrefix(msg, "json: ")}
}

func decodeOne(data []byte, index int, now time.Time) (Event, error) {
	var ce canopsisEvent
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		if !json.Valid(data) {
			return Event{}, &DecodeError{Index: index, Msg: "malformed JSON: want an event object", Syntax: true}
		}
		return Event{}, &DecodeError{Index: index, Msg: "want an event object"}
	}
	if err := strictUnmarshal(data, &ce); err != nil {
		return Event{}, jsonError(err, index)
	}
	fail := func(field, format string, a ...any) (Event, error) {
		return Event{}, &DecodeError{Index: index, Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	ev := Event{Time: now}
	for _, f := range []struct {
		name     string
		v        *string
		dst      *string
		required bool
		max      int
	}{
		{"connector", ce.Connector, &ev.Connector, true, MaxNameBytes},
		{"connector_name", ce.ConnectorName, &ev.ConnectorName, true, MaxNameBytes},
		{"event_type", ce.EventType, &ev.EventType, true, MaxNameBytes},
		{"source_type", ce.SourceType, &ev.SourceType, true, MaxNameBytes},
		{"component", ce.Component, &ev.Component, true, MaxNameBytes},
		{"resource", ce.Resource, &ev.Resource, false, MaxNameBytes},
		{"output", ce.Output, &ev.Output, false, MaxOutputBytes},
		{"long_output", ce.LongOutput, &ev.LongOutput, false, MaxOutputBytes},
		{"perf_data", ce.PerfData, &ev.PerfData, false, MaxOutputBytes},
	} {
		if f.v == nil || *f.v == "" {
			if f.required {
				return fail(f.name, "is required")
			}
			continue
		}
		if len(*f.v) > f.max {
			return fail(f.name, "is longer than %d bytes", f.max)
		}
		if f.max == MaxNameBytes && strings.ContainsAny(*f.v, "\x00\r\n") {
			return fail(f.name, "must not contain control characters")
		}
		*f.dst = *f.v
	}
	switch ev.EventType {
	case TypeCheck, TypeLog:
	default:
		return fail("event_type", "must be %q or %q, not %q", TypeCheck, TypeLog, clip(ev.EventType))
	}
	switch ev.SourceType {
	case "component":
	case "resource":
		if ev.Resource == "" {
			return fail("resource", "is required when source_type is resource")
		}
	default:
		return fail("source_type", `must be "component" or "resource", not %q`, clip(ev.SourceType))
	}
	if state, ok := number(ce.State); !ok {
		if ev.EventType == TypeCheck {
			return fail("state", "is required for a check event (0 to 3)")
		}
	} else {
		n, err := strconv.ParseInt(state, 10, 8)
		if err != nil || n < StateOK || n > StateCritical {
			return fail("state", "must be an integer between 0 and 3, not %s", clip(string(ce.State)))
		}
		ev.State = int(n)
	}
	if ts, ok := number(ce.Timestamp); ok {
		f, err := strconv.ParseFloat(ts, 64)
		// Between 1970 and 2200, in seconds: milliseconds are a mistake.
		if err != nil || math.IsNaN(f) || f < 0 || f > 7258118400 {
			return fail("timestamp", "must be Unix seconds, not %s", clip(string(ce.Timestamp)))
		}
		sec, frac := math.Modf(f)
		ev.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	tags, err := decodeTags(ce.Tags)
	if err != nil {
		return fail("tags", "%s", err)
	}
	if len(tags) > MaxTags {
		return fail("tags", "has %d entries, at most %d", len(tags), MaxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > MaxTagKeyBytes {
			return fail("tags", "key %q must be 1 to %d bytes", clip(k), MaxTagKeyBytes)
		}
		if len(v) > MaxTagValueByte {
			return fail("tags."+clip(k), "is longer than %d bytes", MaxTagValueByte)
		}
	}
	// The Canopsis fields without a column of their own are kept as tags,
	// unless the sender set a tag of that name itself.
	extra := func(name, v string) {
		if v == "" {
			return
		}
		if tags == nil {
			tags = map[string]string{}
		}
		if _, set := tags[name]; !set {
			tags[name] = v
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"display_name", ce.DisplayName}, {"author", ce.Author}, {"initiator", ce.Initiator}} {
		if f.v == nil {
			continue
		}
		if len(*f.v) > MaxNameBytes {
			return fail(f.name, "is longer than %d bytes", MaxNameBytes)
		}
		extra(f.name, *f.v)
	}
	if st, ok := number(ce.StateType); ok {
		switch st {
		case "0":
			extra("state_type", "soft")
		case "1":
			extra("state_type", "hard")
		default:
			return fail("state_type", "must be 0 (soft) or 1 (hard), not %s", clip(st))
		}
	}
	if len(tags) > 0 {
		ev.Tags = tags
	}
	if _, ok := number(ce.PerfDataArray); ok {
		pd, err := perfDataOf(ce.PerfDataArray)
		if err != nil {
			return fail("perf_data_array", "%s", err)
		}
		if ev.PerfData == "" {
			ev.PerfData = pd
		}
	}
	return ev, nil
}

// decodeTags reads tags as an object of strings or, as older Canopsis
// senders write them, an array of strings (each a tag without a value).
func decodeTags(raw json.RawMessage) (map[string]string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	if t[0] == '[' {
		var l []string
		if err := json.Unmarshal(t, &l); err != nil {
			return nil, errors.New("must be an object of strings or an array of strings")
		}
		if len(l) > MaxTags {
			return nil, fmt.Errorf("has %d entries, at most %d", len(l), MaxTags)
		}
		m := make(map[string]string, len(l))
		for _, k := range l {
			m[k] = ""
		}
		return m, nil
	}
	var m map[string]string
	if err := json.Unmarshal(t, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("must not be a JSON %s", te.Value)
		}
		return nil, errors.New("must be an object of strings or an array of strings")
	}
	return m, nil
}

// perfDataOf writes Canopsis' perf_data_array in the Nagios perfdata form
// the rest of vigie reads: 'label'=value[unit];warn;crit;min;max.
// Keys of a point vigie has no use for are ignored.
func perfDataOf(raw json.RawMessage) (string, error) {
	var points []perfPoint
	if err := json.Unmarshal(raw, &points); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return "", fmt.Errorf("%s must not be a JSON %s", te.Field, te.Value)
		}
		return "", errors.New("must be an array of {metric, value, unit, min, max, warn, crit, type}")
	}
	if len(points) > MaxPerfPoints {
		return "", fmt.Errorf("has %d entries, at most %d", len(points), MaxPerfPoints)
	}
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	var b strings.Builder
	for i, p := range points {
		switch {
		case p.Metric == "" || len(p.Metric) > MaxNameBytes:
			return "", fmt.Errorf("[%d].metric must be 1 to %d bytes", i, MaxNameBytes)
		case strings.ContainsAny(p.Metric, "'=\x00\r\n"):
			return "", fmt.Errorf("[%d].metric must not contain quotes, '=' or control characters", i)
		case p.Value == nil:
			return "", fmt.Errorf("[%d].value is required", i)
		case len(p.Unit) > 16 || strings.ContainsAny(p.Unit, " ;'=0123456789"):
			return "", fmt.Errorf("[%d].unit %q is not a perfdata unit", i, clip(p.Unit))
		}
		unit := p.Unit
		// Canopsis marks counters by type; Nagios perfdata by the unit c.
		if unit == "" && (p.Type == "COUNTER" || p.Type == "DERIVE") {
			unit = "c"
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "'%s'=%s%s;%s;%s;%s;%s", p.Metric, num(p.Value), unit, num(p.Warn), num(p.Crit), num(p.Min), num(p.Max))
	}
	if b.Len() > MaxOutputBytes {
		return "", fmt.Errorf("is longer than %d bytes once written as perfdata", MaxOutputBytes)
	}
	return b.String(), nil
}

// number returns a raw JSON value that is not absent or null. A value
// that is not a JSON number (a string, say) comes back as it is, for its
// parser to refuse.
func number(raw json.RawMessage) (string, bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", false
	}
	return s, true
}

// clip keeps echoed input short in error messages.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return s[:n] + "…"
}
