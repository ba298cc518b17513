package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// stores returns every implementation the shared suite runs against.
func stores(t *testing.T) map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"sqlite": func(t *testing.T) Store {
			st, err := Open(context.Background(), Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "t.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) Store {
			return pgStore(t)
		},
	}
}

func pgStore(t testing.TB) Store {
	st, err := Open(context.Background(), Options{Driver: "postgres", DSN: testenv.Postgres(t, "vigie_test")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStores(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
			}
		})
	}
}

var ctx = context.Background()

var suite = []struct {
	name string
	run  func(t *testing.T, st Store)
}{
	{"host groups", testHostGroups},
	{"hosts round-trip and conflicts", testHosts},
	{"host filters and pagination", testHostFilters},
	{"services", testServices},
	{"status and history", testStatus},
	{"deletes cascade", testCascade},
	{"users sessions tokens", testUsers},
	{"roles and audit", testRolesAudit},
	{"alarms steps and log events", testAlarms},
	{"alarm text search", testAlarmSearch},
	{"alarm sorts and counts", testAlarmSortCounts},
	{"event rules", testEventRules},
	{"last-seen times of idle sources", testLastSeen},
	{"maintenances and group hosts", testMaintenances},
	{"agents and their batch ids", testAgents},
	{"snmp templates on groups and services", testSNMPTemplates},
}

