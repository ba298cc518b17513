package store

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/events"
)

func alarmIDs(l []alarms.Alarm) []int64 {
	out := []int64{}
	for _, a := range l {
		out = append(out, a.ID)
	}
	return out
}

// testAlarmSearch checks text search through each dialect's index (and
// the short-query scan): substrings of every searched column, any case,
// archived alarms, and the index following updates and deletes.
func testAlarmSearch(t *testing.T, st Store) {
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	web := newAlarm("Web-Front-01", "HTTP", 3, t0)
	web.ConnectorName, web.Output = "nagios-paris", "Connection REFUSED on port 443"
	db := newAlarm("db1", "disk", 2, t0)
	db.Output = "disk full: /var at 99%"
	arch := newAlarm("sw1", "if1", 1, t0)
	arch.Output = "link down"
	db2 := newAlarm("db2", "disk", 1, t0)
	db2.Output = "disk slow"
	odd := newAlarm("qq1", "x", 1, t0)
	odd.Output = `it's "ok"? C:\temp at 50%`
	if err := st.WriteAlarms(ctx, &alarms.Write{Alarms: []*alarms.Alarm{web, db, arch, db2, odd}}); err != nil {
		t.Fatal(err)
	}
	// Archive one, changing its output: the index must drop the old text.
	arch.Status, arch.Output = alarms.StatusArchived, "link flapping on uplink"
	if err := st.WriteAlarms(ctx, &alarms.Write{Alarms: []*alarms.Alarm{arch}}); err != nil {
		t.Fatal(err)
	}
	// Every case twice: as it comes, then with any text in two alarms or
	// more taken as broad (SQLite's scan instead of the ids of matches).
	for _, probeMax := range []int{ftsProbeMax, 1} {
		defer func(m int) { ftsProbeMax = m }(ftsProbeMax)
		ftsProbeMax = probeMax
		searchCases(t, st, web, db, db2, arch, odd)
	}
	if err := st.DeleteAlarm(ctx, web.ID); err != nil {
		t.Fatal(err)
	}
	if l, err := st.ListAlarms(ctx, alarms.Filter{Search: "refused"}); err != nil || len(l) != 0 {
		t.Fatalf("a deleted alarm is still found: %+v %v", l, err)
	}
}

