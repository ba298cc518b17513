package events

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const okEvent = `{"connector":"nagios","connector_name":"nagios-paris","event_type":"check","source_type":"resource",` +
	`"component":"web1","resource":"http","state":2,"output":"slow","long_output":"p99 3s","timestamp":1700000000,` +
	`"perf_data":"time=3s","tags":{"env":"prod"}}`

func TestDecodeGood(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	evs, err := DecodeAt([]byte(okEvent), now)
	if err != nil {
		t.Fatal(err)
	}
	want := Event{Connector: "nagios", ConnectorName: "nagios-paris", EventType: TypeCheck, SourceType: "resource",
		Component: "web1", Resource: "http", State: 2, Output: "slow", LongOutput: "p99 3s",
		Time: time.Unix(1700000000, 0).UTC(), PerfData: "time=3s", Tags: map[string]string{"env": "prod"}}
	if len(evs) != 1 || fmt.Sprint(evs[0]) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", evs, want)
	}

	batch := `[{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":"c"},` +
		` {"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"d","state":0,"timestamp":1700000000.5}]`
	evs, err = DecodeAt([]byte(batch), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Component != "c" || !evs[0].Time.Equal(now) || evs[1].State != 0 ||
		evs[1].Time != time.Unix(1700000000, 500_000_000).UTC() {
		t.Fatalf("batch: %+v", evs)
	}
}

// Fields real Canopsis senders add are accepted: names become tags, the
// perf_data_array becomes perfdata, and tags may be a list.
func TestDecodeCanopsisExtras(t *testing.T) {
	base := `"connector":"centreon","connector_name":"c1","event_type":"check","source_type":"resource","component":"web1","resource":"load","state":1`
	tests := []struct {
		name, doc string
		tags      map[string]string
		perf      string
	}{
		{"names", `{` + base + `,"display_name":"Web 1","author":"centreon","initiator":"system","scheduled":false,"state_type":1}`,
			map[string]string{"display_name": "Web 1", "author": "centreon", "initiator": "system", "state_type": "hard"}, ""},
		{"soft", `{` + base + `,"state_type":0}`, map[string]string{"state_type": "soft"}, ""},
		{"a tag of the sender wins", `{` + base + `,"author":"x","tags":{"author":"me"}}`, map[string]string{"author": "me"}, ""},
		{"tags as a list", `{` + base + `,"tags":["prod","paris"]}`, map[string]string{"prod": "", "paris": ""}, ""},
		{"empty tag list", `{` + base + `,"tags":[]}`, nil, ""},
		{"perf_data_array", `{` + base + `,"perf_data_array":[{"metric":"load1","value":0.5,"warn":4,"crit":8,"min":0},{"metric":"in","value":1234,"type":"COUNTER"},{"metric":"used","value":12.5,"unit":"%","max":100}]}`,
			nil, "'load1'=0.5;4;8;0; 'in'=1234c;;;; 'used'=12.5%;;;;100"},
		{"perf_data wins over the array", `{` + base + `,"perf_data":"a=1","perf_data_array":[{"metric":"b","value":2}]}`, nil, "a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := Decode([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(evs[0].Tags) != fmt.Sprint(tt.tags) || evs[0].PerfData != tt.perf {
				t.Fatalf("tags %v perf %q, want %v %q", evs[0].Tags, evs[0].PerfData, tt.tags, tt.perf)
			}
		})
	}
	// What the extras refuse names them.
	for doc, want := range map[string]string{
		`{` + base + `,"state_type":2}`:                                                     "state_type: must be 0 (soft) or 1 (hard), not 2",
		`{` + base + `,"scheduled":"yes"}`:                                                  "scheduled: must not be a JSON string",
		`{` + base + `,"author":"` + strings.Repeat("a", MaxNameBytes+1) + `"}`:             "author: is longer than 255 bytes",
		`{` + base + `,"perf_data_array":[{"metric":"a"}]}`:                                 "perf_data_array: [0].value is required",
		`{` + base + `,"perf_data_array":[{"metric":"a=b","value":1}]}`:                     "perf_data_array: [0].metric must not contain",
		`{` + base + `,"perf_data_array":[{"metric":"a","value":1,"unit":"k g"}]}`:          "perf_data_array: [0].unit",
		`{` + base + `,"perf_data_array":[{"metric":"a","value":1,"colour":1,"unit":"5"}]}`: "perf_data_array: [0].unit",
		`{` + base + `,"tags":["a",1]}`:                                                     "tags: must be an object of strings or an array of strings",
		`{` + base + `,"perf_data_array":{"metric":"a"}}`:                                   "perf_data_array: must be an array",
		`{` + base + `,"perf_data_array":[{"metric":"a","value":"1"}]}`:                     "perf_data_array: value must not be a JSON string",
		`{` + base + `,"tags":"prod"}`:                                                      "tags: must not be a JSON string",
	} {
		if _, err := Decode([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", doc, err, want)
		}
	}
}

