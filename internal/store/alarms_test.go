package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/events"
)

func newAlarm(component, resource string, state int, t time.Time) *alarms.Alarm {
	return &alarms.Alarm{Connector: "vigie", ConnectorName: "vigie", Component: component, Resource: resource,
		Status: alarms.StatusOpen, State: state, WorstState: state, Criticality: alarms.CriticalityOf(state),
		Output: "out " + component, Count: 1, Opened: t, LastEvent: t, Updated: t}
}

func testAlarms(t *testing.T, st Store) {
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	h := newHost("db1", "dbs")
	h.Domain = "database"
	if err := st.CreateHost(ctx, &h); err != nil {
		t.Fatal(err)
	}
	web := newAlarm("web1", "http", 2, t0)
	web.Tags = map[string]string{"env": "prod"}
	db := newAlarm("db1", "", 3, t0.Add(time.Second))
	// An alarm resolved and its successor opened within one batch.
	old := newAlarm("sw1", "if1", 1, t0)
	old.Status, old.Resolved = alarms.StatusResolved, t0.Add(time.Minute)
	next := newAlarm("sw1", "if1", 3, t0.Add(2*time.Minute))
	next.SnoozeUntil = t0.Add(time.Hour)
	w := &alarms.Write{
		Alarms: []*alarms.Alarm{web, db, old, next},
		Steps: []alarms.NewStep{
			{Alarm: web, Step: alarms.Step{Type: alarms.StepOpen, Author: "vigie", Time: t0, State: 2}},
			{Alarm: old, Step: alarms.Step{Type: alarms.StepOpen, Author: "vigie", Time: t0, State: 1}},
			{Alarm: old, Step: alarms.Step{Type: alarms.StepResolve, Author: "vigie", Time: t0.Add(time.Minute)}},
			{Alarm: next, Step: alarms.Step{Type: alarms.StepOpen, Author: "vigie", Time: t0.Add(2 * time.Minute), State: 3}},
		},
		Logs: []events.Event{{Connector: "syslog", ConnectorName: "s", EventType: events.TypeLog, Component: "web1", State: 0, Output: "hello", Time: t0}},
	}
	if err := st.WriteAlarms(ctx, w); err != nil {
		t.Fatal(err)
	}
	for _, a := range w.Alarms {
		if a.ID == 0 {
			t.Fatalf("no id for %+v", a)
		}
	}
	if old.ID == next.ID {
		t.Fatal("resolved and reopened alarms share an id")
	}
	got, err := st.GetAlarm(ctx, web.ID)
	if err != nil || got.Tags["env"] != "prod" || got.Criticality != events.Orange || !got.Opened.Equal(t0) || !got.Resolved.IsZero() || len(got.Assignees) != 0 {
		t.Fatalf("get: %+v %v", got, err)
	}
	open, err := st.OpenAlarms(ctx)
	if err != nil || len(open) != 3 {
		t.Fatalf("open alarms: %d %v", len(open), err)
	}
	steps, err := st.ListSteps(ctx, old.ID)
	if err != nil || len(steps) != 2 || steps[1].Type != alarms.StepResolve || steps[0].AlarmID != old.ID {
		t.Fatalf("steps: %+v %v", steps, err)
	}

	// A second open alarm for a key is refused, and the batch leaves nothing.
	dup := newAlarm("web1", "http", 3, t0)
	other := newAlarm("web2", "", 3, t0)
	if err := st.WriteAlarms(ctx, &alarms.Write{Alarms: []*alarms.Alarm{other, dup}}); err == nil {
		t.Fatal("a second open alarm for one key was written")
	}
	if other.ID != 0 {
		t.Fatal("a failed batch left an id")
	}
	if l, _ := st.ListAlarms(ctx, alarms.Filter{Component: "web2"}); len(l) != 0 {
		t.Fatalf("a failed batch left rows: %+v", l)
	}

	// Changes.
	web.State, web.Count, web.Acked, web.AckBy, web.AckTime = 3, 5, true, "alice", t0.Add(time.Hour)
	web.Assignees, web.Flapping = []string{"bob"}, true
	web.Status, web.Resolved = alarms.StatusArchived, t0.Add(2*time.Hour)
	if err := st.WriteAlarms(ctx, &alarms.Write{Alarms: []*alarms.Alarm{web},
		Steps: []alarms.NewStep{{Alarm: web, Step: alarms.Step{Type: alarms.StepAck, Author: "alice", Time: t0.Add(time.Hour), Comment: "on it", State: 3}}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = st.GetAlarm(ctx, web.ID)
	if got.State != 3 || got.Count != 5 || !got.Acked || got.AckBy != "alice" || !got.AckTime.Equal(t0.Add(time.Hour)) || got.Assignees[0] != "bob" || got.Status != alarms.StatusArchived || !got.Flapping {
		t.Fatalf("after update: %+v", got)
	}

	three, yes, no := 3, true, false
	ids := func(l []alarms.Alarm) []int64 {
		out := []int64{}
		for _, a := range l {
			out = append(out, a.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    alarms.Filter
		want []int64
	}{
		{"default hides archived, newest first", alarms.Filter{}, []int64{next.ID, old.ID, db.ID}},
		{"archived", alarms.Filter{Status: alarms.StatusArchived}, []int64{web.ID}},
		{"open", alarms.Filter{Status: alarms.StatusOpen}, []int64{next.ID, db.ID}},
		{"state", alarms.Filter{State: &three}, []int64{next.ID, db.ID}},
		{"component", alarms.Filter{Component: "sw1"}, []int64{next.ID, old.ID}},
		{"resource", alarms.Filter{Resource: "if1", Status: alarms.StatusResolved}, []int64{old.ID}},
		{"criticality", alarms.Filter{Criticality: events.Green}, []int64{old.ID}},
		{"acked", alarms.Filter{Acked: &yes, Status: alarms.StatusArchived}, []int64{web.ID}},
		{"not acked", alarms.Filter{Acked: &no}, []int64{next.ID, old.ID, db.ID}},
		{"flapping", alarms.Filter{Flapping: &yes, AllStatuses: true}, []int64{web.ID}},
		{"not flapping", alarms.Filter{Flapping: &no}, []int64{next.ID, old.ID, db.ID}},
		{"status flapping: open ones only", alarms.Filter{Status: alarms.StatusFlapping}, []int64{}},
		{"search output", alarms.Filter{Search: "OUT DB"}, []int64{db.ID}},
		{"search wildcard is literal", alarms.Filter{Search: "%"}, []int64{}},
		{"since", alarms.Filter{Since: t0.Add(time.Second)}, []int64{next.ID, db.ID}},
		{"until", alarms.Filter{Until: t0.Add(time.Second)}, []int64{old.ID}},
		{"domain of the host", alarms.Filter{Domains: []string{"database"}}, []int64{db.ID}},
		{"domain filter", alarms.Filter{Domain: "database"}, []int64{db.ID}},
		{"group filter", alarms.Filter{Group: "dbs"}, []int64{db.ID}},
		{"snoozed", alarms.Filter{Snoozed: &yes, SnoozedAt: t0}, []int64{next.ID}},
		{"not snoozed", alarms.Filter{Snoozed: &no, SnoozedAt: t0}, []int64{old.ID, db.ID}},
		{"empty scope", alarms.Filter{Domains: []string{}}, []int64{}},
		{"cursor", alarms.Filter{Before: next.ID, Limit: 1}, []int64{old.ID}},
		{"key", alarms.Filter{Key: &events.Key{Connector: "vigie", ConnectorName: "vigie", Component: "sw1", Resource: "if1"}}, []int64{next.ID, old.ID}},
		{"key of a component", alarms.Filter{Key: &events.Key{Connector: "vigie", ConnectorName: "vigie", Component: "web1"}, AllStatuses: true}, []int64{}},
		{"all statuses", alarms.Filter{AllStatuses: true, Component: "web1"}, []int64{web.ID}},
	} {
		l, err := st.ListAlarms(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if g := ids(l); !equalIDs(g, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, g, tc.want)
		}
	}

	logs, err := st.ListLogs(ctx, alarms.LogFilter{})
	if err != nil || len(logs) != 1 || logs[0].Output != "hello" || logs[0].Component != "web1" || !logs[0].Time.Equal(t0) || logs[0].ID == 0 {
		t.Fatalf("log events: %+v %v", logs, err)
	}
	if err := st.WriteAlarms(ctx, &alarms.Write{Logs: []events.Event{
		{Connector: "syslog", ConnectorName: "s", EventType: events.TypeLog, Component: "db1", Output: "vacuum done", Time: t0.Add(time.Hour)},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    alarms.LogFilter
		want string
	}{
		{alarms.LogFilter{}, "vacuum done,hello"},
		{alarms.LogFilter{Component: "web1"}, "hello"},
		{alarms.LogFilter{Search: "VACUUM"}, "vacuum done"},
		{alarms.LogFilter{Since: t0.Add(time.Minute)}, "vacuum done"},
		{alarms.LogFilter{Until: t0.Add(time.Minute)}, "hello"},
		{alarms.LogFilter{Domains: []string{"database"}}, "vacuum done"},
		{alarms.LogFilter{Limit: 1}, "vacuum done"},
		{alarms.LogFilter{Connector: "nagios"}, ""},
	} {
		l, err := st.ListLogs(ctx, tc.f)
		var got []string
		for _, e := range l {
			got = append(got, e.Output)
		}
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("logs %+v: %v %v, want %s", tc.f, got, err, tc.want)
		}
	}
	if n, err := st.DeleteLogsBefore(ctx, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("deleting old log events: %d %v", n, err)
	}

	if err := st.DeleteAlarm(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetAlarm(ctx, old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted alarm: %v", err)
	}
	if s, _ := st.ListSteps(ctx, old.ID); len(s) != 0 {
		t.Fatalf("steps of a deleted alarm: %+v", s)
	}
	if err := st.DeleteAlarm(ctx, old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testLastSeen(t *testing.T, st Store) {
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	a := alarms.LastSeen{Source: alarms.Source{Connector: "nagios", ConnectorName: "n1", Component: "web1"}, Time: t0}
	b := alarms.LastSeen{Source: alarms.Source{Connector: "nagios", ConnectorName: "n1", Component: "web2"}, Time: t0}
	if err := st.SaveLastSeen(ctx, []alarms.LastSeen{a, b}); err != nil {
		t.Fatal(err)
	}
	a.Time = t0.Add(time.Minute)
	if err := st.SaveLastSeen(ctx, []alarms.LastSeen{a}); err != nil {
		t.Fatal(err)
	}
	l, err := st.LastSeenTimes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, s := range l {
		got[s.Component] = s.Time
	}
	if len(l) != 2 || !got["web1"].Equal(a.Time) || !got["web2"].Equal(t0) {
		t.Fatalf("last-seen times: %+v", l)
	}
}

func testMaintenances(t *testing.T, st Store) {
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	h := newHost("db7", "dbs7")
	if err := st.CreateHost(ctx, &h); err != nil {
		t.Fatal(err)
	}
	if l, err := st.GroupHosts(ctx, "dbs7"); err != nil || fmt.Sprint(l) != "[db7]" {
		t.Fatalf("group hosts: %v %v", l, err)
	}
	if l, err := st.GroupHosts(ctx, "none"); err != nil || len(l) != 0 {
		t.Fatalf("hosts of an unknown group: %v %v", l, err)
	}
	m := alarms.Maintenance{Name: "night", Weekly: &alarms.Weekly{Days: []string{"mon"}, Start: "22:00", Duration: "2h"},
		Groups: []string{"dbs7"}, Author: "alice", Created: t0}
	if err := st.CreateMaintenance(ctx, &m); err != nil || m.ID == 0 {
		t.Fatalf("creating: %+v %v", m, err)
	}
	l, err := st.ListMaintenances(ctx)
	if err != nil || len(l) != 1 || l[0].ID != m.ID || l[0].Weekly.Start != "22:00" || l[0].Groups[0] != "dbs7" || !l[0].Created.Equal(t0) {
		t.Fatalf("listing: %+v %v", l, err)
	}
	if err := st.DeleteMaintenance(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMaintenance(ctx, m.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting again: %v", err)
	}
}