func searchCases(t *testing.T, st Store, web, db, db2, arch, odd *alarms.Alarm) {
	t.Helper()
	for _, tc := range []struct {
		name   string
		search string
		status string
		want   []int64
		before int64
	}{
		{"component, other case", "front-0", "", []int64{web.ID}, 0},
		{"resource", "http", "", []int64{web.ID}, 0},
		{"output, other case", "refused on", "", []int64{web.ID}, 0},
		{"connector name", "PARIS", "", []int64{web.ID}, 0},
		{"middle of a word", "onnectio", "", []int64{web.ID}, 0},
		{"trigrams apart are no match", "connrefused", "", []int64{}, 0},
		{"trigrams out of order are no match", "443 port", "", []int64{}, 0},
		{"several alarms", "d", "", []int64{db2.ID, db.ID, web.ID}, 0},
		{"several alarms, newest first", "disk", "", []int64{db2.ID, db.ID}, 0},
		{"a page after a cursor", "disk", "", []int64{db.ID}, db2.ID},
		{"short query scans", "ul", "", []int64{db.ID}, 0},
		{"percent is literal", "99%", "", []int64{db.ID}, 0},
		{"short underscore is literal", "_", "", []int64{}, 0},
		{"underscore is literal", "d_sk", "", []int64{}, 0},
		{"quote in the query", `"disk`, "", []int64{}, 0},
		{"quotes and a question mark", `t's "ok"?`, "", []int64{odd.ID}, 0},
		{"backslash", `c:\te`, "", []int64{odd.ID}, 0},
		{"short question mark", `?`, "", []int64{odd.ID}, 0},
		{"percent after text", `at 50%`, "", []int64{odd.ID}, 0},
		{"no match", "nothing-like-this", "", []int64{}, 0},
		{"archived are out of the live view", "uplink", "", []int64{}, 0},
		{"archived are searchable", "uplink", alarms.StatusArchived, []int64{arch.ID}, 0},
		{"an old output is forgotten", "link down", alarms.StatusArchived, []int64{}, 0},
	} {
		for _, count := range []bool{false, true} {
			f := alarms.Filter{Search: tc.search, Status: tc.status, Before: tc.before}
			if count {
				c, err := st.CountAlarms(ctx, f)
				if tc.before != 0 {
					continue // counts take no cursor
				}
				if err != nil || c.Total != int64(len(tc.want)) {
					t.Errorf("%s (probe max %d): count %+v %v, want %d", tc.name, ftsProbeMax, c, err, len(tc.want))
				}
				continue
			}
			l, err := st.ListAlarms(ctx, f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := alarmIDs(l); !equalIDs(got, tc.want) {
				t.Errorf("%s (probe max %d): search %q got %v, want %v", tc.name, ftsProbeMax, tc.search, got, tc.want)
			}
		}
	}
	// A sorted search filters by the index's matches rather than joining.
	l, err := st.ListAlarms(ctx, alarms.Filter{Search: "DISK", Sort: alarms.Sort{Key: alarms.SortState, Desc: true}})
	if got := alarmIDs(l); err != nil || !equalIDs(got, []int64{db.ID, db2.ID}) {
		t.Errorf("sorted search (probe max %d): %v %v, want %v", ftsProbeMax, got, err, []int64{db.ID, db2.ID})
	}
}

// testAlarmSortCounts pages through every sort, both ways, in pages
// smaller than the ties, and checks the order and that every alarm comes
// exactly once; then counts by criticality.
func testAlarmSortCounts(t *testing.T, st Store) {
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	var all []*alarms.Alarm
	for i := range 23 {
		a := newAlarm(fmt.Sprintf("c%d", i%5), fmt.Sprintf("r%d", i), 1+i%3, t0.Add(time.Duration(i%6)*time.Second))
		a.LastEvent = t0.Add(time.Duration(i%7) * time.Minute)
		a.Count = int64(i % 4)
		if i%9 == 0 {
			a.Criticality = events.Red // qualified apart from the state
		}
		all = append(all, a)
	}
	archived := newAlarm("c0", "gone", 3, t0)
	archived.Status = alarms.StatusArchived
	if err := st.WriteAlarms(ctx, &alarms.Write{Alarms: append(slices.Clone(all), archived)}); err != nil {
		t.Fatal(err)
	}
	for _, key := range alarms.SortKeys {
		for _, desc := range []bool{false, true} {
			s := alarms.Sort{Key: key, Desc: desc}
			want := slices.Clone(all)
			slices.SortFunc(want, func(a, b *alarms.Alarm) int {
				ca, cb := s.CursorOf(a), s.CursorOf(b)
				c := cmp.Or(cmp.Compare(ca.Int, cb.Int), cmp.Compare(ca.Str, cb.Str), cmp.Compare(a.ID, b.ID))
				if desc {
					return -c
				}
				return c
			})
			var wantIDs, got []int64
			for _, a := range want {
				wantIDs = append(wantIDs, a.ID)
			}
			f := alarms.Filter{Sort: s, Limit: 4}
			for range 20 {
				l, err := st.ListAlarms(ctx, f)
				if err != nil {
					t.Fatalf("sort %+v: %v", s, err)
				}
				got = append(got, alarmIDs(l)...)
				if len(l) < f.Limit {
					break
				}
				c := s.CursorOf(&l[len(l)-1])
				f.After = &c
			}
			if !equalIDs(got, wantIDs) {
				t.Errorf("sort %+v: got %v, want %v", s, got, wantIDs)
			}
		}
	}
	if _, err := st.ListAlarms(ctx, alarms.Filter{Sort: alarms.Sort{Key: "nope"}}); err == nil {
		t.Error("an unknown sort was taken")
	}

	wantCounts := func(keep func(a *alarms.Alarm) bool) alarms.Counts {
		c := alarms.Counts{ByCriticality: map[string]int64{events.Green: 0, events.Orange: 0, events.Red: 0}}
		for _, a := range all {
			if keep(a) {
				c.Total++
				c.ByCriticality[a.Criticality]++
			}
		}
		return c
	}
	three := 3
	for _, tc := range []struct {
		name string
		f    alarms.Filter
		want alarms.Counts
	}{
		{"live view", alarms.Filter{}, wantCounts(func(*alarms.Alarm) bool { return true })},
		{"state", alarms.Filter{State: &three}, wantCounts(func(a *alarms.Alarm) bool { return a.State == 3 })},
		{"component", alarms.Filter{Component: "c1"}, wantCounts(func(a *alarms.Alarm) bool { return a.Component == "c1" })},
		{"archived", alarms.Filter{Status: alarms.StatusArchived},
			alarms.Counts{Total: 1, ByCriticality: map[string]int64{events.Green: 0, events.Orange: 0, events.Red: 1}}},
		{"empty scope", alarms.Filter{Domains: []string{}}, wantCounts(func(*alarms.Alarm) bool { return false })},
		{"cursor and limit are ignored", alarms.Filter{Before: 1, Limit: 1}, wantCounts(func(*alarms.Alarm) bool { return true })},
	} {
		got, err := st.CountAlarms(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Total != tc.want.Total || len(got.ByCriticality) != 3 ||
			!equalCounts(got.ByCriticality, tc.want.ByCriticality) {
			t.Errorf("%s: counts %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func equalCounts(a, b map[string]int64) bool {
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}
