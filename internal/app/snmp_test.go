package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/config"
	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// snmpgetValue is what net-snmp's snmpget prints for one OID.
func snmpgetValue(t *testing.T, a *testenv.SNMPAgent, oid string) string {
	t.Helper()
	out := a.Tool(t, "snmpget", []string{"-v2c", "-c", "public"}, oid)
	m := regexp.MustCompile(`= (?:[A-Za-z0-9-]+: )?(.*)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("snmpget %s: %s", oid, out)
	}
	return strings.Trim(strings.TrimSpace(m[1]), `"`)
}

type snmpHost struct {
	ID   int64          `json:"id"`
	SNMP map[string]any `json:"snmp"`
}

// TestSNMPThroughTheAPI adds a device with v3 settings, tests them, polls
// an OID by name, walks the agent and discovers its interfaces, all
// against a real snmpd, comparing with net-snmp's own tools.
func TestSNMPThroughTheAPI(t *testing.T) {
	a := testenv.SNMPD(t)
	ts := startServer(t, t.TempDir(), "")
	v3 := map[string]any{"version": "3", "user": testenv.SNMPUserAuthPriv, "auth_protocol": "SHA", "auth_password": testenv.SNMPAuthPassword,
		"priv_protocol": "AES", "priv_password": testenv.SNMPPrivPassword, "port": a.Port}
	var h snmpHost
	if code := ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "router1", "address": a.Host, "check": map[string]any{"kind": "none"}, "snmp": v3}, &h); code != 201 {
		t.Fatalf("create host: %d", code)
	}
	if h.SNMP["auth_password"] != "********" || h.SNMP["priv_password"] != "********" || h.SNMP["user"] != testenv.SNMPUserAuthPriv {
		t.Errorf("host SNMP settings shown as %v", h.SNMP)
	}
	// Bad settings name the key.
	var e apiErr
	if code := ts.admin("PATCH", fmt.Sprintf("/api/v1/hosts/%d", h.ID), map[string]any{"snmp": map[string]any{"version": "5"}}, &e); code != 400 || e.Error.Field != "snmp.version" {
		t.Errorf("bad version: %d %+v", code, e)
	}
	// Sending the masked secrets back keeps them.
	if code := ts.admin("PATCH", fmt.Sprintf("/api/v1/hosts/%d", h.ID), map[string]any{"snmp": h.SNMP}, nil); code != 200 {
		t.Fatalf("patch with masked secrets: %d", code)
	}

	type testResult struct {
		OK      bool   `json:"ok"`
		Error   string `json:"error"`
		SysName string `json:"sys_name"`
		Level   string `json:"security_level"`
	}
	var tr testResult
	if code := ts.admin("POST", "/api/v1/snmp/test", map[string]any{"host": h.ID}, &tr); code != 200 || !tr.OK || tr.SysName != snmpgetValue(t, a, "1.3.6.1.2.1.1.5.0") || tr.Level != "authPriv" {
		t.Fatalf("test credentials: %d %+v", code, tr)
	}
	tr = testResult{}
	ts.admin("POST", "/api/v1/snmp/test", map[string]any{"host": h.ID, "snmp": map[string]any{"auth_password": "not-the-password"}}, &tr)
	if tr.OK || !strings.Contains(tr.Error, "authentication failed") || strings.Contains(tr.Error, "not-the-password") {
		t.Errorf("wrong password: %+v", tr)
	}
	tr = testResult{}
	ts.admin("POST", "/api/v1/snmp/test", map[string]any{"address": a.Host, "snmp": map[string]any{"version": "2c", "community": "wrong-community", "port": a.Port, "timeout": "200ms"}}, &tr)
	if tr.OK || !strings.Contains(tr.Error, "no answer") || !strings.Contains(tr.Error, "wrong community") {
		t.Errorf("wrong community: %+v", tr)
	}

	// A service with only an OID name takes the host's v3 settings.
	var svc svcView
	if code := ts.admin("POST", "/api/v1/services", map[string]any{"host": "router1", "name": "descr", "check": map[string]any{"kind": "snmp", "oid": "sysDescr.0"}, "interval": "1s"}, &svc); code != 201 {
		t.Fatalf("create service: %d", code)
	}
	descr := snmpgetValue(t, a, "1.3.6.1.2.1.1.1.0")
	waitFor(t, "the snmp service to report sysDescr", func() bool {
		ts.admin("GET", fmt.Sprintf("/api/v1/services/%d", svc.ID), nil, &svc)
		return svc.State == "OK" && strings.Contains(svc.Output, descr)
	})

	type walk struct {
		OID   string `json:"oid"`
		Items []struct {
			OID, Name, Type, Value string
		} `json:"items"`
		Truncated bool `json:"truncated"`
	}
	var wk walk
	if code := ts.admin("GET", fmt.Sprintf("/api/v1/hosts/%d/snmp/walk?oid=ifDescr", h.ID), nil, &wk); code != 200 {
		t.Fatalf("walk: %d", code)
	}
	ref := strings.Split(strings.TrimSpace(a.Tool(t, "snmpbulkwalk", []string{"-v2c", "-c", "public"}, "1.3.6.1.2.1.2.2.1.2")), "\n")
	if wk.OID != "1.3.6.1.2.1.2.2.1.2" || len(wk.Items) != len(ref) || len(wk.Items) == 0 || !strings.HasPrefix(wk.Items[0].Name, "ifDescr.") {
		t.Fatalf("walk: %+v, snmpbulkwalk %d lines", wk, len(ref))
	}
	if code := ts.admin("GET", fmt.Sprintf("/api/v1/hosts/%d/snmp/walk?oid=interfaces&max=3", h.ID), nil, &wk); code != 200 || len(wk.Items) != 3 || !wk.Truncated {
		t.Errorf("bounded walk: %d %+v", code, wk)
	}
	if code := ts.admin("GET", fmt.Sprintf("/api/v1/hosts/%d/snmp/walk?oid=ifNope", h.ID), nil, &e); code != 400 || e.Error.Field != "oid" {
		t.Errorf("bad oid: %d %+v", code, e)
	}

	type discovery struct {
		Created, Unchanged, Skipped int
		Interfaces                  []struct {
			Index      int
			Name       string
			OperStatus string `json:"oper_status"`
			Service    string
			ServiceID  int64 `json:"service_id"`
			Action     string
		}
	}
	var d discovery
	if code := ts.admin("POST", fmt.Sprintf("/api/v1/hosts/%d/snmp/discover", h.ID), map[string]any{"name": "[", "oper_status": []string{"up"}}, &e); code != 400 || e.Error.Field != "name" {
		t.Errorf("bad regex: %d %+v", code, e)
	}
	if code := ts.admin("POST", fmt.Sprintf("/api/v1/hosts/%d/snmp/discover", h.ID), map[string]any{"oper_status": []string{"up"}, "interval": "1s"}, &d); code != 200 {
		t.Fatalf("discover: %d", code)
	}
	up := 0
	for _, it := range d.Interfaces {
		if it.OperStatus == "up" {
			up++
			if it.Action != "created" || it.ServiceID == 0 || it.Service != "if "+it.Name {
				t.Errorf("interface up not created: %+v", it)
			}
		} else if it.Action != "skipped" {
			t.Errorf("interface %+v not skipped", it)
		}
	}
	if up == 0 || d.Created != up || d.Created+d.Skipped != len(ref) {
		t.Fatalf("discovery: %+v", d)
	}
	first := d.Interfaces[0]
	for _, it := range d.Interfaces {
		if it.Action == "created" {
			first = it
			break
		}
	}
	waitFor(t, "the interface service to report traffic", func() bool {
		ts.admin("GET", fmt.Sprintf("/api/v1/services/%d", first.ServiceID), nil, &svc)
		return svc.State == "OK" && strings.Contains(svc.Output, "b/s, out ")
	})
	hasBps := false
	for _, p := range svc.Perfdata {
		hasBps = hasBps || p.Label == "in_bps"
	}
	if !hasBps {
		t.Errorf("no in_bps in %+v", svc.Perfdata)
	}
	// The host's dashboard graphs the interface: its traffic in bits per
	// second and its octet counters (as rates).
	waitFor(t, "the interface graphs on the host dashboard", func() bool {
		var dash json.RawMessage
		ts.admin("GET", fmt.Sprintf("/api/v1/hosts/%d/dashboard?range=1h", h.ID), nil, &dash)
		return strings.Contains(string(dash), first.Service) && strings.Contains(string(dash), "in_bps") && strings.Contains(string(dash), "in_octets")
	})
	d = discovery{}
	ts.admin("POST", fmt.Sprintf("/api/v1/hosts/%d/snmp/discover", h.ID), map[string]any{"oper_status": []string{"up"}}, &d)
	if d.Created != 0 || d.Unchanged != up {
		t.Errorf("rediscovery created again: %+v", d)
	}
	// The service answer hides the community of a service's own settings.
	var own map[string]any
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "router1", "name": "v2", "check": map[string]any{"kind": "snmp", "oid": "sysName.0", "version": "2c", "community": "public", "user": nil, "auth_password": nil, "priv_password": nil}}, &own)
	if c, _ := own["check"].(map[string]any); c == nil || c["community"] != "********" {
		t.Errorf("service shows its community: %v", own["check"])
	}
	// The audit trail keeps the writes' bodies, without their secrets.
	var audit json.RawMessage
	ts.admin("GET", "/api/v1/audit?limit=1000", nil, &audit)
	if !strings.Contains(string(audit), "snmp/test") {
		t.Fatalf("no SNMP write in the audit trail: %.300s", audit)
	}
	for _, secret := range []string{testenv.SNMPAuthPassword, testenv.SNMPPrivPassword, "wrong-community", "not-the-password"} {
		if strings.Contains(string(audit), secret) {
			t.Errorf("the audit trail holds the secret %q", secret)
		}
	}
}