// testSNMPTemplates round-trips a group's template (and its removal) and a
// service's template, and filters services by it.
func testSNMPTemplates(t *testing.T, st Store) {
	tmpl := &inventory.SNMPTemplate{
		SNMP:      checks.Spec{"community": "net", "port": float64(1161)},
		Services:  []inventory.TemplateService{{Name: "uptime", OID: "sysUpTime.0", Warning: "10:", Interval: inventory.Duration(time.Minute)}},
		Discovery: &inventory.TemplateDiscovery{Name: "^eth", Types: []int{6}, OnlyUp: true, Every: inventory.Duration(time.Hour)},
	}
	g := inventory.HostGroup{Name: "core", SNMPTemplate: tmpl, Source: inventory.SourceAPI}
	if err := st.CreateHostGroup(ctx, &g); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetHostGroup(ctx, g.ID)
	if err != nil || !reflect.DeepEqual(got.SNMPTemplate, tmpl) {
		t.Fatalf("template round-trip: %v\n got %+v\nwant %+v", err, got.SNMPTemplate, tmpl)
	}
	got.SNMPTemplate = nil
	if err := st.UpdateHostGroup(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got, err = st.GetHostGroupByName(ctx, "core"); err != nil || got.SNMPTemplate != nil {
		t.Fatalf("template removed: %v %+v", err, got.SNMPTemplate)
	}
	h := newHost("sw1", "core")
	if err := st.CreateHost(ctx, &h); err != nil {
		t.Fatal(err)
	}
	for _, s := range []inventory.Service{
		{HostID: h.ID, Name: "uptime", Check: checks.Spec{"kind": "snmp", "oid": "sysUpTime.0"}, Source: inventory.SourceTemplate, Template: "core"},
		{HostID: h.ID, Name: "own", Check: checks.Spec{"kind": "snmp", "oid": "sysName.0"}, Source: inventory.SourceAPI},
	} {
		if err := st.CreateService(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	l, err := st.ListServices(ctx, ServiceFilter{Template: "core"})
	if err != nil || len(l) != 1 || l[0].Name != "uptime" || l[0].Template != "core" || l[0].Source != inventory.SourceTemplate {
		t.Fatalf("by template: %v %+v", err, l)
	}
	l[0].Template = "core" + inventory.DiscoverySuffix
	if err := st.UpdateService(ctx, &l[0]); err != nil {
		t.Fatal(err)
	}
	if s, err := st.GetService(ctx, l[0].ID); err != nil || s.Template != "core/discovery" {
		t.Fatalf("template updated: %v %+v", err, s)
	}
}

func testRolesAudit(t *testing.T, st Store) {
	r := auth.Role{Name: "noc", Permissions: []auth.Permission{auth.PermHostsRead, auth.PermAlarmsAck}}
	if err := st.PutRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Permissions = append(r.Permissions, auth.PermHostsWrite)
	r.Builtin = true
	if err := st.PutRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetRole(ctx, "noc")
	if err != nil || len(got.Permissions) != 3 || !got.Builtin || !got.Has(auth.PermHostsWrite) {
		t.Fatalf("role: %+v %v", got, err)
	}
	if _, err := st.GetRole(ctx, "none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing role: %v", err)
	}
	if l, _ := st.ListRoles(ctx); len(l) != 1 {
		t.Fatalf("roles: %+v", l)
	}
	if err := st.DeleteRole(ctx, "noc"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for i, e := range []auth.AuditEntry{
		{At: t0, Login: "ann", Action: "login", Outcome: "ok"},
		{At: t0.Add(time.Hour), Login: "bob", Action: "POST /api/v1/hosts", Object: "/api/v1/hosts", Outcome: "201", Detail: `{"name":"x"}`},
		{At: t0.Add(2 * time.Hour), Login: "ann", Action: "POST /api/v1/services", Outcome: "400"},
	} {
		if err := st.AddAudit(ctx, &e); err != nil || e.ID == 0 {
			t.Fatalf("audit %d: %v", i, err)
		}
	}
	list := func(f AuditFilter) []auth.AuditEntry {
		t.Helper()
		l, err := st.ListAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := list(AuditFilter{Login: "ann"}); len(l) != 2 || l[0].Action != "POST /api/v1/services" {
		t.Fatalf("by user, newest first: %+v", l)
	}
	if l := list(AuditFilter{Action: "POST "}); len(l) != 2 {
		t.Fatalf("by action prefix: %+v", l)
	}
	if l := list(AuditFilter{Since: t0.Add(30 * time.Minute)}); len(l) != 2 || l[1].Detail != `{"name":"x"}` {
		t.Fatalf("since: %+v", l)
	}
	if l := list(AuditFilter{Limit: 1}); len(l) != 1 || len(list(AuditFilter{Before: l[0].ID})) != 2 {
		t.Fatalf("cursor paging")
	}
	if n, err := st.DeleteAuditBefore(ctx, t0.Add(90*time.Minute)); err != nil || n != 2 {
		t.Fatalf("retention: %d %v", n, err)
	}
}

func testHostGroups(t *testing.T, st Store) {
	g := inventory.HostGroup{Name: "web", Description: "front", Source: inventory.SourceAPI}
	if err := st.CreateHostGroup(ctx, &g); err != nil || g.ID == 0 || g.CreatedAt.IsZero() {
		t.Fatalf("create: %v %+v", err, g)
	}
	dup := inventory.HostGroup{Name: "web", Source: inventory.SourceAPI}
	if err := st.CreateHostGroup(ctx, &dup); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	g.Description = "edge"
	if err := st.UpdateHostGroup(ctx, &g); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetHostGroupByName(ctx, "web")
	if err != nil || got.Description != "edge" || got.ID != g.ID {
		t.Fatalf("get by name: %v %+v", err, got)
	}
	if _, err := st.GetHostGroup(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	missing := inventory.HostGroup{ID: 999, Name: "x"}
	if err := st.UpdateHostGroup(ctx, &missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	list, err := st.ListHostGroups(ctx, HostGroupFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %d", err, len(list))
	}
	if err := st.DeleteHostGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteHostGroup(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func newHost(name string, groups ...string) inventory.Host {
	return inventory.Host{
		Name: name, Address: "10.0.0.1", Groups: groups, Tags: map[string]string{"env": "prod"},
		Domain: "system", Location: "DC1", Notes: "rack 4", Check: checks.Spec{"kind": "icmp", "count": float64(5)},
		Interval: inventory.Duration(time.Minute), RetryInterval: inventory.Duration(10 * time.Second), MaxAttempts: 3,
		Enabled: true, Source: inventory.SourceAPI,
	}
}

func testHosts(t *testing.T, st Store) {
	h := newHost("web1", "web", "linux")
	if err := st.CreateHost(ctx, &h); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetHost(ctx, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != h.Name || got.Address != h.Address || len(got.Groups) != 2 || got.Tags["env"] != "prod" ||
		got.Domain != "system" || got.Location != "DC1" || got.Notes != "rack 4" || got.Check.Kind() != "icmp" ||
		got.Check["count"] != float64(5) || got.Interval != h.Interval || got.RetryInterval != h.RetryInterval ||
		got.MaxAttempts != 3 || !got.Enabled || got.Source != "api" || !got.CreatedAt.Equal(h.CreatedAt) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
	}
	dup := newHost("web1")
	if err := st.CreateHost(ctx, &dup); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate host: %v", err)
	}
	// No check, no groups: defaults come back empty, not nil.
	bare := inventory.Host{Name: "bare", Interval: inventory.Duration(time.Minute), RetryInterval: inventory.Duration(time.Minute), MaxAttempts: 1, Source: "api"}
	if err := st.CreateHost(ctx, &bare); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetHostByName(ctx, "bare"); got.Check != nil || got.Groups == nil || got.Enabled {
		t.Fatalf("bare host: %+v", got)
	}
	if got, _ := st.GetHostByName(ctx, "bare"); got.SNMP != nil {
		t.Fatalf("bare host has SNMP settings: %+v", got.SNMP)
	}
	h.Address, h.Enabled = "10.0.0.2", false
	h.SNMP = checks.Spec{"version": "3", "user": "noc", "port": float64(1161)}
	if err := st.UpdateHost(ctx, &h); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetHostByName(ctx, "web1"); got.Address != "10.0.0.2" || got.Enabled || got.SNMP["user"] != "noc" || got.SNMP["port"] != float64(1161) {
		t.Fatalf("update: %+v", got)
	}
	bare.Name = "web1"
	if err := st.UpdateHost(ctx, &bare); !errors.Is(err, ErrConflict) {
		t.Fatalf("rename onto an existing name: %v", err)
	}
	if _, err := st.GetHostByName(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing host: %v", err)
	}
}

func testHostFilters(t *testing.T, st Store) {
	for i := 0; i < 25; i++ {
		h := newHost(fmt.Sprintf("node-%02d", i), "all")
		if i%2 == 0 {
			h.Groups = append(h.Groups, "even")
		}
		if i == 7 {
			h.Groups = []string{"web2"}
			h.Notes = "Special_Box 100%"
			h.Domain = "network"
		}
		if err := st.CreateHost(ctx, &h); err != nil {
			t.Fatal(err)
		}
	}
	count := func(f HostFilter) int {
		t.Helper()
		hs, err := st.ListHosts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(hs)
	}
	if n := count(HostFilter{Group: "even"}); n != 13 {
		t.Fatalf("group even: %d", n)
	}
	if n := count(HostFilter{Group: "web"}); n != 0 {
		t.Fatalf("group web must not match web2: %d", n)
	}
	if n := count(HostFilter{Search: "special_box 100%"}); n != 1 {
		t.Fatalf("search with wildcards: %d", n)
	}
	if n := count(HostFilter{Search: "NODE-1"}); n != 10 {
		t.Fatalf("case-insensitive search: %d", n)
	}
	if n := count(HostFilter{Domain: "network"}); n != 1 {
		t.Fatalf("domain: %d", n)
	}
	// Pages of 10 cover everything exactly once.
	seen := map[int64]bool{}
	var after int64
	for pages := 0; ; pages++ {
		hs, err := st.ListHosts(ctx, HostFilter{Page: Page{Limit: 10, After: after}})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if seen[h.ID] {
				t.Fatalf("host %d on two pages", h.ID)
			}
			seen[h.ID] = true
		}
		if len(hs) < 10 {
			break
		}
		after = hs[len(hs)-1].ID
	}
	if len(seen) != 25 {
		t.Fatalf("pages covered %d hosts, want 25", len(seen))
	}
	// State filter: one host DOWN, the rest pending.
	hs, _ := st.ListHosts(ctx, HostFilter{Name: "node-03"})
	if err := st.ApplyStatus(ctx, []StatusUpdate{{Status: state.Status{Kind: state.KindHost, ObjectID: hs[0].ID, Checked: true, State: state.HostDown, StateType: state.Hard}}}); err != nil {
		t.Fatal(err)
	}
	down, pending := state.HostDown, -1
	if n := count(HostFilter{State: &down}); n != 1 {
		t.Fatalf("state DOWN: %d", n)
	}
	if n := count(HostFilter{State: &pending, Page: Page{Limit: 1000}}); n != 24 {
		t.Fatalf("pending: %d", n)
	}
	if n := count(HostFilter{Page: Page{Limit: 5000}}); n != 25 {
		t.Fatalf("a limit over the maximum is capped, not refused: %d", n)
	}
}

func newService(hostID int64, name string, spec checks.Spec) inventory.Service {
	return inventory.Service{
		HostID: hostID, Name: name, Check: spec, Interval: inventory.Duration(30 * time.Second),
		RetryInterval: inventory.Duration(5 * time.Second), MaxAttempts: 4, Timeout: inventory.Duration(3 * time.Second),
		Enabled: true, Source: inventory.SourceConfig,
	}
}

func testServices(t *testing.T, st Store) {
	h := newHost("h")
	st.CreateHost(ctx, &h)
	s := newService(h.ID, "ssh", checks.Spec{"kind": "tcp", "port": float64(22), "expect": "SSH-"})
	if err := st.CreateService(ctx, &s); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetService(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.HostName != "h" || got.Name != "ssh" || got.Check["port"] != float64(22) || got.Check["expect"] != "SSH-" ||
		got.Interval != s.Interval || got.RetryInterval != s.RetryInterval || got.MaxAttempts != 4 || got.Timeout != s.Timeout ||
		!got.Enabled || got.Source != "config" {
		t.Fatalf("round trip: %+v", got)
	}
	dup := newService(h.ID, "ssh", checks.Spec{"kind": "tcp"})
	if err := st.CreateService(ctx, &dup); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate service: %v", err)
	}
	orphan := newService(9999, "x", checks.Spec{"kind": "tcp"})
	if err := st.CreateService(ctx, &orphan); err == nil {
		t.Fatal("service on a missing host accepted")
	}
	web := newService(h.ID, "web", checks.Spec{"kind": "http", "url": "http://x"})
	web.Enabled = false
	st.CreateService(ctx, &web)
	list := func(f ServiceFilter) []inventory.Service {
		t.Helper()
		l, err := st.ListServices(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := list(ServiceFilter{Kind: "http"}); len(l) != 1 || l[0].Name != "web" {
		t.Fatalf("kind filter: %+v", l)
	}
	on := true
	if l := list(ServiceFilter{HostID: h.ID, Enabled: &on}); len(l) != 1 || l[0].Name != "ssh" {
		t.Fatalf("enabled filter: %+v", l)
	}
	s.Check = checks.Spec{"kind": "http", "url": "http://y"}
	if err := st.UpdateService(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if l := list(ServiceFilter{Kind: "http"}); len(l) != 2 {
		t.Fatalf("kind follows the check after an update: %d", len(l))
	}
	crit := 2
	st.ApplyStatus(ctx, []StatusUpdate{{Status: state.Status{Kind: state.KindService, ObjectID: s.ID, Checked: true, State: 2, StateType: state.Soft}}})
	if l := list(ServiceFilter{State: &crit}); len(l) != 1 || l[0].ID != s.ID {
		t.Fatalf("state filter: %+v", l)
	}
	counts, err := st.CountStates(ctx, state.KindService)
	if err != nil || counts[2] != 1 || counts[-1] != 0 {
		t.Fatalf("counts (disabled services are not counted): %v %v", counts, err)
	}
}

func testStatus(t *testing.T, st Store) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := newHost("h")
	st.CreateHost(ctx, &h)
	s := newService(h.ID, "s", checks.Spec{"kind": "tcp"})
	st.CreateService(ctx, &s)
	warn := 0.5
	status := state.Status{
		Kind: state.KindService, ObjectID: s.ID, State: 2, StateType: state.Soft, Attempt: 2,
		Output: "CRITICAL - refused", LongOutput: "line 2\nline 3",
		Perfdata: []checks.Perf{{Label: "time", Value: 0.25, Unit: "s", Min: &warn}},
		Duration: 1500 * time.Microsecond, Checked: true, LastCheck: t0, NextCheck: t0.Add(5 * time.Second),
		LastStateChange: t0, LastHardStateChange: t0.Add(-time.Hour), LastHardState: 0, Flapping: true,
		PercentStateChange: 23.5, FlapHistory: 0b1011, FlapCount: 4, Unreachable: true,
	}
	change := &state.Change{Kind: state.KindService, ObjectID: s.ID, State: 2, StateType: state.Soft, Output: "x", Start: t0}
	first := []StatusUpdate{{Status: state.Status{Kind: state.KindService, ObjectID: s.ID, Checked: true, LastCheck: t0.Add(-time.Hour)},
		Change: &state.Change{Kind: state.KindService, ObjectID: s.ID, State: 0, StateType: state.Hard, Start: t0.Add(-time.Hour)}}}
	if err := st.ApplyStatus(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyStatus(ctx, []StatusUpdate{{Status: status, Change: change}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetStatus(ctx, state.KindService, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != 2 || got.StateType != state.Soft || got.Attempt != 2 || got.Output != status.Output || got.LongOutput != status.LongOutput ||
		len(got.Perfdata) != 1 || got.Perfdata[0].Value != 0.25 || *got.Perfdata[0].Min != 0.5 || got.Duration != status.Duration ||
		!got.LastCheck.Equal(t0) || !got.NextCheck.Equal(status.NextCheck) || !got.LastHardStateChange.Equal(status.LastHardStateChange) ||
		!got.Flapping || got.PercentStateChange != 23.5 || got.FlapHistory != 0b1011 || got.FlapCount != 4 || !got.Unreachable {
		t.Fatalf("status round trip:\n got %+v\nwant %+v", got, status)
	}
	all, err := st.LoadStatus(ctx, state.KindService)
	if err != nil || len(all) != 1 {
		t.Fatalf("load: %v %d", err, len(all))
	}
	if _, err := st.GetStatus(ctx, state.KindHost, h.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing status: %v", err)
	}
	changes, err := st.ListChanges(ctx, state.KindService, s.ID, t0.Add(-2*time.Hour), t0.Add(time.Hour), 10)
	if err != nil || len(changes) != 2 {
		t.Fatalf("changes: %v %+v", err, changes)
	}
	if changes[0].End != nil || changes[0].State != 2 || changes[1].End == nil || !changes[1].End.Equal(t0) {
		t.Fatalf("periods, newest first, the old one closed at the change: %+v", changes)
	}
	// A window after the first period ended sees only the open one.
	if c, _ := st.ListChanges(ctx, state.KindService, s.ID, t0.Add(time.Minute), t0.Add(time.Hour), 10); len(c) != 1 {
		t.Fatalf("window: %+v", c)
	}
	// A big batch in one call.
	var batch []StatusUpdate
	for i := 0; i < 2000; i++ {
		batch = append(batch, StatusUpdate{Status: state.Status{Kind: state.KindService, ObjectID: int64(100000 + i), Checked: true, LastCheck: t0}})
	}
	if err := st.ApplyStatus(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if all, _ := st.LoadStatus(ctx, state.KindService); len(all) != 2001 {
		t.Fatalf("after a batch of 2000: %d", len(all))
	}
	// The same object twice in one batch: the last status wins.
	twice := []StatusUpdate{
		{Status: state.Status{Kind: state.KindService, ObjectID: 100000, Checked: true, Attempt: 1}},
		{Status: state.Status{Kind: state.KindService, ObjectID: 100000, Checked: true, Attempt: 2}},
	}
	if err := st.ApplyStatus(ctx, twice); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetStatus(ctx, state.KindService, 100000); got.Attempt != 2 {
		t.Fatalf("duplicate in a batch: attempt %d, want the last (2)", got.Attempt)
	}
}

func testCascade(t *testing.T, st Store) {
	h := newHost("h")
	st.CreateHost(ctx, &h)
	s1 := newService(h.ID, "a", checks.Spec{"kind": "tcp"})
	s2 := newService(h.ID, "b", checks.Spec{"kind": "tcp"})
	st.CreateService(ctx, &s1)
	st.CreateService(ctx, &s2)
	t0 := time.Now()
	var b []StatusUpdate
	for _, u := range []struct {
		kind string
		id   int64
	}{{state.KindHost, h.ID}, {state.KindService, s1.ID}, {state.KindService, s2.ID}} {
		b = append(b, StatusUpdate{Status: state.Status{Kind: u.kind, ObjectID: u.id, Checked: true},
			Change: &state.Change{Kind: u.kind, ObjectID: u.id, Start: t0}})
	}
	if err := st.ApplyStatus(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteService(ctx, s1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetStatus(ctx, state.KindService, s1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("status of a deleted service: %v", err)
	}
	if err := st.DeleteHost(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetService(ctx, s2.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("service of a deleted host: %v", err)
	}
	for _, k := range []string{state.KindHost, state.KindService} {
		if all, _ := st.LoadStatus(ctx, k); len(all) != 0 {
			t.Fatalf("%s statuses left: %+v", k, all)
		}
	}
	if c, _ := st.ListChanges(ctx, state.KindService, s2.ID, t0.Add(-time.Hour), t0.Add(time.Hour), 10); len(c) != 0 {
		t.Fatalf("history of a deleted service: %+v", c)
	}
	if err := st.DeleteHost(ctx, h.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func testUsers(t *testing.T, st Store) {
	u := auth.User{Login: "ann", PasswordHash: "$2a$hash", Role: auth.RoleAdmin}
	if err := st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &auth.User{Login: "ann", Role: "viewer"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate login: %v", err)
	}
	u.Role, u.Disabled = auth.RoleViewer, true
	if err := st.UpdateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetUserByLogin(ctx, "ann"); err != nil || got.Role != "viewer" || !got.Disabled || got.PasswordHash != "$2a$hash" {
		t.Fatalf("user: %v %+v", err, got)
	}
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s := auth.Session{UserID: u.ID, TokenHash: "h1", CSRFToken: "c", RemoteAddr: "127.0.0.1", UserAgent: "test",
		CreatedAt: t0, LastSeen: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := st.CreateSession(ctx, &s); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetSessionByHash(ctx, "h1")
	if err != nil || got.ID != s.ID || got.CSRFToken != "c" || !got.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("session: %v %+v", err, got)
	}
	if err := st.TouchSession(ctx, s.ID, t0.Add(time.Minute), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	s2 := auth.Session{UserID: u.ID, TokenHash: "h2", CreatedAt: t0, LastSeen: t0, ExpiresAt: t0.Add(time.Minute)}
	st.CreateSession(ctx, &s2)
	if n, err := st.DeleteExpiredSessions(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("expired: %d %v (the touched session must survive)", n, err)
	}
	if l, _ := st.ListSessions(ctx, u.ID); len(l) != 1 || l[0].ID != s.ID {
		t.Fatalf("sessions: %+v", l)
	}
	if err := st.DeleteUserSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSessionByHash(ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session after delete: %v", err)
	}
	exp := t0.Add(24 * time.Hour)
	tok := auth.Token{UserID: u.ID, Name: "ci", TokenHash: "th", CreatedAt: t0, ExpiresAt: &exp}
	if err := st.CreateToken(ctx, &tok); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchToken(ctx, tok.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	gt, err := st.GetTokenByHash(ctx, "th")
	if err != nil || gt.Name != "ci" || gt.ExpiresAt == nil || !gt.ExpiresAt.Equal(exp) || gt.LastUsed == nil {
		t.Fatalf("token: %v %+v", err, gt)
	}
	if l, _ := st.ListTokens(ctx, u.ID); len(l) != 1 {
		t.Fatalf("tokens: %+v", l)
	}
	if err := st.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	// Deleting the user takes its sessions and tokens.
	st.CreateSession(ctx, &auth.Session{UserID: u.ID, TokenHash: "h3", CreatedAt: t0, LastSeen: t0, ExpiresAt: exp})
	if err := st.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSessionByHash(ctx, "h3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session of a deleted user: %v", err)
	}
	if l, _ := st.ListUsers(ctx); len(l) != 0 {
		t.Fatalf("users: %+v", l)
	}
}

func TestReopenKeepsDataAndMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	st, err := Open(ctx, Options{DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	h := newHost("persist")
	st.CreateHost(ctx, &h)
	st.Close()
	st, err = Open(ctx, Options{DSN: path})
	if err != nil {
		t.Fatalf("reopening (migrations must be idempotent): %v", err)
	}
	defer st.Close()
	if _, err := st.GetHostByName(ctx, "persist"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Options{Driver: "oracle"}); err == nil {
		t.Fatal("unknown driver accepted")
	}
}

// TestCrashDurability writes committed batches in a child process, kills
// it with SIGKILL, and checks that every batch the child reported committed
// is in the database.
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv("VIGIE_CRASH_DB"); path != "" {
		crashWriter(path)
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	if _, err := Open(ctx, Options{DSN: path}); err != nil {
		t.Fatal(err)
	}
	last := runCrashChild(t, path)
	st, err := Open(ctx, Options{DSN: path})
	if err != nil {
		t.Fatalf("reopening after SIGKILL: %v", err)
	}
	defer st.Close()
	all, err := st.LoadStatus(ctx, state.KindService)
	if err != nil {
		t.Fatal(err)
	}
	maxAttempt := 0
	for _, s := range all {
		maxAttempt = max(maxAttempt, s.Attempt)
	}
	if maxAttempt < last {
		t.Fatalf("batch %d was reported committed before the kill, the database has up to %d", last, maxAttempt)
	}
	t.Logf("%d batches committed before SIGKILL, all present", last)
}

// crashWriter runs in the child: batch n sets attempt = n on 100 services
// and prints n once committed.
func crashWriter(path string) {
	st, err := Open(ctx, Options{DSN: path})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for n := 1; ; n++ {
		var b []StatusUpdate
		for i := 0; i < 100; i++ {
			b = append(b, StatusUpdate{Status: state.Status{Kind: state.KindService, ObjectID: int64(i + 1), Attempt: n, Checked: true}})
		}
		if err := st.ApplyStatus(ctx, b); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(n)
	}
}
