package app

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

type tmplSvc struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name"`
	HostName  string         `json:"host_name"`
	Source    string         `json:"source"`
	Template  string         `json:"template"`
	State     string         `json:"state"`
	Output    string         `json:"output"`
	Check     map[string]any `json:"check"`
	LastCheck *time.Time     `json:"last_check"`
	Perfdata  []struct {
		Label string  `json:"label"`
		Value float64 `json:"value"`
	} `json:"perfdata"`
}

// perf is the value of a perfdata label.
func (s tmplSvc) perf(label string) (float64, bool) {
	for _, p := range s.Perfdata {
		if p.Label == label {
			return p.Value, true
		}
	}
	return 0, false
}

// hostServices lists a host's services by name.
func (ts *testServer) hostServices(t *testing.T, host string) map[string]tmplSvc {
	t.Helper()
	var l struct {
		Items []tmplSvc `json:"items"`
	}
	if code := ts.admin("GET", "/api/v1/services?limit=1000&host="+host, nil, &l); code != 200 {
		t.Fatalf("services of %s: %d", host, code)
	}
	out := map[string]tmplSvc{}
	for _, s := range l.Items {
		out[s.Name] = s
	}
	return out
}

// snmpgetNumber is snmpget's value of a numeric OID.
func snmpgetNumber(t *testing.T, a *testenv.SNMPAgent, oid string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(snmpgetValue(t, a, oid), 64)
	if err != nil {
		t.Fatalf("snmpget %s: %v", oid, err)
	}
	return v
}

