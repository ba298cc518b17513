package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/events"
)

func ptr[T any](v T) *T { return &v }

func sample() events.Event {
	return events.Event{
		Connector: "syslog", ConnectorName: "edge", EventType: events.TypeCheck, SourceType: "resource",
		Component: "db-01", Resource: "disk", State: 2, Output: "disk 91% full",
		Time: time.Unix(1700000000, 0).UTC(), Tags: map[string]string{"site": "paris", "host": "db-01.example", "load": "7.5"},
	}
}

func TestMatch(t *testing.T) {
	red := Actions{SetCriticality: events.Red}
	for _, tc := range []struct {
		name string
		cond Condition
		want bool
	}{
		{"equals", Condition{Field: "component", Equals: ptr("db-01")}, true},
		{"equals other", Condition{Field: "component", Equals: ptr("web-01")}, false},
		{"equals empty resource", Condition{Field: "long_output", Equals: ptr("")}, true},
		{"regex", Condition{Field: "component", Regex: ptr("db.*")}, true},
		{"regex is anchored", Condition{Field: "component", Regex: ptr("b-0")}, false},
		{"regex alternatives anchored", Condition{Field: "component", Regex: ptr("x|db-01")}, true},
		{"in", Condition{Field: "connector", In: []string{"nagios", "syslog"}}, true},
		{"in missing", Condition{Field: "connector", In: []string{"nagios"}}, false},
		{"state gt", Condition{Field: "state", Gt: ptr(1.0)}, true},
		{"state gt equal", Condition{Field: "state", Gt: ptr(2.0)}, false},
		{"state gte", Condition{Field: "state", Gte: ptr(2.0)}, true},
		{"state lt", Condition{Field: "state", Lt: ptr(2.0)}, false},
		{"state lte", Condition{Field: "state", Lte: ptr(2.0)}, true},
		{"state equals", Condition{Field: "state", Equals: ptr("2")}, true},
		{"tag number", Condition{Field: "tags.load", Gt: ptr(5.0)}, true},
		{"not a number", Condition{Field: "component", Gt: ptr(0.0)}, false},
		{"missing tag number", Condition{Field: "tags.nope", Lt: ptr(100.0)}, false},
		{"tag equals", Condition{Field: "tags.site", Equals: ptr("paris")}, true},
		{"tag regex", Condition{Field: "tags.host", Regex: ptr(`.*\.example`)}, true},
		{"tag exists", Condition{Field: "tags.site", Exists: ptr(true)}, true},
		{"tag absent", Condition{Field: "tags.rack", Exists: ptr(false)}, true},
		{"tag absent but present", Condition{Field: "tags.site", Exists: ptr(false)}, false},
		{"field exists", Condition{Field: "resource", Exists: ptr(true)}, true},
		{"empty field does not exist", Condition{Field: "long_output", Exists: ptr(true)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile([]Rule{{Name: "r", Match: []Condition{tc.cond}, Actions: red}})
			if err != nil {
				t.Fatal(err)
			}
			ev, res := s.DryRun(sample())
			if got := len(res.Matched) == 1; got != tc.want {
				t.Fatalf("matched = %v, want %v", got, tc.want)
			}
			if tc.want != (ev.Criticality == events.Red) {
				t.Fatalf("criticality = %q", ev.Criticality)
			}
		})
	}
}

