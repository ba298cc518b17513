package app

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/vigie-monitoring/vigie/internal/alarms"
)

// TestAlarmSortSearchCountThroughTheAPI: sorted pages with opaque cursors
// (every alarm once, full last page without a cursor), text search, counts
// by criticality scoped to the caller's domains, and 400s naming the field.
func TestAlarmSortSearchCountThroughTheAPI(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	if code := ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "edge-7", "domain": "network", "check": map[string]any{"kind": "none"}}, nil); code != 201 {
		t.Fatalf("host: %d", code)
	}
	if code := ts.admin("POST", "/api/v1/users", map[string]any{"login": "max", "password": "max-password-1", "role": "manager", "domains": []string{"network"}}, nil); code != 201 {
		t.Fatalf("user: %d", code)
	}
	// Seven alarms, states 1..3 repeating: ties for the state sort.
	var evs []map[string]any
	for i := range 7 {
		comp := fmt.Sprintf("srv-%d", i)
		if i == 6 {
			comp = "edge-7"
		}
		evs = append(evs, map[string]any{"connector": "nagios", "connector_name": "n1", "event_type": "check", "source_type": "resource",
			"component": comp, "resource": "svc", "state": 1 + i%3, "output": fmt.Sprintf("Disk Usage %d0%%", i)})
	}
	if code := ts.admin("POST", "/api/v1/events", evs, nil); code != 202 {
		t.Fatalf("events: %d", code)
	}

	// Pages of two in state order, highest first: states 3,3,2,2,2,1,1 and
	// ids descending among equal states.
	var got []alarms.Alarm
	cursor := ""
	for range 10 {
		var l alarmList
		if code := ts.admin("GET", "/api/v1/alarms?sort=-state&limit=2&cursor="+url.QueryEscape(cursor), nil, &l); code != 200 {
			t.Fatalf("sorted page: %d", code)
		}
		got = append(got, l.Items...)
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != 7 {
		t.Fatalf("sorted pages gave %d alarms, want 7", len(got))
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.State < b.State || (a.State == b.State && a.ID <= b.ID) {
			t.Errorf("sort=-state: %d (state %d) before %d (state %d)", a.ID, a.State, b.ID, b.State)
		}
	}
	var asc alarmList
	ts.admin("GET", "/api/v1/alarms?sort=component&limit=7", nil, &asc)
	if len(asc.Items) != 7 || asc.Items[0].Component != "edge-7" || asc.Items[6].Component != "srv-5" || asc.NextCursor != "" {
		t.Errorf("sort=component, one full page: %d items, first %v, cursor %q", len(asc.Items), asc.Items, asc.NextCursor)
	}

	var l alarmList
	if ts.admin("GET", "/api/v1/alarms?search=disk+usage+30", nil, &l); len(l.Items) != 1 || l.Items[0].Component != "srv-3" {
		t.Errorf("search: %+v", l.Items)
	}

	type counts struct {
		Total         int64            `json:"total"`
		ByCriticality map[string]int64 `json:"by_criticality"`
	}
	for _, tc := range []struct {
		who, query string
		want       counts
	}{
		{"admin", "status=open", counts{7, map[string]int64{"green": 3, "orange": 2, "red": 2}}},
		{"admin", "criticality=red", counts{2, map[string]int64{"green": 0, "orange": 0, "red": 2}}},
		{"admin", "search=usage", counts{7, map[string]int64{"green": 3, "orange": 2, "red": 2}}},
		{"admin", "status=archived", counts{0, map[string]int64{"green": 0, "orange": 0, "red": 0}}},
		// The manager sees the network's host only (edge-7, state 1).
		{"max", "status=open", counts{1, map[string]int64{"green": 1, "orange": 0, "red": 0}}},
	} {
		var c counts
		pw := adminPassword
		if tc.who == "max" {
			pw = "max-password-1"
		}
		if code := ts.call("GET", "/api/v1/alarms/count?"+tc.query, tc.who, pw, nil, &c); code != 200 || c.Total != tc.want.Total ||
			fmt.Sprint(c.ByCriticality) != fmt.Sprint(tc.want.ByCriticality) {
			t.Errorf("%s count ?%s: %d %+v, want %+v", tc.who, tc.query, code, c, tc.want)
		}
	}

	var first alarmList
	ts.admin("GET", "/api/v1/alarms?sort=-state&limit=2", nil, &first)
	for _, tc := range []struct{ path, field string }{
		{"/api/v1/alarms?sort=severity", "sort"},
		{"/api/v1/alarms?sort=--state", "sort"},
		{"/api/v1/alarms/count?sort=nope", "sort"},
		{"/api/v1/alarms/count?criticality=blue", "criticality"},
		{"/api/v1/alarms?sort=state&cursor=12", "cursor"},
		{"/api/v1/alarms?sort=state&cursor=" + url.QueryEscape(first.NextCursor), "cursor"}, // another sort's
		{"/api/v1/alarms?cursor=" + url.QueryEscape(first.NextCursor), "cursor"},            // the default order's are numbers
	} {
		var e apiErr
		if code := ts.admin("GET", tc.path, nil, &e); code != 400 || e.Error.Field != tc.field || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want 400 naming %s", tc.path, code, e, tc.field)
		}
	}
}