// TestSNMPTemplate gives a host group a template and follows its members
// through a real snmpd: they get its services (polled values equal to
// snmpget's) and its interface discovery, follow its changes, and lose
// them when they leave the group, keeping their own services.
func TestSNMPTemplate(t *testing.T) {
	a := testenv.SNMPD(t)
	ts := startServer(t, t.TempDir(), "")

	tmpl := map[string]any{
		"snmp": map[string]any{"version": "2c", "community": "public", "port": a.Port},
		"services": []map[string]any{
			{"name": "mtu", "oid": "ifMtu.1", "interval": "1s"},
			{"name": "speed", "oid": "ifSpeed.1", "warning": "1000000000", "interval": "1s"},
		},
		"discovery": map[string]any{"name": "^lo$", "types": []int{24}, "interval": "1s"},
	}
	var e apiErr
	for _, tc := range []struct {
		name  string
		tmpl  map[string]any
		field string
	}{
		{"unknown name", map[string]any{"services": []map[string]any{{"name": "a", "oid": "sysName.0"}, {"name": "b", "oid": "ifNumber.0"}, {"name": "c", "oid": "ifFoo"}}}, "snmp_template.services[2].oid"},
		{"bad threshold", map[string]any{"services": []map[string]any{{"name": "a", "oid": "ifNumber.0", "critical": "lots"}}}, "snmp_template.services[0].critical"},
		{"twice the same name", map[string]any{"services": []map[string]any{{"name": "a", "oid": "ifNumber.0"}, {"name": "a", "oid": "sysServices.0"}}}, "snmp_template.services[1].name"},
		{"bad version", map[string]any{"snmp": map[string]any{"version": "5"}}, "snmp_template.snmp.version"},
		{"not a setting", map[string]any{"snmp": map[string]any{"oid": "1.3"}}, "snmp_template.snmp.oid"},
		{"bad regex", map[string]any{"discovery": map[string]any{"name": "("}}, "snmp_template.discovery.name"},
		{"too frequent", map[string]any{"discovery": map[string]any{"every": "5s"}}, "snmp_template.discovery.every"},
	} {
		e = apiErr{}
		if code := ts.admin("POST", "/api/v1/hostgroups", map[string]any{"name": "bad", "snmp_template": tc.tmpl}, &e); code != 400 || e.Error.Field != tc.field {
			t.Errorf("%s: %d %+v, want 400 on %s", tc.name, code, e, tc.field)
		}
	}
	e = apiErr{}
	if code := ts.admin("POST", "/api/v1/hostgroups", map[string]any{"name": "bad", "snmp_template": map[string]any{"servces": []any{}}}, &e); code != 400 ||
		!strings.Contains(e.Error.Message, `snmp_template: json: unknown field "servces"`) {
		t.Errorf("unknown key: %d %+v", code, e)
	}

	var g struct {
		ID           int64 `json:"id"`
		SNMPTemplate struct {
			SNMP map[string]any `json:"snmp"`
		} `json:"snmp_template"`
	}
	if code := ts.admin("POST", "/api/v1/hostgroups", map[string]any{"name": "core", "snmp_template": tmpl}, &g); code != 201 {
		t.Fatalf("create group: %d", code)
	}
	if g.SNMPTemplate.SNMP["community"] != "********" {
		t.Errorf("the community is shown: %v", g.SNMPTemplate.SNMP)
	}
	// h2 sets its own version: the host's settings win over the group's.
	for _, h := range []map[string]any{
		{"name": "sw1", "address": a.Host, "check": map[string]any{"kind": "none"}, "groups": []string{"core"}},
		{"name": "sw2", "address": a.Host, "check": map[string]any{"kind": "none"}, "groups": []string{"core"}, "snmp": map[string]any{"version": "2c"}},
	} {
		if code := ts.admin("POST", "/api/v1/hosts", h, nil); code != 201 {
			t.Fatalf("create host %v: %d", h["name"], code)
		}
	}
	// sw1's own service gives only its OID: it reaches the agent through
	// the group's settings (the port), as the console's walk does.
	own := map[string]any{"host": "sw1", "name": "own", "interval": "1s", "check": map[string]any{"kind": "snmp", "oid": "sysName.0"}}
	if code := ts.admin("POST", "/api/v1/services", own, nil); code != 201 {
		t.Fatalf("own service: %d", code)
	}
	sysName := snmpgetValue(t, a, "1.3.6.1.2.1.1.5.0")
	waitFor(t, "sw1's own service to poll through the group's settings", func() bool {
		s := ts.hostServices(t, "sw1")["own"]
		return s.State == "OK" && strings.Contains(s.Output, sysName)
	})
	var wk struct {
		Items []struct{ Name string } `json:"items"`
	}
	if code := ts.admin("GET", "/api/v1/hosts/sw2/snmp/walk?oid=ifDescr", nil, &wk); code != 200 || len(wk.Items) == 0 {
		t.Errorf("walking sw2 with its group's settings: %d %+v", code, wk)
	}

	want := map[string]float64{"mtu": snmpgetNumber(t, a, "1.3.6.1.2.1.2.2.1.4.1"), "speed": snmpgetNumber(t, a, "1.3.6.1.2.1.2.2.1.5.1")}
	label := map[string]string{"mtu": "ifMtu.1", "speed": "ifSpeed.1"}
	for _, host := range []string{"sw1", "sw2"} {
		waitFor(t, host+"'s template services to poll OK with snmpget's values", func() bool {
			svcs := ts.hostServices(t, host)
			for name, v := range want {
				s, ok := svcs[name]
				if got, found := s.perf(label[name]); !ok || s.State != "OK" || !found || got != v {
					return false
				}
				if s.Source != "template" || s.Template != "core" {
					t.Fatalf("%s/%s: source %q template %q", host, name, s.Source, s.Template)
				}
			}
			return true
		})
		waitFor(t, host+"'s loopback to be discovered", func() bool {
			s, ok := ts.hostServices(t, host)["if lo"]
			return ok && s.Template == "core/discovery" && s.Source == "template" && s.State == "OK"
		})
	}
	sw2 := ts.hostServices(t, "sw2")["speed"]
	if _, ok := sw2.Check["version"]; ok || sw2.Check["community"] != "********" || fmt.Sprint(sw2.Check["port"]) != strconv.Itoa(a.Port) {
		t.Errorf("sw2's template service should take the group's community and port but its own version: %v", sw2.Check)
	}
	if _, ok := ts.hostServices(t, "sw1")["speed"].Check["version"]; !ok {
		t.Errorf("sw1's template service lacks the group's version")
	}

	// The template owns its services.
	id := ts.hostServices(t, "sw1")["speed"].ID
	e = apiErr{}
	if code := ts.admin("PATCH", fmt.Sprintf("/api/v1/services/%d", id), map[string]any{"interval": "5s"}, &e); code != 409 || e.Error.Code != "managed_by_template" {
		t.Errorf("editing a template service: %d %+v", code, e)
	}

	// A tighter threshold reaches every member's service.
	tmpl["services"] = []map[string]any{
		{"name": "mtu", "oid": "ifMtu.1", "interval": "1s"},
		{"name": "speed", "oid": "ifSpeed.1", "critical": "0:0", "interval": "1s"},
	}
	if code := ts.admin("PATCH", fmt.Sprintf("/api/v1/hostgroups/%d", g.ID), map[string]any{"snmp_template": tmpl}, nil); code != 200 {
		t.Fatalf("update template: %d", code)
	}
	for _, host := range []string{"sw1", "sw2"} {
		s := ts.hostServices(t, host)["speed"]
		if s.ID == 0 || s.Check["critical"] != "0:0" || s.Check["warning"] != nil {
			t.Errorf("%s's service not updated: %+v", host, s.Check)
		}
		waitFor(t, host+"'s speed service to turn CRITICAL", func() bool {
			return ts.hostServices(t, host)["speed"].State == "CRITICAL"
		})
	}

	// An item removed from the template goes from every member.
	tmpl["services"] = []map[string]any{{"name": "mtu", "oid": "ifMtu.1", "interval": "1s"}}
	if code := ts.admin("PATCH", fmt.Sprintf("/api/v1/hostgroups/%d", g.ID), map[string]any{"snmp_template": tmpl}, nil); code != 200 {
		t.Fatalf("update template: %d", code)
	}
	for _, host := range []string{"sw1", "sw2"} {
		svcs := ts.hostServices(t, host)
		if _, ok := svcs["speed"]; ok {
			t.Errorf("%s keeps the removed item", host)
		}
		if _, ok := svcs["mtu"]; !ok {
			t.Errorf("%s lost the item kept", host)
		}
		if _, ok := svcs["if lo"]; !ok {
			t.Errorf("%s lost its discovered interface", host)
		}
	}

	// sw1 leaves the group: its template services go, its own stays.
	if code := ts.admin("PATCH", "/api/v1/hosts/sw1", map[string]any{"groups": []string{}}, nil); code != 200 {
		t.Fatalf("leave the group: %d", code)
	}
	svcs := ts.hostServices(t, "sw1")
	if len(svcs) != 1 || svcs["own"].Source != "api" {
		t.Errorf("sw1 after leaving the group: %+v", svcs)
	}
	if n := len(ts.hostServices(t, "sw2")); n != 2 {
		t.Errorf("sw2 has %d services, want the item and the loopback", n)
	}

	// Removing the template removes what it made.
	if code := ts.admin("PATCH", fmt.Sprintf("/api/v1/hostgroups/%d", g.ID), map[string]any{"snmp_template": nil}, nil); code != 200 {
		t.Fatalf("remove template: %d", code)
	}
	if n := len(ts.hostServices(t, "sw2")); n != 0 {
		t.Errorf("sw2 has %d services after the template went", n)
	}
}