func TestAllConditionsMustHold(t *testing.T) {
	s, err := Compile([]Rule{{Name: "r", Match: []Condition{
		{Field: "component", Regex: ptr("db.*")}, {Field: "state", Gte: ptr(3.0)},
	}, Actions: Actions{SetCriticality: events.Red}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, res := s.DryRun(sample()); len(res.Matched) != 0 {
		t.Fatal("matched with state 2 < 3")
	}
	ev := sample()
	ev.State = 3
	if _, res := s.DryRun(ev); len(res.Matched) != 1 {
		t.Fatal("did not match with state 3")
	}
}

func TestActions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		actions Actions
		check   func(t *testing.T, ev events.Event)
	}{
		{"qualify", Actions{SetCriticality: events.Orange, SetDomain: "network", SetCategory: "storage"}, func(t *testing.T, ev events.Event) {
			if ev.Criticality != events.Orange || ev.Domain != "network" || ev.Category != "storage" {
				t.Fatalf("got %q %q %q", ev.Criticality, ev.Domain, ev.Category)
			}
		}},
		{"set component and state", Actions{Set: map[string]string{"component": "db", "state": "3", "tags.team": "dba"}}, func(t *testing.T, ev events.Event) {
			if ev.Component != "db" || ev.State != 3 || ev.Tags["team"] != "dba" {
				t.Fatalf("got %+v", ev)
			}
		}},
		{"rename tag to resource", Actions{Rename: map[string]string{"tags.host": "resource"}}, func(t *testing.T, ev events.Event) {
			if ev.Resource != "db-01.example" {
				t.Fatalf("resource = %q", ev.Resource)
			}
			if _, ok := ev.Tags["host"]; ok {
				t.Fatal("the tag is still there")
			}
		}},
		{"rename an absent tag moves nothing", Actions{Rename: map[string]string{"tags.nope": "resource"}}, func(t *testing.T, ev events.Event) {
			if ev.Resource != "disk" {
				t.Fatalf("resource = %q", ev.Resource)
			}
		}},
		{"rename field to tag", Actions{Rename: map[string]string{"output": "tags.msg"}}, func(t *testing.T, ev events.Event) {
			if ev.Output != "" || ev.Tags["msg"] != "disk 91% full" {
				t.Fatalf("got %q %q", ev.Output, ev.Tags["msg"])
			}
		}},
		{"add tags", Actions{AddTags: map[string]string{"team": "dba", "site": "lyon"}}, func(t *testing.T, ev events.Event) {
			if ev.Tags["team"] != "dba" || ev.Tags["site"] != "lyon" || ev.Tags["load"] != "7.5" {
				t.Fatalf("tags = %v", ev.Tags)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile([]Rule{{Name: "r", Actions: tc.actions}})
			if err != nil {
				t.Fatal(err)
			}
			in := sample()
			out, res := s.DryRun(in)
			if res.Dropped || len(res.Matched) != 1 {
				t.Fatalf("result %+v", res)
			}
			tc.check(t, out)
			if !reflect.DeepEqual(in, sample()) {
				t.Fatalf("the caller's event changed: %+v", in)
			}
		})
	}
}

func TestOrderContinueDrop(t *testing.T) {
	rs := []Rule{
		{Name: "tag-db", Match: []Condition{{Field: "component", Regex: ptr("db.*")}}, Actions: Actions{AddTags: map[string]string{"team": "dba"}, Continue: true}},
		{Name: "red-dba", Match: []Condition{{Field: "tags.team", Equals: ptr("dba")}}, Actions: Actions{SetCriticality: events.Red}},
		{Name: "orange-all", Actions: Actions{SetCriticality: events.Orange}},
		{Name: "never", Actions: Actions{Drop: true}},
	}
	s, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	ev, res := s.DryRun(sample())
	if ev.Criticality != events.Red || !reflect.DeepEqual(res.Matched, []string{"tag-db", "red-dba"}) {
		t.Fatalf("criticality %q, matched %v", ev.Criticality, res.Matched)
	}
	web := sample()
	web.Component = "web-01"
	ev, res = s.DryRun(web)
	if ev.Criticality != events.Orange || !reflect.DeepEqual(res.Matched, []string{"orange-all"}) {
		t.Fatalf("criticality %q, matched %v", ev.Criticality, res.Matched)
	}

	s, err = Compile([]Rule{
		{Name: "drop-log", Match: []Condition{{Field: "event_type", Equals: ptr("log")}}, Actions: Actions{Drop: true}},
		{Name: "red", Actions: Actions{SetCriticality: events.Red}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lg := sample()
	lg.EventType = events.TypeLog
	if _, res := s.DryRun(lg); !res.Dropped || !reflect.DeepEqual(res.Matched, []string{"drop-log"}) {
		t.Fatalf("result %+v", res)
	}
}

func TestBadRules(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{Rule{Name: "", Actions: Actions{Drop: true}}, `name: must be 1 to 100`},
		{Rule{Name: "a b", Actions: Actions{Drop: true}}, `rule "a b": name: must be`},
		{Rule{Name: "r", Match: []Condition{{Field: "nope", Equals: ptr("x")}}, Actions: Actions{Drop: true}}, `rule "r": match[0].field: unknown field "nope"`},
		{Rule{Name: "r", Match: []Condition{{Equals: ptr("x")}}, Actions: Actions{Drop: true}}, `rule "r": match[0].field: is required`},
		{Rule{Name: "r", Match: []Condition{{Field: "tags.", Equals: ptr("x")}}, Actions: Actions{Drop: true}}, `match[0].field: unknown field "tags."`},
		{Rule{Name: "r", Match: []Condition{{Field: "component", Regex: ptr("db(")}}, Actions: Actions{Drop: true}}, `rule "r": match[0].regex: compiling "db(": missing closing )`},
		{Rule{Name: "r", Match: []Condition{{Field: "component"}}, Actions: Actions{Drop: true}}, `match[0]: needs one of equals`},
		{Rule{Name: "r", Match: []Condition{{Field: "state", Gt: ptr(1.0), Lt: ptr(3.0)}}, Actions: Actions{Drop: true}}, `match[0]: has gt and lt: one operator per condition`},
		{Rule{Name: "r", Match: []Condition{{Field: "state", In: []string{}}}, Actions: Actions{Drop: true}}, `match[0].in: must list at least one value`},
		{Rule{Name: "r", Actions: Actions{SetCriticality: "purple"}}, `rule "r": actions.set_criticality: must be green, orange or red, not "purple"`},
		{Rule{Name: "r", Actions: Actions{Set: map[string]string{"state": "9"}}}, `rule "r": actions.set.state: must be 0 to 3, not "9"`},
		{Rule{Name: "r", Actions: Actions{Set: map[string]string{"component": ""}}}, `actions.set.component: must not be empty`},
		{Rule{Name: "r", Actions: Actions{Set: map[string]string{"colour": "x"}}}, `actions.set.colour: unknown field`},
		{Rule{Name: "r", Actions: Actions{Rename: map[string]string{"state": "tags.s"}}}, `actions.rename.state: unknown field or not a text field`},
		{Rule{Name: "r", Actions: Actions{Rename: map[string]string{"tags.h": "host"}}}, `actions.rename.tags.h: "host" is an unknown field`},
		{Rule{Name: "r", Actions: Actions{Rename: map[string]string{"component": "tags.c"}}}, `actions.rename.component: is required in every event and cannot be emptied`},
		{Rule{Name: "r", Actions: Actions{Set: map[string]string{"source_type": "device"}}}, `actions.set.source_type: must be "component" or "resource", not "device"`},
		{Rule{Name: "r", Actions: Actions{Drop: true, SetCriticality: events.Red}}, `actions.drop: a dropping rule takes no other action`},
		{Rule{Name: "r"}, `rule "r": actions: must do something`},
	} {
		_, err := Compile([]Rule{tc.rule})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.rule, err, tc.want)
		}
	}
	// The message names the writer's expression only, not the anchored one
	// compiled.
	_, err := Compile([]Rule{{Name: "r", Match: []Condition{{Field: "component", Regex: ptr("db-(")}}, Actions: Actions{Drop: true}}})
	if want := `rule "r": match[0].regex: compiling "db-(": missing closing )`; err == nil || err.Error() != want {
		t.Errorf("bad regex: error %v, want %q", err, want)
	}
	_, err = Compile([]Rule{{Name: "r", Actions: Actions{Drop: true}}, {Name: "r", Actions: Actions{Drop: true}}})
	if err == nil || err.Error() != `rule "r": name: is defined twice` {
		t.Fatalf("duplicate: %v", err)
	}
}

type recorder struct{ got []events.Event }

func (r *recorder) Ingest(_ context.Context, evs []events.Event) error {
	r.got = append(r.got, evs...)
	return nil
}

func TestSinkCountsAndDrops(t *testing.T) {
	eng := NewEngine()
	if err := eng.Replace([]Rule{
		{Name: "drop-web", Match: []Condition{{Field: "component", Regex: ptr("web.*")}}, Actions: Actions{Drop: true}},
		{Name: "red-db", Match: []Condition{{Field: "component", Regex: ptr("db.*")}}, Actions: Actions{SetCriticality: events.Red}},
	}); err != nil {
		t.Fatal(err)
	}
	next := &recorder{}
	sink := &Sink{Rules: eng, Next: next}
	db, web := sample(), sample()
	web.Component = "web-01"
	in := []events.Event{db, web, db}
	if err := sink.Ingest(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(next.got) != 2 || next.got[0].Criticality != events.Red || in[0].Criticality != "" {
		t.Fatalf("next got %+v; caller's %+v", next.got, in[0])
	}
	if err := sink.Ingest(context.Background(), []events.Event{web}); err != nil || len(next.got) != 2 {
		t.Fatalf("an all-dropped batch: %v, %d events", err, len(next.got))
	}
	if h, d := eng.Hits("red-db"); h != 2 || d != 0 {
		t.Fatalf("red-db hits %d dropped %d", h, d)
	}
	if h, d := eng.Hits("drop-web"); h != 2 || d != 2 {
		t.Fatalf("drop-web hits %d dropped %d", h, d)
	}
	// The counters survive a replacement that keeps the rule.
	if err := eng.Replace([]Rule{{Name: "red-db", Actions: Actions{SetCriticality: events.Red}}}); err != nil {
		t.Fatal(err)
	}
	if h, _ := eng.Hits("red-db"); h != 2 {
		t.Fatalf("hits after a replacement: %d", h)
	}
	// A dry run counts nothing.
	eng.Set().DryRun(db)
	if h, _ := eng.Hits("red-db"); h != 2 {
		t.Fatalf("hits after a dry run: %d", h)
	}
}

// BenchmarkApply100 applies 100 rules, none but the last matching, to
// one event: the worst case of a first-match list.
func BenchmarkApply100(b *testing.B) {
	rs := make([]Rule, 0, 100)
	for i := range 99 {
		var c Condition
		switch i % 4 {
		case 0:
			c = Condition{Field: "component", Regex: ptr(fmt.Sprintf("srv%d-.*", i))}
		case 1:
			c = Condition{Field: "connector", In: []string{fmt.Sprintf("c%d", i), "x", "y"}}
		case 2:
			c = Condition{Field: "tags.site", Equals: ptr(fmt.Sprintf("site%d", i))}
		case 3:
			c = Condition{Field: "state", Gt: ptr(5.0)}
		}
		rs = append(rs, Rule{Name: fmt.Sprintf("r%d", i), Match: []Condition{c}, Actions: Actions{SetCriticality: events.Orange}})
	}
	rs = append(rs, Rule{Name: "last", Match: []Condition{{Field: "component", Regex: ptr("db.*")}}, Actions: Actions{SetCriticality: events.Red, AddTags: map[string]string{"team": "dba"}}})
	s, err := Compile(rs)
	if err != nil {
		b.Fatal(err)
	}
	base := sample()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ev := base
		s.Apply(&ev)
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "rules/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestConditionJSON(t *testing.T) {
	var r Rule
	if err := json.Unmarshal([]byte(`{"name":"r","match":[{"field":"state","equals":3},{"field":"tags.n","in":["a",2,true]},{"field":"x","gt":1.5}],"actions":{"drop":true}}`), &r); err != nil {
		t.Fatal(err)
	}
	if *r.Match[0].Equals != "3" || !reflect.DeepEqual(r.Match[1].In, []string{"a", "2", "true"}) || *r.Match[2].Gt != 1.5 {
		t.Fatalf("decoded %+v", r.Match)
	}
	for body, want := range map[string]string{
		`{"field":"state","equal":3}`:       `json: unknown field "equal"`,
		`{"field":"state","equals":{}}`:     `equals: must be a string, a number or a boolean`,
		`{"field":"state","in":["a",null]}`: `in[1]: must be a string, a number or a boolean`,
	} {
		var c Condition
		if err := json.Unmarshal([]byte(body), &c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	// Round trip through the store's encoding.
	b, _ := json.Marshal(r)
	var back Rule
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, back, r)
	}
}
