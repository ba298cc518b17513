package rules

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vigie-monitoring/vigie/internal/events"
)

type memStore struct {
	rs   []Rule
	fail error
}

func (m *memStore) ListEventRules(context.Context) ([]Rule, error) { return slices.Clone(m.rs), nil }
func (m *memStore) ReplaceEventRules(_ context.Context, rs []Rule) error {
	if m.fail != nil {
		return m.fail
	}
	m.rs = slices.Clone(rs)
	return nil
}

func names(m *Manager) string {
	var out []string
	for _, l := range m.List() {
		out = append(out, l.Name+"/"+l.Source)
	}
	return strings.Join(out, " ")
}

func drop(name string) Rule { return Rule{Name: name, Actions: Actions{Drop: true}} }

func TestManager(t *testing.T) {
	ctx := context.Background()
	st := &memStore{rs: []Rule{drop("a"), drop("cfg"), {Name: "broken", Actions: Actions{SetCriticality: "pink"}}}}
	eng := NewEngine()
	m, skipped, err := NewManager(ctx, eng, st, []Rule{drop("cfg")})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0].Error(), `"cfg"`) || !strings.Contains(skipped[1].Error(), `"broken"`) {
		t.Fatalf("skipped: %v", skipped)
	}
	if got := names(m); got != "cfg/config a/api" {
		t.Fatalf("rules: %s", got)
	}
	zero, two := 0, 2
	for _, c := range []struct {
		r   Rule
		pos *int
	}{{drop("b"), nil}, {drop("first"), &zero}, {drop("mid"), &two}, {drop("last"), &[]int{99}[0]}} {
		if err := m.Create(ctx, c.r, c.pos); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(m); got != "cfg/config first/api a/api mid/api b/api last/api" {
		t.Fatalf("after creating: %s", got)
	}
	if len(st.rs) != 5 || st.rs[0].Name != "first" {
		t.Fatalf("stored: %v", st.rs)
	}
	for _, c := range []struct {
		err  error
		want error
	}{
		{m.Create(ctx, drop("a"), nil), ErrExists},
		{m.Create(ctx, drop("cfg"), nil), ErrManagedByConfig},
		{m.Update(ctx, "cfg", drop("cfg")), ErrManagedByConfig},
		{m.Delete(ctx, "cfg"), ErrManagedByConfig},
		{m.Delete(ctx, "nope"), ErrNotFound},
		{m.Update(ctx, "a", drop("b")), ErrExists},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("error %v, want %v", c.err, c.want)
		}
	}
	var re *Error
	if err := m.Create(ctx, Rule{Name: "bad", Actions: Actions{SetCriticality: "pink"}}, nil); !errors.As(err, &re) || re.Key != "actions.set_criticality" {
		t.Fatalf("invalid rule: %v", err)
	}
	// Update in place, renaming; delete.
	if err := m.Update(ctx, "mid", Rule{Name: "middle", Actions: Actions{SetCriticality: events.Red}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got := names(m); got != "cfg/config first/api a/api middle/api last/api" {
		t.Fatalf("after update and delete: %s", got)
	}
	// Move with an update: first, past the end, then back in the middle.
	for _, c := range []struct {
		pos  int
		want string
	}{
		{0, "cfg/config middle/api first/api a/api last/api"},
		{99, "cfg/config first/api a/api last/api middle/api"},
		{2, "cfg/config first/api a/api middle/api last/api"},
	} {
		if err := m.UpdateAt(ctx, "middle", Rule{Name: "middle", Actions: Actions{SetCriticality: events.Red}}, &c.pos); err != nil {
			t.Fatal(err)
		}
		if got := names(m); got != c.want {
			t.Fatalf("moved to %d: %s, want %s", c.pos, got, c.want)
		}
	}
	if st.rs[2].Name != "middle" {
		t.Fatalf("stored after moving: %v", st.rs)
	}
	// A store that fails changes nothing in force.
	st.fail = errors.New("disk full")
	if err := m.Delete(ctx, "a"); err == nil || !strings.Contains(err.Error(), "storing the event rules: disk full") {
		t.Fatalf("failing store: %v", err)
	}
	if got := names(m); got != "cfg/config first/api a/api middle/api last/api" {
		t.Fatalf("after a failed store: %s", got)
	}
	st.fail = nil
	// A reloaded YAML takes a stored rule's name: the YAML's wins.
	skippedNames, err := m.SetConfig([]Rule{drop("first"), drop("new")})
	if err != nil || !slices.Equal(skippedNames, []string{"first"}) {
		t.Fatalf("SetConfig: %v %v", skippedNames, err)
	}
	if got := names(m); got != "first/config new/config a/api middle/api last/api" {
		t.Fatalf("after SetConfig: %s", got)
	}
	// Hits are listed.
	ev := events.Event{Component: "x"}
	eng.Set().Apply(&ev)
	if l := m.List(); l[0].Hits != 1 || l[0].Dropped != 1 {
		t.Fatalf("list counters: %+v", l[0])
	}
}
