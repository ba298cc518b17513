package alarms_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/store"
	"github.com/vigie-monitoring/vigie/internal/testenv"
)

var ctx = context.Background()

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sqliteStore(t testing.TB) store.Store {
	st, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func pgStore(t testing.TB) store.Store {
	st, err := store.Open(ctx, store.Options{Driver: "postgres", DSN: testenv.Postgres(t, "vigie_alarms")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// bothStores runs f against SQLite and PostgreSQL.
func bothStores(t *testing.T, f func(t *testing.T, st store.Store)) {
	for name, open := range map[string]func(testing.TB) store.Store{"sqlite": sqliteStore, "postgres": pgStore} {
		t.Run(name, func(t *testing.T) { f(t, open(t)) })
	}
}

func newEngine(t testing.TB, st alarms.Store, delay time.Duration, c *clock) (*alarms.Engine, *[]alarms.Change) {
	var (
		mu      sync.Mutex
		changes []alarms.Change
	)
	e, err := alarms.New(ctx, alarms.Options{Store: st, ResolveDelay: delay, Now: c.Now, Publish: func(ch alarms.Change) {
		mu.Lock()
		changes = append(changes, ch)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	return e, &changes
}

func ev(component, resource string, state int, output string) events.Event {
	return events.Event{Connector: "nagios", ConnectorName: "n1", EventType: events.TypeCheck, SourceType: "resource",
		Component: component, Resource: resource, State: state, Output: output, Time: t0}
}

func stepTypes(t *testing.T, st alarms.Store, id int64) []string {
	t.Helper()
	steps, err := st.ListSteps(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, s := range steps {
		out = append(out, s.Type)
	}
	return out
}

func only(t *testing.T, st alarms.Store, f alarms.Filter) []alarms.Alarm {
	t.Helper()
	l, err := st.ListAlarms(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLifecycle(t *testing.T) {
	crit := func(e events.Event, c string) events.Event { e.Criticality = c; return e }
	logEv := ev("web1", "http", 3, "a log line")
	logEv.EventType = events.TypeLog
	type want struct {
		status           string
		state, worst     int
		count            int64
		criticality, out string
		steps            []string
	}
	for _, tc := range []struct {
		name   string
		events []events.Event
		want   []want // alarms of web1/http, newest first
	}{
		{"non-OK opens", []events.Event{ev("web1", "http", 2, "slow")},
			[]want{{alarms.StatusOpen, 2, 2, 1, events.Orange, "slow", []string{"open"}}}},
		{"repeats update", []events.Event{ev("web1", "http", 1, "a"), ev("web1", "http", 1, "b"), ev("web1", "http", 3, "c"), ev("web1", "http", 2, "d")},
			[]want{{alarms.StatusOpen, 2, 3, 4, events.Orange, "d", []string{"open", "stateinc", "statedec"}}}},
		{"event criticality wins", []events.Event{crit(ev("web1", "http", 1, "x"), events.Red)},
			[]want{{alarms.StatusOpen, 1, 1, 1, events.Red, "x", []string{"open"}}}},
		{"OK resolves", []events.Event{ev("web1", "http", 3, "down"), ev("web1", "http", 0, "up")},
			[]want{{alarms.StatusResolved, 0, 3, 2, events.Red, "up", []string{"open", "statedec", "resolve"}}}},
		{"OK without alarm does nothing", []events.Event{ev("web1", "http", 0, "up")}, nil},
		{"reopens after resolution", []events.Event{ev("web1", "http", 3, "down"), ev("web1", "http", 0, "up"), ev("web1", "http", 2, "again")},
			[]want{
				{alarms.StatusOpen, 2, 2, 1, events.Orange, "again", []string{"open"}},
				{alarms.StatusResolved, 0, 3, 2, events.Red, "up", []string{"open", "statedec", "resolve"}},
			}},
		{"log events never open", []events.Event{logEv}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bothStores(t, func(t *testing.T, st store.Store) {
				e, _ := newEngine(t, st, 0, &clock{t: t0})
				// One batch, then the same events one at a time: the result
				// must not depend on batching.
				for _, split := range []bool{false, true} {
					if split {
						st = sqliteStore(t)
						e, _ = newEngine(t, st, 0, &clock{t: t0})
						for _, x := range tc.events {
							if err := e.Ingest(ctx, []events.Event{x}); err != nil {
								t.Fatal(err)
							}
						}
					} else if err := e.Ingest(ctx, slices.Clone(tc.events)); err != nil {
						t.Fatal(err)
					}
					got := only(t, st, alarms.Filter{Component: "web1"})
					if len(got) != len(tc.want) {
						t.Fatalf("split %v: %d alarms, want %d: %+v", split, len(got), len(tc.want), got)
					}
					for i, w := range tc.want {
						a := got[i]
						g := want{a.Status, a.State, a.WorstState, a.Count, a.Criticality, a.Output, stepTypes(t, st, a.ID)}
						if fmt.Sprint(g) != fmt.Sprint(w) {
							t.Errorf("split %v: alarm %d:\n got %+v\nwant %+v", split, i, g, w)
						}
					}
				}
			})
		})
	}
}

func TestResolveDelay(t *testing.T) {
	st := sqliteStore(t)
	c := &clock{t: t0}
	e, _ := newEngine(t, st, 5*time.Minute, c)
	ingest := func(evs ...events.Event) {
		t.Helper()
		if err := e.Ingest(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	ingest(ev("db1", "", 3, "down"))
	ingest(ev("db1", "", 0, "up"))
	a := only(t, st, alarms.Filter{})[0]
	if a.Status != alarms.StatusOpen || a.State != 0 || !a.ResolveAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("resolving: %+v", a)
	}
	// A problem within the delay keeps the alarm open.
	c.Add(time.Minute)
	ingest(ev("db1", "", 2, "flap"))
	c.Add(10 * time.Minute)
	if err := e.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	a = only(t, st, alarms.Filter{})[0]
	if a.Status != alarms.StatusOpen || !a.ResolveAt.IsZero() || a.State != 2 {
		t.Fatalf("after a problem within the delay: %+v", a)
	}
	ingest(ev("db1", "", 0, "up"))
	c.Add(4 * time.Minute)
	e.Tick(ctx)
	if a = only(t, st, alarms.Filter{})[0]; a.Status != alarms.StatusOpen {
		t.Fatalf("resolved before the delay: %+v", a)
	}
	c.Add(time.Minute)
	if err := e.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	a = only(t, st, alarms.Filter{})[0]
	if a.Status != alarms.StatusResolved || !a.Resolved.Equal(t0.Add(16*time.Minute)) {
		t.Fatalf("after the delay: %+v", a)
	}
	if got := stepTypes(t, st, a.ID); fmt.Sprint(got) != "[open statedec resolving stateinc statedec resolving resolve]" {
		t.Fatalf("steps: %v", got)
	}
	if e.Open() != 0 {
		t.Fatalf("%d open alarms in memory", e.Open())
	}
}

func TestActions(t *testing.T) {
	bothStores(t, func(t *testing.T, st store.Store) {
		c := &clock{t: t0}
		e, changes := newEngine(t, st, 0, c)
		if err := e.Ingest(ctx, []events.Event{ev("sw1", "if1", 2, "errors")}); err != nil {
			t.Fatal(err)
		}
		id := only(t, st, alarms.Filter{})[0].ID
		act := func(a alarms.Action) (alarms.Alarm, error) {
			c.Add(time.Second)
			if a.Author == "" {
				a.Author = "alice"
			}
			return e.Act(ctx, id, a)
		}
		for _, tc := range []struct {
			act   alarms.Action
			check func(a alarms.Alarm) bool
			err   error
		}{
			{alarms.Action{Type: "ack", Comment: "mine"}, func(a alarms.Alarm) bool { return a.Acked && a.AckBy == "alice" && a.AckComment == "mine" }, nil},
			{alarms.Action{Type: "unack"}, func(a alarms.Alarm) bool { return !a.Acked && a.AckBy == "" }, nil},
			{alarms.Action{Type: "unack"}, nil, alarms.ErrInvalidAction},
			{alarms.Action{Type: "comment", Comment: "looking"}, func(a alarms.Alarm) bool { return true }, nil},
			{alarms.Action{Type: "snooze", Until: t0}, nil, alarms.ErrInvalidAction},
			{alarms.Action{Type: "snooze", Until: t0.Add(time.Hour)}, func(a alarms.Alarm) bool { return a.SnoozeUntil.Equal(t0.Add(time.Hour)) }, nil},
			{alarms.Action{Type: "criticality", Criticality: "blue"}, nil, alarms.ErrInvalidAction},
			{alarms.Action{Type: "criticality", Criticality: events.Red, Lock: true}, func(a alarms.Alarm) bool { return a.Criticality == events.Red && a.CriticalityLocked }, nil},
			{alarms.Action{Type: "transfer"}, nil, alarms.ErrInvalidAction},
			{alarms.Action{Type: "transfer", Users: []string{"bob", "carol"}}, func(a alarms.Alarm) bool { return slices.Equal(a.Assignees, []string{"bob", "carol"}) }, nil},
			{alarms.Action{Type: "dance"}, nil, alarms.ErrInvalidAction},
		} {
			a, err := act(tc.act)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("%s: got %v, want %v", tc.act.Type, err, tc.err)
				}
				continue
			}
			if err != nil || !tc.check(a) {
				t.Errorf("%s: %+v %v", tc.act.Type, a, err)
			}
			if stored, _ := st.GetAlarm(ctx, id); fmt.Sprint(stored) != fmt.Sprint(a) {
				t.Errorf("%s: stored %+v\nreturned %+v", tc.act.Type, stored, a)
			}
		}
		// A locked criticality stays; the ack and snooze stay on new events.
		if err := e.Ingest(ctx, []events.Event{ev("sw1", "if1", 1, "fewer errors")}); err != nil {
			t.Fatal(err)
		}
		a, _ := st.GetAlarm(ctx, id)
		if a.Criticality != events.Red || a.State != 1 || a.Count != 2 {
			t.Fatalf("after an event: %+v", a)
		}
		steps, _ := st.ListSteps(ctx, id)
		if s := steps[1]; s.Type != "ack" || s.Author != "alice" || s.Comment != "mine" || !s.Time.Equal(t0.Add(time.Second)) {
			t.Fatalf("ack step: %+v", s)
		}
		// Cancel closes the alarm; the next problem opens a new one.
		if a, err := act(alarms.Action{Type: "cancel", Comment: "known"}); err != nil || a.Status != alarms.StatusResolved {
			t.Fatalf("cancel: %+v %v", a, err)
		}
		if _, err := act(alarms.Action{Type: "ack"}); !errors.Is(err, alarms.ErrNotOpen) {
			t.Fatalf("ack of a resolved alarm: %v", err)
		}
		if err := e.Ingest(ctx, []events.Event{ev("sw1", "if1", 3, "down")}); err != nil {
			t.Fatal(err)
		}
		if l := only(t, st, alarms.Filter{Status: alarms.StatusOpen}); len(l) != 1 || l[0].ID == id || l[0].Criticality != events.Red {
			t.Fatalf("after cancel: %+v", l)
		}
		if a, err := act(alarms.Action{Type: "archive"}); err != nil || a.Status != alarms.StatusArchived {
			t.Fatalf("archive: %+v %v", a, err)
		}
		if l := only(t, st, alarms.Filter{}); len(l) != 1 {
			t.Fatalf("archived alarm in the live view: %+v", l)
		}
		if err := e.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetAlarm(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
		ops := map[string]int{}
		for _, ch := range *changes {
			ops[ch.Op]++
		}
		if ops["opened"] != 2 || ops["resolved"] != 1 || ops["archived"] != 1 || ops["deleted"] != 1 || ops["updated"] < 6 {
			t.Fatalf("published: %v", ops)
		}
	})
}

// TestPublishedOps: each committed change is published once with what
// happened to the alarm in the batch.
func TestPublishedOps(t *testing.T) {
	e, changes := newEngine(t, sqliteStore(t), 0, &clock{t: t0})
	for _, batch := range [][]events.Event{
		{ev("a", "", 2, "")},
		{ev("a", "", 3, "")},
		{ev("a", "", 0, "")},
		{ev("b", "", 2, ""), ev("b", "", 3, "")},
		{ev("b", "", 0, ""), ev("b", "", 1, "")},
	} {
		if err := e.Ingest(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, c := range *changes {
		got = append(got, c.Alarm.Component+":"+c.Op)
	}
	if s := strings.Join(got, " "); s != "a:opened a:updated a:resolved b:opened b:resolved b:opened" {
		t.Fatalf("published %s", s)
	}
}

// failing is the real store whose next write fails.
type failing struct {
	store.Store
	fail bool
}

func (f *failing) WriteAlarms(ctx context.Context, w *alarms.Write) error {
	if f.fail {
		f.fail = false
		return errors.New("disk full")
	}
	return f.Store.WriteAlarms(ctx, w)
}

func TestFailedWriteChangesNothing(t *testing.T) {
	st := &failing{Store: sqliteStore(t)}
	e, changes := newEngine(t, st, 0, &clock{t: t0})
	if err := e.Ingest(ctx, []events.Event{ev("a", "", 2, "x")}); err != nil {
		t.Fatal(err)
	}
	st.fail = true
	if err := e.Ingest(ctx, []events.Event{ev("a", "", 3, "y"), ev("b", "", 3, "z")}); err == nil {
		t.Fatal("a failed write was acknowledged")
	}
	if e.Open() != 1 || len(*changes) != 1 {
		t.Fatalf("a failed write changed the engine: %d open, %d published", e.Open(), len(*changes))
	}
	if err := e.Ingest(ctx, []events.Event{ev("a", "", 3, "y")}); err != nil {
		t.Fatal(err)
	}
	a := only(t, st, alarms.Filter{})[0]
	if a.Count != 2 || a.State != 3 {
		t.Fatalf("after the failure: %+v", a)
	}
}

func TestInvalidEvents(t *testing.T) {
	e, _ := newEngine(t, sqliteStore(t), 0, &clock{t: t0})
	for _, tc := range []struct {
		mod   func(*events.Event)
		field string
	}{
		{func(e *events.Event) { e.Connector = "" }, "connector"},
		{func(e *events.Event) { e.ConnectorName = "" }, "connector_name"},
		{func(e *events.Event) { e.Component = "" }, "component"},
		{func(e *events.Event) { e.State = 4 }, "state"},
		{func(e *events.Event) { e.State = -1 }, "state"},
		{func(e *events.Event) { e.EventType = "perf" }, "event_type"},
		{func(e *events.Event) { e.Criticality = "pink" }, "criticality"},
	} {
		x := ev("a", "", 2, "")
		tc.mod(&x)
		err := e.Ingest(ctx, []events.Event{ev("ok", "", 2, ""), x})
		var fe *alarms.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v", tc.field, err)
		}
	}
	if e.Open() != 0 {
		t.Fatal("a batch with an invalid event was partly applied")
	}
}

// TestRestart: open alarms survive a restart, and the next events update
// them rather than opening others.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	for round := range 2 {
		st, err := store.Open(ctx, store.Options{DSN: path})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := newEngine(t, st, 0, &clock{t: t0})
		if err := e.Ingest(ctx, []events.Event{ev("a", "", 2, "x")}); err != nil {
			t.Fatal(err)
		}
		if l := only(t, st, alarms.Filter{}); len(l) != 1 || l[0].Count != int64(round+1) {
			t.Fatalf("round %d: %+v", round, l)
		}
		st.Close()
	}
}

// TestConcurrentIngest: concurrent callers share commits and lose nothing.
func TestConcurrentIngest(t *testing.T) {
	st := sqliteStore(t)
	e, _ := newEngine(t, st, 0, &clock{t: t0})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := e.Ingest(ctx, []events.Event{ev(fmt.Sprintf("h%d", i%5), "", 1+w%3, "x")}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for _, a := range only(t, st, alarms.Filter{}) {
		total += a.Count
	}
	if total != workers*each || e.Open() != 5 {
		t.Fatalf("count %d, want %d; %d open", total, workers*each, e.Open())
	}
}

// BenchmarkIngest measures events a second into alarm updates, on SQLite
// and PostgreSQL: batches of 500 events over 10,000 alarms, states 1..3,
// one in eight OK (resolving; the next problem opens a new alarm).
func BenchmarkIngest(b *testing.B) {
	for name, open := range map[string]func(testing.TB) store.Store{"sqlite": sqliteStore, "postgres": pgStore} {
		b.Run(name, func(b *testing.B) {
			// The default alarms.flapping: every key here changes state often.
			e, err := alarms.New(ctx, alarms.Options{Store: open(b), FlapChanges: 5, FlapWindow: 10 * time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			const batch, keys = 500, 10000
			evs := make([]events.Event, batch)
			n := 0
			for b.Loop() {
				for i := range evs {
					n++
					st := 1 + n%3
					if n%8 == 0 {
						st = 0
					}
					evs[i] = ev(fmt.Sprintf("host%d", n%keys), "svc", st, "output")
				}
				if err := e.Ingest(ctx, evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func flapEngine(t *testing.T, st alarms.Store, delay time.Duration, c *clock) *alarms.Engine {
	t.Helper()
	e, err := alarms.New(ctx, alarms.Options{Store: st, ResolveDelay: delay, Now: c.Now, FlapChanges: 5, FlapWindow: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestFlapping(t *testing.T) {
	bothStores(t, func(t *testing.T, st store.Store) {
		c := &clock{t: t0}
		e := flapEngine(t, st, 0, c)
		ingest := func(states ...int) {
			t.Helper()
			for _, s := range states {
				if err := e.Ingest(ctx, []events.Event{ev("web1", "http", s, fmt.Sprint("state ", s))}); err != nil {
					t.Fatal(err)
				}
				c.Add(time.Minute)
			}
		}
		flapping := func() []alarms.Alarm {
			t.Helper()
			return only(t, st, alarms.Filter{Status: alarms.StatusFlapping})
		}
		// Four changes: not yet.
		ingest(3, 1, 3, 2)
		if l := flapping(); len(l) != 0 {
			t.Fatalf("flapping after 4 changes: %+v", l)
		}
		ingest(2) // no change
		if l := flapping(); len(l) != 0 {
			t.Fatalf("flapping after a repeat: %+v", l)
		}
		ingest(3) // the fifth change within 10 minutes
		l := flapping()
		if len(l) != 1 || !l[0].Flapping || l[0].Status != alarms.StatusOpen {
			t.Fatalf("after 5 changes: %+v", l)
		}
		id := l[0].ID
		yes := true
		if l := only(t, st, alarms.Filter{Flapping: &yes}); len(l) != 1 || l[0].ID != id {
			t.Fatalf("flapping=true: %+v", l)
		}
		if a, _ := e.OpenAlarm(l[0].Key()); !a.Flapping {
			t.Fatalf("in memory: %+v", a)
		}
		// Repeats are no change: the flapping stops a whole window after
		// the last change (t0+5m), at t0+15m.
		ingest(3, 3, 3)
		c.t = t0.Add(15*time.Minute - time.Second)
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if l := flapping(); len(l) != 1 {
			t.Fatalf("stopped flapping before a whole window: %+v", l)
		}
		c.t = t0.Add(15 * time.Minute)
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if l := flapping(); len(l) != 0 {
			t.Fatalf("still flapping after a whole window: %+v", l)
		}
		a, err := st.GetAlarm(ctx, id)
		if err != nil || a.Flapping || a.Status != alarms.StatusOpen {
			t.Fatalf("after the window: %+v, %v", a, err)
		}
		if got := stepTypes(t, st, id); fmt.Sprint(got) != "[open statedec stateinc statedec stateinc flapping flappingend]" {
			t.Fatalf("steps: %v", got)
		}
	})
}

// Changes count per key, across the alarms that open and resolve; those
// out of the window do not.
func TestFlappingAcrossAlarms(t *testing.T) {
	st := sqliteStore(t)
	c := &clock{t: t0}
	e := flapEngine(t, st, 0, c)
	send := func(s int) {
		t.Helper()
		if err := e.Ingest(ctx, []events.Event{ev("db1", "", s, "")}); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Minute)
	}
	send(3)
	c.Add(20 * time.Minute) // out of the window
	for _, s := range []int{0, 3, 0, 3} {
		send(s)
	}
	a, ok := e.OpenAlarm(events.Key{Connector: "nagios", ConnectorName: "n1", Component: "db1"})
	if !ok || a.Flapping {
		t.Fatalf("flapping with 4 changes in the window: %+v", a)
	}
	send(0)
	send(3) // open, ok, open, ok, open: 5 changes
	a, _ = e.OpenAlarm(a.Key())
	if !a.Flapping {
		t.Fatalf("not flapping after 5 changes across alarms: %+v", a)
	}
	if got := stepTypes(t, st, a.ID); fmt.Sprint(got) != "[open flapping]" {
		t.Fatalf("steps: %v", got)
	}
	// After a restart the flag stays, and ends a whole window after the
	// last change (t0+26m), whose time the steps kept.
	e2 := flapEngine(t, st, 0, c)
	c.t = t0.Add(36*time.Minute - time.Second)
	if err := e2.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _ = e2.OpenAlarm(a.Key()); !a.Flapping {
		t.Fatalf("flag lost at the restart: %+v", a)
	}
	c.t = t0.Add(36 * time.Minute)
	if err := e2.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _ = e2.OpenAlarm(a.Key()); a.Flapping {
		t.Fatalf("flapping a window after the last change: %+v", a)
	}
}

// A restart resumes the count of changes within the window: four before
// it and one after make the alarm flap; changes older than the window,
// and those of other keys, do not count.
func TestFlappingCountSurvivesRestart(t *testing.T) {
	bothStores(t, func(t *testing.T, st store.Store) {
		c := &clock{t: t0}
		e := flapEngine(t, st, 0, c)
		send := func(e *alarms.Engine, component string, s int) {
			t.Helper()
			if err := e.Ingest(ctx, []events.Event{ev(component, "disk", s, "")}); err != nil {
				t.Fatal(err)
			}
			c.Add(time.Minute)
		}
		send(e, "db2", 3) // out of the window by the end
		c.Add(15 * time.Minute)
		for _, s := range []int{1, 3, 1, 3} {
			send(e, "db2", s)
			send(e, "db3", s)
		}
		// 1,100 changes of another key, newer than db2's: the store reads
		// the steps a page at a time, and db2's are past the first page.
		flips := make([]events.Event, 1100)
		for i := range flips {
			flips[i] = ev("db4", "disk", 1+2*(i%2), "")
		}
		if err := e.Ingest(ctx, flips); err != nil {
			t.Fatal(err)
		}
		e2 := flapEngine(t, st, 0, c)
		k := events.Key{Connector: "nagios", ConnectorName: "n1", Component: "db2", Resource: "disk"}
		if a, _ := e2.OpenAlarm(k); a.Flapping {
			t.Fatalf("flapping with 4 changes in the window: %+v", a)
		}
		send(e2, "db2", 1)
		if a, _ := e2.OpenAlarm(k); !a.Flapping {
			t.Fatalf("the restart forgot the changes before it: %+v", a)
		}
	})
}

func TestIdleRules(t *testing.T) {
	bothStores(t, func(t *testing.T, st store.Store) {
		c := &clock{t: t0}
		rules := []alarms.IdleRule{{Name: "quiet", Connector: regexp.MustCompile(`^(?:nagios)$`), Component: regexp.MustCompile(`^(?:web.*)$`), After: 10 * time.Minute}}
		open := func() *alarms.Engine {
			e, err := alarms.New(ctx, alarms.Options{Store: st, Now: c.Now, IdleRules: rules})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		e := open()
		send := func(component string, state int) {
			t.Helper()
			if err := e.Ingest(ctx, []events.Event{ev(component, "cpu", state, "")}); err != nil {
				t.Fatal(err)
			}
		}
		check := func() {
			t.Helper()
			if err := e.CheckIdle(ctx); err != nil {
				t.Fatal(err)
			}
		}
		idleKey := func(component string) events.Key {
			return events.Key{Connector: "vigie", ConnectorName: "idle", Component: component, Resource: "quiet"}
		}
		send("web1", 0) // OK events count
		send("db1", 0)  // not watched
		c.Add(10*time.Minute - time.Second)
		check()
		if _, ok := e.OpenAlarm(idleKey("web1")); ok {
			t.Fatal("idle alarm before 10m")
		}
		c.Add(time.Second)
		check()
		a, ok := e.OpenAlarm(idleKey("web1"))
		if !ok || a.State != 3 || a.Output != "no events from web1 for 10m" {
			t.Fatalf("idle alarm after 10m: %+v %v", a, ok)
		}
		// The tag says when web1 last spoke, which the output does not.
		if got, want := a.Tags[alarms.IdleSinceTag], t0.UTC().Format(time.RFC3339); got != want {
			t.Fatalf("idle alarm's %s tag: %q, want %q", alarms.IdleSinceTag, got, want)
		}
		if _, ok := e.OpenAlarm(idleKey("db1")); ok {
			t.Fatal("idle alarm of a source no rule watches")
		}
		check() // raised once
		if a2, _ := e.OpenAlarm(idleKey("web1")); a2.Count != 1 {
			t.Fatalf("raised again: %+v", a2)
		}
		// The last-seen times survive a restart, and the open alarm too:
		// an event resolves it.
		e = open()
		send("web1", 2)
		if _, ok := e.OpenAlarm(idleKey("web1")); ok {
			t.Fatal("idle alarm still open after an event")
		}
		got, err := st.GetAlarm(ctx, a.ID)
		if err != nil || got.Status != alarms.StatusResolved {
			t.Fatalf("idle alarm after an event: %+v %v", got, err)
		}
		// A source last seen before the start counts from the start.
		check()                 // saves web1's time
		c.Add(30 * time.Minute) // vigie was down
		e = open()
		check()
		if _, ok := e.OpenAlarm(idleKey("web1")); ok {
			t.Fatal("idle alarm counted from before the start")
		}
		c.Add(10 * time.Minute)
		check()
		if _, ok := e.OpenAlarm(idleKey("web1")); !ok {
			t.Fatal("no idle alarm 10m after the start")
		}
	})
}

func TestMaintenances(t *testing.T) {
	bothStores(t, func(t *testing.T, st store.Store) {
		c := &clock{t: t0} // a Sunday, 12:00 UTC
		e, _ := newEngine(t, st, 0, c)
		send := func(component string) {
			t.Helper()
			if err := e.Ingest(ctx, []events.Event{ev(component, "cpu", 3, "")}); err != nil {
				t.Fatal(err)
			}
		}
		in := func(component string) bool {
			t.Helper()
			a, ok := e.OpenAlarm(events.Key{Connector: "nagios", ConnectorName: "n1", Component: component, Resource: "cpu"})
			if !ok {
				t.Fatalf("no alarm for %s", component)
			}
			return a.InMaintenance
		}
		once := alarms.Maintenance{Name: "web upgrade", Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute), Hosts: []string{"web1"}}
		if err := e.CreateMaintenance(ctx, &once); err != nil || once.ID == 0 {
			t.Fatalf("creating: %+v %v", once, err)
		}
		weekly := alarms.Maintenance{Name: "db backup", Weekly: &alarms.Weekly{Days: []string{"sun"}, Start: "12:30", Duration: "1h"},
			Match: &alarms.Match{Component: "db.*"}}
		if err := e.CreateMaintenance(ctx, &weekly); err != nil {
			t.Fatal(err)
		}
		send("web1")
		if in("web1") {
			t.Fatal("in maintenance before its start")
		}
		c.Add(10 * time.Minute)
		if err := e.LoadMaintenances(ctx); err != nil { // Run's periodic look
			t.Fatal(err)
		}
		send("db1")
		if !in("web1") || in("db1") {
			t.Fatalf("at 12:10: web1 %v, db1 %v", in("web1"), in("db1"))
		}
		c.Add(20 * time.Minute) // 12:30: the one-off is over, the weekly begins
		send("db1")
		e.LoadMaintenances(ctx)
		if in("web1") || !in("db1") {
			t.Fatalf("at 12:30: web1 %v, db1 %v", in("web1"), in("db1"))
		}
		a, _ := e.OpenAlarm(events.Key{Connector: "nagios", ConnectorName: "n1", Component: "web1", Resource: "cpu"})
		if got := stepTypes(t, st, a.ID); fmt.Sprint(got) != "[open maintenance maintenanceend]" {
			t.Fatalf("web1 steps: %v", got)
		}
		if l, _ := st.ListMaintenances(ctx); len(l) != 2 || l[1].Weekly == nil || l[1].Match.Component != "db.*" {
			t.Fatalf("stored: %+v", l)
		}
		// Deleting the maintenance takes its alarms out.
		if err := e.DeleteMaintenance(ctx, weekly.ID); err != nil {
			t.Fatal(err)
		}
		if in("db1") {
			t.Fatal("still in a deleted maintenance")
		}
		// Next Sunday 13:29 is in, 13:30 out.
		c.t = t0.Add(7*24*time.Hour + 89*time.Minute)
		e.CreateMaintenance(ctx, &weekly)
		if !in("db1") {
			t.Fatal("not in the weekly maintenance a week later")
		}
		c.Add(time.Minute)
		e.LoadMaintenances(ctx)
		if in("db1") {
			t.Fatal("in the weekly maintenance after its end")
		}
	})
}

func TestMaintenanceValidation(t *testing.T) {
	for _, tc := range []struct {
		m     alarms.Maintenance
		field string
	}{
		{alarms.Maintenance{Start: t0, End: t0.Add(time.Hour), Hosts: []string{"a"}}, "name"},
		{alarms.Maintenance{Name: "x", Hosts: []string{"a"}}, "start"},
		{alarms.Maintenance{Name: "x", Start: t0, End: t0, Hosts: []string{"a"}}, "end"},
		{alarms.Maintenance{Name: "x", Start: t0, End: t0.Add(time.Hour)}, "hosts"},
		{alarms.Maintenance{Name: "x", Weekly: &alarms.Weekly{Days: []string{"sunday"}, Start: "12:00", Duration: "1h"}, Hosts: []string{"a"}}, "weekly.days"},
		{alarms.Maintenance{Name: "x", Weekly: &alarms.Weekly{Days: []string{"sun"}, Start: "25:00", Duration: "1h"}, Hosts: []string{"a"}}, "weekly.start"},
		{alarms.Maintenance{Name: "x", Weekly: &alarms.Weekly{Days: []string{"sun"}, Start: "12:00", Duration: "9d"}, Hosts: []string{"a"}}, "weekly.duration"},
		{alarms.Maintenance{Name: "x", Weekly: &alarms.Weekly{Days: []string{"sun"}, Start: "12:00", Duration: "1h", TimeZone: "Mars/Olympus"}, Hosts: []string{"a"}}, "weekly.timezone"},
		{alarms.Maintenance{Name: "x", Start: t0, End: t0.Add(time.Hour), Match: &alarms.Match{Component: "db[1"}}, "match.component"},
	} {
		var fe *alarms.FieldError
		if err := alarms.ValidateMaintenance(tc.m); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: %v, want field %s", tc.m, err, tc.field)
		}
	}
}
