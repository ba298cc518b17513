package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/vigie-monitoring/vigie/internal/events/rules"
)

func testEventRules(t *testing.T, st Store) {
	ctx := context.Background()
	got, err := st.ListEventRules(ctx)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty list: %v %v", got, err)
	}
	three, re := 3.0, "db.*"
	rs := []rules.Rule{
		{Name: "z-first", Match: []rules.Condition{{Field: "component", Regex: &re}, {Field: "state", Gte: &three}},
			Actions: rules.Actions{SetCriticality: "red", AddTags: map[string]string{"team": "dba"}, Continue: true}},
		{Name: "a-second", Match: []rules.Condition{{Field: "connector", In: []string{"a", "b"}}}, Actions: rules.Actions{Drop: true}},
		{Name: "m-third", Actions: rules.Actions{Rename: map[string]string{"tags.host": "resource"}, Set: map[string]string{"domain": "net"}}},
	}
	if err := st.ReplaceEventRules(ctx, rs); err != nil {
		t.Fatal(err)
	}
	got, err = st.ListEventRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rs) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, rs)
	}
	// Reordered and shortened as a whole.
	if err := st.ReplaceEventRules(ctx, []rules.Rule{rs[2], rs[0]}); err != nil {
		t.Fatal(err)
	}
	got, _ = st.ListEventRules(ctx)
	if len(got) != 2 || got[0].Name != "m-third" || got[1].Name != "z-first" {
		t.Fatalf("after a replacement: %+v", got)
	}
	if err := st.ReplaceEventRules(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ = st.ListEventRules(ctx); len(got) != 0 {
		t.Fatalf("after emptying: %+v", got)
	}
}
