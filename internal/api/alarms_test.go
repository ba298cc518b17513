package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/alarms"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestDecodeEventsNamesTheField: the field at fault is named as it is in
// the request.
func TestDecodeEventsNamesTheField(t *testing.T) {
	const ok = `{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c","state":1}`
	for _, tc := range []struct{ body, field string }{
		{`{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c","state":4}`, "state"},
		{`[` + ok + `,` + ok + `,{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c","state":9}]`, "events[2].state"},
		{`[` + ok + `,{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c","state":1,"colour":"red"}]`, "events[1].colour"},
		{`[` + ok + `,5]`, "events[1]"},
		{`{`, ""},
		{`[]`, ""},
	} {
		_, err := decodeEvents([]byte(tc.body), now)
		var fe *fieldError
		if !errors.As(err, &fe) || fe.field != tc.field || fe.msg == "" {
			t.Errorf("%.70s: got %#v, want field %q", tc.body, err, tc.field)
		}
	}
	evs, err := decodeEvents([]byte(`[`+ok+`,`+ok+`]`), now)
	if err != nil || len(evs) != 2 || !evs[0].Time.Equal(now) {
		t.Fatalf("%+v %v", evs, err)
	}
}

// FuzzDecodeEvents: any body gives events the alarm engine takes, or a
// refusal with a message; never a panic.
func FuzzDecodeEvents(f *testing.F) {
	for _, s := range []string{
		`{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c","state":1}`,
		`[{"connector":"a","connector_name":"b","event_type":"check","source_type":"resource","component":"c","resource":"r","state":3,"timestamp":1700000000,"tags":{"k":"v"}}]`,
		`[{"connector":"a","connector_name":"b","event_type":"log","source_type":"component","component":"c"}, 1]`,
		`{"state":1e99}`, `[`, `null`, `[null]`, `{"timestamp":"x"}`, `{"":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := decodeEvents(b, now)
		if err != nil {
			var fe *fieldError
			if !errors.As(err, &fe) || fe.msg == "" || (fe.field != "" && strings.HasPrefix(fe.field, "[")) {
				t.Fatalf("refusal without a message or with a bad field: %#v", err)
			}
			return
		}
		if len(evs) == 0 {
			t.Fatal("no events and no error")
		}
		for i := range evs {
			if err := alarms.Validate(&evs[i]); err != nil {
				t.Fatalf("decoded an event the engine refuses: %v: %+v", err, evs[i])
			}
			if evs[i].Time.IsZero() {
				t.Fatalf("event without a time: %+v", evs[i])
			}
		}
	})
}