// Each bad document carries the field its error must name.
func TestDecodeBad(t *testing.T) {
	base := `"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c"`
	long := strings.Repeat("x", MaxNameBytes+1)
	manyTags := make([]string, MaxTags+1)
	for i := range manyTags {
		manyTags[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"empty", ``, "empty document"},
		{"syntax", `{"connector":`, "malformed JSON"},
		{"not an object", `"hello"`, "want an event object"},
		{"number", `42`, "want an event object"},
		{"unknown field", `{` + base + `,"state":1,"colour":"red"}`, "colour: unknown field"},
		{"no component", `{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","state":1}`, "component: is required"},
		{"empty connector", `{"connector":"","connector_name":"b","event_type":"log","source_type":"component","component":"c"}`, "connector: is required"},
		{"null connector_name", `{"connector":"a","connector_name":null,"event_type":"log","source_type":"component","component":"c"}`, "connector_name: is required"},
		{"no event_type", `{"connector":"a","connector_name":"b","source_type":"component","component":"c"}`, "event_type: is required"},
		{"bad event_type", `{"connector":"a","connector_name":"b","event_type":"perf","source_type":"component","component":"c"}`, `event_type: must be "check" or "log"`},
		{"no source_type", `{"connector":"a","connector_name":"b","event_type":"log","component":"c"}`, "source_type: is required"},
		{"bad source_type", `{"connector":"a","connector_name":"b","event_type":"log","source_type":"host","component":"c"}`, "source_type: must be"},
		{"resource without resource", `{"connector":"a","connector_name":"b","event_type":"log","source_type":"resource","component":"c"}`, "resource: is required when"},
		{"check without state", `{` + base + `}`, "state: is required"},
		{"state 4", `{` + base + `,"state":4}`, "state: must be an integer between 0 and 3, not 4"},
		{"state -1", `{` + base + `,"state":-1}`, "state: must be an integer"},
		{"state 1.5", `{` + base + `,"state":1.5}`, "state: must be an integer"},
		{"state string", `{` + base + `,"state":"1"}`, `state: must be an integer between 0 and 3, not "1"`},
		{"state bool", `{` + base + `,"state":true}`, "state: must be an integer between 0 and 3, not true"},
		{"component number", `{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":7}`, "component: must not be a JSON number"},
		{"timestamp ms", `{` + base + `,"state":1,"timestamp":1700000000000}`, "timestamp: must be Unix seconds"},
		{"timestamp negative", `{` + base + `,"state":1,"timestamp":-5}`, "timestamp: must be Unix seconds"},
		{"timestamp text", `{` + base + `,"state":1,"timestamp":"yesterday"}`, `timestamp: must be Unix seconds, not "yesterday"`},
		{"long component", `{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":"` + long + `"}`, "component: is longer than 255 bytes"},
		{"newline in component", `{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":"a\nb"}`, "component: must not contain control characters"},
		{"long output", `{` + base + `,"state":1,"output":"` + strings.Repeat("o", MaxOutputBytes+1) + `"}`, "output: is longer than 65536 bytes"},
		{"too many tags", `{` + base + `,"state":1,"tags":{` + strings.Join(manyTags, ",") + `}}`, "tags: has 65 entries"},
		{"long tag value", `{` + base + `,"state":1,"tags":{"k":"` + strings.Repeat("v", MaxTagValueByte+1) + `"}}`, "tags.k: is longer than"},
		{"tags not strings", `{` + base + `,"state":1,"tags":{"k":1}}`, "tags: must not be a JSON number"},
		{"trailing data", `{` + base + `,"state":1} {}`, "trailing data"},
		{"empty array", `[]`, "empty array"},
		{"bad second event", `[{` + base + `,"state":1},{` + base + `,"state":9}]`, "[1].state: must be an integer"},
		{"array of strings", `["a"]`, "[0]: want an event object"},
		{"too large", `{"output":"` + strings.Repeat("a", MaxDecodeBytes) + `"}`, "document is larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := Decode([]byte(tt.doc))
			if err == nil {
				t.Fatalf("decoded %+v, want an error containing %q", evs, tt.want)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error too long (%d bytes): it echoes input", len(err.Error()))
			}
		})
	}
}

func TestDecodeTooManyEvents(t *testing.T) {
	one := `{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":"c"}`
	doc := "[" + strings.TrimSuffix(strings.Repeat(one+",", MaxBatchEvents+1), ",") + "]"
	if _, err := Decode([]byte(doc)); err == nil || !strings.Contains(err.Error(), "1001 events in one array, at most 1000") {
		t.Fatalf("got %v", err)
	}
	doc = "[" + strings.TrimSuffix(strings.Repeat(one+",", MaxBatchEvents), ",") + "]"
	if evs, err := Decode([]byte(doc)); err != nil || len(evs) != MaxBatchEvents {
		t.Fatalf("a full batch: %d events, %v", len(evs), err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(okEvent))
	f.Add([]byte(`[` + okEvent + `,` + okEvent + `]`))
	f.Add([]byte(`{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":"c"}`))
	f.Add([]byte(`{"state":1e400}`))
	f.Add([]byte(`[{"timestamp":-0.0000001}]`))
	f.Add([]byte(`{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c","state":0,` +
		`"state_type":1,"author":"x","tags":["p"],"perf_data_array":[{"metric":"m","value":1,"type":"COUNTER","crit":2}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := DecodeAt(data, time.Unix(1, 0))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || err.Error() == "" {
				t.Fatalf("error %T %q is not a DecodeError with a message", err, err)
			}
			return
		}
		if len(evs) == 0 || len(evs) > MaxBatchEvents {
			t.Fatalf("%d events", len(evs))
		}
		for _, ev := range evs {
			if ev.Component == "" || ev.Connector == "" || ev.ConnectorName == "" || ev.State < 0 || ev.State > 3 ||
				(ev.EventType != TypeCheck && ev.EventType != TypeLog) || ev.Time.IsZero() || len(ev.Output) > MaxOutputBytes {
				t.Fatalf("accepted an invalid event: %+v", ev)
			}
			if len(ev.Tags) > MaxTags+4 || len(ev.PerfData) > MaxOutputBytes {
				t.Fatalf("unbounded tags or perfdata: %d tags, %d bytes", len(ev.Tags), len(ev.PerfData))
			}
		}
	})
}