// TestDeadDeviceDoesNotDelayOthers polls a black hole (a port that never
// answers) beside the real agent: the real device's service keeps its
// interval while the dead one's checks time out on their own clock.
func TestDeadDeviceDoesNotDelayOthers(t *testing.T) {
	a := testenv.SNMPD(t)
	hole := testenv.BlackHole(t)
	ts := startServer(t, t.TempDir(), "")
	for _, h := range []map[string]any{
		{"name": "alive", "address": a.Host, "check": map[string]any{"kind": "none"}, "snmp": map[string]any{"port": a.Port}},
		{"name": "dead", "address": "127.0.0.1", "check": map[string]any{"kind": "none"}, "snmp": map[string]any{"port": hole, "timeout": "2s", "retries": 2}},
	} {
		if code := ts.admin("POST", "/api/v1/hosts", h, nil); code != 201 {
			t.Fatalf("create host: %d", code)
		}
	}
	var alive svcView
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "alive", "name": "uptime", "check": map[string]any{"kind": "snmp", "oid": "sysUpTime.0"}, "interval": "1s"}, &alive)
	dead := make([]int64, 5)
	for i := range dead {
		var s svcView
		ts.admin("POST", "/api/v1/services", map[string]any{"host": "dead", "name": fmt.Sprintf("uptime%d", i), "check": map[string]any{"kind": "snmp", "oid": "sysUpTime.0"}, "interval": "1s", "timeout": "1500ms"}, &s)
		dead[i] = s.ID
	}
	// Within 6 s the live service runs about 6 times; the dead ones each
	// end at their 1.5 s timeout, not after the 3 tries of 2 s.
	var checks []time.Time
	start := time.Now()
	for time.Since(start) < 6*time.Second {
		ts.admin("GET", fmt.Sprintf("/api/v1/services/%d", alive.ID), nil, &alive)
		if alive.LastCheck != nil && (len(checks) == 0 || !alive.LastCheck.Equal(checks[len(checks)-1])) {
			checks = append(checks, *alive.LastCheck)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(checks) < 4 {
		t.Errorf("the live device was polled %d times in 6 s beside a dead one", len(checks))
	}
	if alive.State != "OK" {
		t.Errorf("live service %s: %q", alive.State, alive.Output)
	}
	for _, id := range dead {
		var s svcView
		ts.admin("GET", fmt.Sprintf("/api/v1/services/%d", id), nil, &s)
		if s.State != "CRITICAL" || !strings.Contains(s.Output, "no answer") && !strings.Contains(s.Output, "deadline") {
			t.Errorf("dead service %d: %s %q", id, s.State, s.Output)
		}
	}
}

// TestSNMPFromYAML provisions a device with its SNMP settings in YAML: the
// service takes them, and a bad setting names the host and key.
func TestSNMPFromYAML(t *testing.T) {
	a := testenv.SNMPD(t)
	yaml := fmt.Sprintf(`inventory:
  hosts:
    - name: ups1
      address: 127.0.0.1
      check: {kind: none}
      snmp: {version: "1", community: public, port: %d}
      services:
        - name: name
          interval: 1s
          check: {kind: snmp, oid: sysName.0}
`, a.Port)
	ts := startServer(t, t.TempDir(), yaml)
	want := snmpgetValue(t, a, "1.3.6.1.2.1.1.5.0")
	var list struct{ Items []svcView }
	waitFor(t, "the YAML snmp service", func() bool {
		ts.admin("GET", "/api/v1/services?host=ups1", nil, &list)
		return len(list.Items) == 1 && list.Items[0].State == "OK" && strings.Contains(list.Items[0].Output, want)
	})
	cfgPath := t.TempDir() + "/bad.yaml"
	os.WriteFile(cfgPath, []byte(strings.Replace(yaml, `version: "1"`, `version: "7"`, 1)), 0o600)
	cfg, err := config.Load(cfgPath, nil)
	if err == nil {
		err = ValidateInventory(cfg.Inventory, cfg.Scheduler)
	}
	if err == nil || !strings.Contains(err.Error(), `host "ups1"`) || !strings.Contains(err.Error(), "snmp.version") {
		t.Errorf("bad YAML settings: %v", err)
	}
}

// TestScheduledRediscovery: a discovery saved with "every" runs again on
// its own, and brings back an interface service that went missing.
func TestScheduledRediscovery(t *testing.T) {
	a := testenv.SNMPD(t)
	ts := startServer(t, t.TempDir(), "")
	var h snmpHost
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "sw", "address": a.Host, "check": map[string]any{"kind": "none"}, "snmp": map[string]any{"port": a.Port}}, &h)
	var e apiErr
	if code := ts.admin("POST", fmt.Sprintf("/api/v1/hosts/%d/snmp/discover", h.ID), map[string]any{"name": "^lo$", "every": "10s"}, &e); code != 400 || e.Error.Field != "every" {
		t.Errorf("every 10s: %d %+v", code, e)
	}
	var d struct{ Created int }
	if code := ts.admin("POST", fmt.Sprintf("/api/v1/hosts/%d/snmp/discover", h.ID), map[string]any{"name": "^lo$", "every": "1h"}, &d); code != 200 || d.Created != 1 {
		t.Fatalf("discover: %d %+v", code, d)
	}
	// Saving the settings form (which has no discover) keeps it.
	ts.admin("PATCH", fmt.Sprintf("/api/v1/hosts/%d", h.ID), map[string]any{"snmp": map[string]any{"version": "2c", "port": a.Port, "community": "********"}}, nil)
	ts.admin("GET", fmt.Sprintf("/api/v1/hosts/%d", h.ID), nil, &h)
	disc, _ := h.SNMP["discover"].(map[string]any)
	if disc == nil || disc["every"] != "1h0m0s" || disc["name"] != "^lo$" {
		t.Fatalf("saved discovery: %v", h.SNMP)
	}
	var list struct{ Items []svcView }
	ts.admin("GET", "/api/v1/services?host=sw", nil, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "if lo" {
		t.Fatalf("services: %+v", list.Items)
	}
	ts.admin("DELETE", fmt.Sprintf("/api/v1/services/%d", list.Items[0].ID), nil, nil)

	ctx := context.Background()
	now := time.Now()
	ts.app.rediscover(ctx, now) // first sight: a stable offset, not due yet
	ts.app.rediscover(ctx, now.Add(2*time.Hour))
	ts.admin("GET", "/api/v1/services?host=sw", nil, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "if lo" {
		t.Fatalf("after rediscovery: %+v", list.Items)
	}
	// A reboot (sysUpTime backwards) rediscovers at once, off schedule.
	ts.admin("DELETE", fmt.Sprintf("/api/v1/services/%d", list.Items[0].ID), nil, nil)
	ts.app.rediscover(ctx, now.Add(2*time.Hour+time.Minute)) // records the uptime
	a.Restart()
	ts.app.rediscover(ctx, now.Add(2*time.Hour+2*time.Minute))
	list.Items = nil
	ts.admin("GET", "/api/v1/services?host=sw", nil, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "if lo" {
		t.Fatalf("after the reboot: %+v", list.Items)
	}
	// every 0 stops it.
	if code := ts.admin("POST", fmt.Sprintf("/api/v1/hosts/%d/snmp/discover", h.ID), map[string]any{"name": "^lo$", "every": "0s"}, &e); code != 200 {
		t.Errorf("every 0s: %d %+v", code, e)
	}
	h.SNMP = nil // json.Unmarshal would merge into the old map
	ts.admin("GET", fmt.Sprintf("/api/v1/hosts/%d", h.ID), nil, &h)
	if _, ok := h.SNMP["discover"]; ok {
		t.Errorf("discovery still saved: %v", h.SNMP)
	}
}

// TestHealthDiscovery creates the device-health services the agent can
// feed, and they poll OK.
func TestHealthDiscovery(t *testing.T) {
	a := testenv.SNMPD(t)
	ts := startServer(t, t.TempDir(), "")
	var h snmpHost
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "srv", "address": a.Host, "check": map[string]any{"kind": "none"}, "snmp": map[string]any{"port": a.Port}}, &h)
	var d struct {
		Created    int
		Interfaces []any
		Health     []struct {
			Service   string
			ServiceID int64 `json:"service_id"`
			Action    string
		}
	}
	if code := ts.admin("POST", fmt.Sprintf("/api/v1/hosts/%d/snmp/discover", h.ID), map[string]any{"health": true, "interfaces": false, "interval": "1s"}, &d); code != 200 {
		t.Fatalf("discover: %d", code)
	}
	ids := map[string]int64{}
	for _, it := range d.Health {
		if it.Action != "created" {
			t.Errorf("%+v not created", it)
		}
		ids[it.Service] = it.ServiceID
	}
	if len(d.Interfaces) != 0 || d.Created != len(d.Health) {
		t.Errorf("discovery: %+v", d)
	}
	for svc, want := range map[string]string{"uptime": "uptime = ", "memory available": "%", "storage root": "%"} {
		id, ok := ids[svc]
		if !ok {
			t.Fatalf("no %q service in %+v", svc, d.Health)
		}
		var s svcView
		waitFor(t, svc, func() bool {
			ts.admin("GET", fmt.Sprintf("/api/v1/services/%d", id), nil, &s)
			return s.State == "OK" && strings.Contains(s.Output, want)
		})
	}
	d.Created = -1
	ts.admin("POST", fmt.Sprintf("/api/v1/hosts/%d/snmp/discover", h.ID), map[string]any{"health": true, "interfaces": false}, &d)
	if d.Created != 0 {
		t.Errorf("health discovered twice: %+v", d)
	}
}

func TestCounterWidth(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cases := []struct {
		max  *float64
		want metrics.Width
	}{
		{nil, metrics.WidthUnknown},
		{f(4294967295), metrics.Width32},
		{f(18446744073709551615), metrics.Width64},
		{f(100), metrics.WidthUnknown},
	}
	for _, tc := range cases {
		if got := counterWidth(tc.max); got != tc.want {
			t.Errorf("counterWidth(%v) = %v, want %v", tc.max, got, tc.want)
		}
	}
}