// TestSNMPTemplateFromYAML provisions a group's template and a member from
// YAML: the member polls the template's item against a real snmpd.
func TestSNMPTemplateFromYAML(t *testing.T) {
	a := testenv.SNMPD(t)
	yaml := fmt.Sprintf(`inventory:
  hostgroups:
    - name: core
      snmp_template:
        snmp: {community: public, port: %d}
        services:
          - name: speed
            oid: ifSpeed.1
            warning: "1000000000"
            interval: 1s
  hosts:
    - name: sw1
      address: %s
      check: {kind: none}
      groups: [core]
      services:
        - name: own
          check: {kind: snmp, oid: sysName.0}
          interval: 1s
`, a.Port, a.Host)
	ts := startServer(t, t.TempDir(), yaml)
	want := snmpgetNumber(t, a, "1.3.6.1.2.1.2.2.1.5.1")
	waitFor(t, "the YAML template's service to poll OK", func() bool {
		s, ok := ts.hostServices(t, "sw1")["speed"]
		v, found := s.perf("ifSpeed.1")
		return ok && s.Template == "core" && s.State == "OK" && found && v == want
	})
	// The host's own service takes the group's settings too.
	sysName := snmpgetValue(t, a, "1.3.6.1.2.1.1.5.0")
	waitFor(t, "the YAML host's own service to poll through the group's settings", func() bool {
		s := ts.hostServices(t, "sw1")["own"]
		return s.State == "OK" && strings.Contains(s.Output, sysName)
	})
	var e apiErr
	if code := ts.admin("PATCH", "/api/v1/hostgroups/core", map[string]any{"snmp_template": nil}, &e); code != 409 || e.Error.Code != "managed_by_config" {
		t.Errorf("editing a YAML group's template: %d %+v", code, e)
	}
}

// A group's settings survive a restart: the members' services are built
// with them from the start, before any request.
func TestSNMPTemplateSettingsAfterRestart(t *testing.T) {
	a := testenv.SNMPD(t)
	dir := t.TempDir()
	ts := startServer(t, dir, "")
	group := map[string]any{"name": "core", "snmp_template": map[string]any{"snmp": map[string]any{"community": "public", "port": a.Port}}}
	if code := ts.admin("POST", "/api/v1/hostgroups", group, nil); code != 201 {
		t.Fatalf("create group: %d", code)
	}
	if code := ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "sw1", "address": a.Host, "check": map[string]any{"kind": "none"}, "groups": []string{"core"}}, nil); code != 201 {
		t.Fatalf("create host: %d", code)
	}
	if code := ts.admin("POST", "/api/v1/services", map[string]any{"host": "sw1", "name": "own", "interval": "1s", "check": map[string]any{"kind": "snmp", "oid": "sysName.0"}}, nil); code != 201 {
		t.Fatalf("create service: %d", code)
	}
	ts.stop()
	restarted := time.Now()
	ts = startServer(t, dir, "")
	sysName := snmpgetValue(t, a, "1.3.6.1.2.1.1.5.0")
	waitFor(t, "the service to poll through the group's settings after a restart", func() bool {
		s := ts.hostServices(t, "sw1")["own"]
		return s.LastCheck != nil && s.LastCheck.After(restarted) && s.State == "OK" && strings.Contains(s.Output, sysName)
	})
}
