package api

import (
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
)

// A member's template discovery runs when it joins (unless it has its
// discovered services already: vigie restarted), then on the template's
// schedule at a stable offset of the host, never before.
func TestTemplateDiscoveryDue(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	group := func(every time.Duration) inventory.HostGroup {
		return inventory.HostGroup{Name: "core", SNMPTemplate: &inventory.SNMPTemplate{Discovery: &inventory.TemplateDiscovery{Every: inventory.Duration(every)}}}
	}
	host := inventory.Host{ID: 7, Name: "sw1", Address: "127.0.0.1", Enabled: true}
	type step struct {
		at            time.Duration // after t0
		hasDiscovered bool
		want          bool
	}
	for _, tc := range []struct {
		name  string
		host  inventory.Host
		group inventory.HostGroup
		steps []step
	}{
		{"on joining only", host, group(0), []step{{0, false, true}, {time.Minute, false, false}, {48 * time.Hour, true, false}}},
		{"restart with services waits for the schedule", host, group(time.Hour), []step{{0, true, false}, {2 * time.Hour, true, true}, {2*time.Hour + time.Minute, true, false}, {3 * time.Hour, true, true}}},
		{"joining then every hour", host, group(time.Hour), []step{{0, false, true}, {time.Minute, false, false}, {2 * time.Hour, true, true}, {2*time.Hour + 59*time.Minute, true, false}, {3 * time.Hour, true, true}}},
		{"no address", inventory.Host{ID: 8, Name: "x", Enabled: true}, group(time.Hour), []step{{0, false, false}, {5 * time.Hour, false, false}}},
		{"disabled", inventory.Host{ID: 9, Name: "y", Address: "10.0.0.1"}, group(time.Hour), []step{{0, false, false}}},
		{"no discovery", host, inventory.HostGroup{Name: "core", SNMPTemplate: &inventory.SNMPTemplate{}}, []step{{0, false, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{}
			var now time.Time
			s.tmpl.now = func() time.Time { return now }
			for i, st := range tc.steps {
				now = t0.Add(st.at)
				if got := s.discoveryDue(tc.host, tc.group, st.hasDiscovered); got != st.want {
					t.Fatalf("step %d (+%s): due %v, want %v", i, st.at, got, st.want)
				}
			}
		})
	}
}

// Template services take the group's settings only where the host has
// none of its own (service > host > group), and a group's settings removed
// or changed replace the old ones in a discovered service's check.
func TestTemplateSettings(t *testing.T) {
	g := inventory.HostGroup{Name: "core", SNMPTemplate: &inventory.SNMPTemplate{SNMP: checks.Spec{"version": "2c", "community": "net", "port": 1161}}}
	for _, tc := range []struct {
		name string
		host checks.Spec
		want checks.Spec
	}{
		{"host without settings", nil, checks.Spec{"version": "2c", "community": "net", "port": 1161}},
		{"host's community wins", checks.Spec{"community": "mine"}, checks.Spec{"version": "2c", "port": 1161}},
		{"host sets everything", checks.Spec{"version": "3", "community": "x", "port": 161}, checks.Spec{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := templateSettings(g, inventory.Host{SNMP: tc.host})
			if !sameCheck(got, tc.want) {
				t.Fatalf("settings %v, want %v", got, tc.want)
			}
			spec := withSettings(checks.Spec{"kind": "snmp_interface", "index": 2, "community": "stale", "timeout": "1s"}, got)
			want := checks.Spec{"kind": "snmp_interface", "index": 2}
			for k, v := range tc.want {
				want[k] = v
			}
			if !sameCheck(spec, want) {
				t.Fatalf("spec %v, want %v", spec, want)
			}
		})
	}
}
