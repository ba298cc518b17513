package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
)

func metricsText(t *testing.T, ts *testServer) string {
	t.Helper()
	r, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// Rules from the YAML qualify the events of every source: the API's and
// syslog's here.
func TestConfigRulesQualifyEverySource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ts := startServer(t, t.TempDir(), `
events:
  rules:
    - name: drop-noise
      match:
        - {field: component, equals: noisy}
      actions: {drop: true}
    - name: red-db
      match:
        - {field: component, regex: "db.*"}
        - {field: state, gte: 2}
      actions:
        set_criticality: red
        set_domain: database
        add_tags: {team: dba}
`, "VIGIE_SYSLOG_LISTEN="+addr)

	for _, body := range []string{
		`{"connector":"nagios","connector_name":"n1","event_type":"check","source_type":"resource","component":"db1","resource":"disk","state":2,"output":"full"}`,
		`{"connector":"nagios","connector_name":"n1","event_type":"check","source_type":"resource","component":"noisy","resource":"disk","state":3,"output":"full"}`,
	} {
		if code, e := postRaw(t, ts, "/api/v1/events", body); code != 202 {
			t.Fatalf("POST /api/v1/events: %d %+v", code, e)
		}
	}
	var conn net.Conn
	waitFor(t, "the syslog listener", func() bool {
		conn, err = net.Dial("tcp", addr)
		return err == nil
	})
	defer conn.Close()
	fmt.Fprintf(conn, "<10>1 2026-01-02T03:04:05Z db2 postgres - - - replication broken\n")
	fmt.Fprintf(conn, "<10>1 2026-01-02T03:04:05Z noisy app - - - whatever\n")

	var l alarmList
	waitFor(t, "the syslog alarm", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=syslog", nil, &l)
		return len(l.Items) == 1
	})
	if a := l.Items[0]; a.Component != "db2" || a.Criticality != "red" || a.Domain != "database" {
		t.Fatalf("syslog alarm: %+v", a)
	}
	ts.admin("GET", "/api/v1/alarms?connector=nagios", nil, &l)
	if len(l.Items) != 1 || l.Items[0].Component != "db1" || l.Items[0].Criticality != "red" {
		t.Fatalf("nagios alarms: %+v", l.Items)
	}
	m := metricsText(t, ts)
	for _, want := range []string{
		`vigie_event_rule_hits_total{rule="red-db"} 2`,
		`vigie_event_rule_hits_total{rule="drop-noise"} 2`,
		`vigie_events_dropped_by_rule_total{rule="drop-noise"} 2`,
		`vigie_events_dropped_by_rule_total{rule="red-db"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

type ruleList struct {
	Items []struct {
		Name    string `json:"name"`
		Source  string `json:"source"`
		Hits    uint64 `json:"hits"`
		Dropped uint64 `json:"dropped"`
	} `json:"items"`
}

func (l ruleList) names() string {
	var n []string
	for _, r := range l.Items {
		n = append(n, r.Name+"/"+r.Source)
	}
	return strings.Join(n, " ")
}

func (l ruleList) hits(name string) (uint64, uint64) {
	for _, r := range l.Items {
		if r.Name == name {
			return r.Hits, r.Dropped
		}
	}
	return 0, 0
}

// Rules made through the API: red for db*, a drop rule, the dry run, the
// YAML's rules read-only, errors naming the field, and all of it kept
// across a restart.
func TestRulesThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	yaml := `
events:
  rules:
    - name: yaml-domain
      match: [{field: connector, equals: nagios}]
      actions: {set_domain: infra, continue: true}
`
	ts := startServer(t, dir, yaml)
	if code := ts.admin("POST", "/api/v1/rules", map[string]any{
		"name":    "red-db",
		"match":   []map[string]any{{"field": "component", "regex": "db.*"}},
		"actions": map[string]any{"set_criticality": "red"},
	}, nil); code != 201 {
		t.Fatalf("creating red-db: %d", code)
	}
	if code := ts.admin("POST", "/api/v1/rules", map[string]any{
		"name": "state-three", "match": []map[string]any{{"field": "state", "equals": 3}}, "actions": map[string]any{"set_category": "worst"},
	}, nil); code != 201 {
		t.Fatalf("creating state-three with a number: %d", code)
	}
	if code := ts.admin("DELETE", "/api/v1/rules/state-three", nil, nil); code != 204 {
		t.Fatalf("deleting state-three: %d", code)
	}
	var created map[string]any
	if code := ts.admin("POST", "/api/v1/rules", map[string]any{
		"name": "drop-test", "position": 0,
		"match":   []map[string]any{{"field": "tags.env", "in": []string{"test", "dev"}}},
		"actions": map[string]any{"drop": true},
	}, &created); code != 201 || created["source"] != "api" {
		t.Fatalf("creating drop-test: %d %v", code, created)
	}
	var l ruleList
	ts.admin("GET", "/api/v1/rules", nil, &l)
	if got := l.names(); got != "yaml-domain/config drop-test/api red-db/api" {
		t.Fatalf("rules: %s", got)
	}

	ev := func(component, env string) string {
		return fmt.Sprintf(`{"connector":"nagios","connector_name":"n1","event_type":"check","source_type":"resource","component":%q,"resource":"disk","state":2,"output":"full","tags":{"env":%q}}`, component, env)
	}
	for _, body := range []string{ev("db1", "prod"), ev("db2", "test"), ev("web1", "prod")} {
		if code, e := postRaw(t, ts, "/api/v1/events", body); code != 202 {
			t.Fatalf("POST /api/v1/events: %d %+v", code, e)
		}
	}
	var al alarmList
	ts.admin("GET", "/api/v1/alarms?connector=nagios", nil, &al)
	byComp := map[string]string{}
	for _, a := range al.Items {
		byComp[a.Component] = a.Criticality + "/" + a.Domain
	}
	if len(al.Items) != 2 || byComp["db1"] != "red/infra" || byComp["web1"] == "red/infra" || byComp["web1"] == "" {
		t.Fatalf("alarms: %v", byComp)
	}
	ts.admin("GET", "/api/v1/rules", nil, &l)
	if h, d := l.hits("red-db"); h != 1 || d != 0 {
		t.Fatalf("red-db: %d hits, %d dropped", h, d)
	}
	var one struct {
		Name string `json:"name"`
		Hits uint64 `json:"hits"`
	}
	if code := ts.admin("GET", "/api/v1/rules/red-db", nil, &one); code != 200 || one.Name != "red-db" || one.Hits != 1 {
		t.Fatalf("GET red-db: %d %+v", code, one)
	}
	if code := ts.admin("GET", "/api/v1/rules/nope", nil, nil); code != 404 {
		t.Fatalf("GET nope: %d", code)
	}
	if h, d := l.hits("drop-test"); h != 1 || d != 1 {
		t.Fatalf("drop-test: %d hits, %d dropped", h, d)
	}
	if h, _ := l.hits("yaml-domain"); h != 3 {
		t.Fatalf("yaml-domain: %d hits", h)
	}
	if m := metricsText(t, ts); !strings.Contains(m, `vigie_events_dropped_by_rule_total{rule="drop-test"} 1`) {
		t.Errorf("/metrics lacks the drop counter")
	}

	// The dry run: a given rule, a named one, every rule; no hit counted.
	var dr struct {
		Matched bool     `json:"matched"`
		Dropped bool     `json:"dropped"`
		Rules   []string `json:"rules"`
		Event   struct {
			Component   string            `json:"component"`
			Resource    string            `json:"resource"`
			Criticality string            `json:"criticality"`
			Domain      string            `json:"domain"`
			Tags        map[string]string `json:"tags"`
		} `json:"event"`
	}
	sample := map[string]any{"connector": "x", "connector_name": "y", "event_type": "check", "source_type": "component",
		"component": "db9", "state": 1, "tags": map[string]string{"host": "db9.example", "env": "prod"}}
	if code := ts.admin("POST", "/api/v1/rules/dry-run", map[string]any{"rule": map[string]any{
		"name": "try", "actions": map[string]any{"rename": map[string]string{"tags.host": "resource"}, "set": map[string]string{"source_type": "resource"}, "set_category": "db"},
	}, "event": sample}, &dr); code != 200 || !dr.Matched || dr.Dropped || dr.Event.Resource != "db9.example" || dr.Event.Tags["host"] != "" {
		t.Fatalf("dry run of a rule: %d %+v", code, dr)
	}
	dr.Rules = nil
	if code := ts.admin("POST", "/api/v1/rules/dry-run", map[string]any{"name": "red-db", "event": sample}, &dr); code != 200 || !dr.Matched || dr.Event.Criticality != "red" {
		t.Fatalf("dry run of red-db: %d %+v", code, dr)
	}
	sample["tags"] = map[string]string{"env": "dev"}
	if code := ts.admin("POST", "/api/v1/rules/dry-run", map[string]any{"event": sample}, &dr); code != 200 || !dr.Dropped || strings.Join(dr.Rules, ",") != "drop-test" {
		t.Fatalf("dry run of every rule: %d %+v", code, dr)
	}
	ts.admin("GET", "/api/v1/rules", nil, &l)
	if h, _ := l.hits("red-db"); h != 1 {
		t.Fatalf("a dry run counted a hit: %d", h)
	}

	// Errors name the field; YAML rules are read-only.
	for _, tc := range []struct {
		method, path string
		body         any
		code         int
		want         string
	}{
		{"POST", "/api/v1/rules", map[string]any{"name": "bad", "match": []map[string]any{{"field": "component", "regex": "db("}}, "actions": map[string]any{"drop": true}}, 400, "match[0].regex"},
		{"POST", "/api/v1/rules", map[string]any{"name": "bad", "actions": map[string]any{"set_criticality": "pink"}}, 400, "actions.set_criticality"},
		{"POST", "/api/v1/rules", map[string]any{"name": "bad", "actions": map[string]any{"drop": true}, "colour": 1}, 400, "colour"},
		{"POST", "/api/v1/rules", map[string]any{"name": "bad", "match": []map[string]any{{"field": "state", "equal": 3}}, "actions": map[string]any{"drop": true}}, 400, "equal"},
		{"POST", "/api/v1/rules", map[string]any{"name": "red-db", "actions": map[string]any{"drop": true}}, 409, "conflict"},
		{"POST", "/api/v1/rules", map[string]any{"name": "yaml-domain", "actions": map[string]any{"drop": true}}, 409, "managed_by_config"},
		{"PUT", "/api/v1/rules/yaml-domain", map[string]any{"actions": map[string]any{"drop": true}}, 409, "managed_by_config"},
		{"DELETE", "/api/v1/rules/yaml-domain", nil, 409, "managed_by_config"},
		{"DELETE", "/api/v1/rules/nope", nil, 404, "not_found"},
		{"POST", "/api/v1/rules/dry-run", map[string]any{"event": map[string]any{"connector": "x"}}, 400, "event.connector_name"},
		{"POST", "/api/v1/rules/dry-run", map[string]any{"rule": map[string]any{"name": "r", "actions": map[string]any{"set": map[string]string{"state": "7"}}}, "event": sample}, 400, "rule.actions.set.state"},
		{"POST", "/api/v1/rules/dry-run", map[string]any{"name": "r"}, 400, "event"},
	} {
		var e apiErr
		code := ts.admin(tc.method, tc.path, tc.body, &e)
		if code != tc.code || (e.Error.Field != tc.want && e.Error.Code != tc.want) {
			t.Errorf("%s %s %v: %d %+v, want %d %s", tc.method, tc.path, tc.body, code, e, tc.code, tc.want)
		}
	}

	// PUT replaces in place, or moves with a position; DELETE removes;
	// both survive a restart.
	if code := ts.admin("PUT", "/api/v1/rules/red-db", map[string]any{
		"match": []map[string]any{{"field": "state", "gte": 3}}, "actions": map[string]any{"set_criticality": "orange"},
	}, nil); code != 200 {
		t.Fatalf("PUT: %d", code)
	}
	if code := ts.admin("PUT", "/api/v1/rules/red-db", map[string]any{
		"position": 0, "match": []map[string]any{{"field": "state", "gte": 3}}, "actions": map[string]any{"set_criticality": "orange"},
	}, nil); code != 200 {
		t.Fatalf("PUT moving red-db first: %d", code)
	}
	ts.admin("GET", "/api/v1/rules", nil, &l)
	if got := l.names(); got != "yaml-domain/config red-db/api drop-test/api" {
		t.Fatalf("rules after moving red-db first: %s", got)
	}
	var pe struct{ Error struct{ Field string } }
	if code := ts.admin("PUT", "/api/v1/rules/red-db", map[string]any{"position": -1, "actions": map[string]any{"drop": true}}, &pe); code != 400 || pe.Error.Field != "position" {
		t.Fatalf("PUT with position -1: %d %+v", code, pe)
	}
	if code := ts.admin("DELETE", "/api/v1/rules/drop-test", nil, nil); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	ts.stop()
	ts = startServer(t, dir, yaml)
	ts.admin("GET", "/api/v1/rules", nil, &l)
	if got := l.names(); got != "yaml-domain/config red-db/api" {
		t.Fatalf("rules after a restart: %s", got)
	}
	if code := ts.admin("POST", "/api/v1/rules/dry-run", map[string]any{"name": "red-db", "event": sample}, &dr); code != 200 || dr.Matched {
		t.Fatalf("the replaced red-db matched state 1: %+v", dr)
	}

	// An edited YAML is reloaded by itself, rules included.
	if err := os.WriteFile(ts.cfgPath, []byte(`
events:
  rules:
    - name: yaml-two
      actions: {set_category: all}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reloaded rules", func() bool {
		ts.admin("GET", "/api/v1/rules", nil, &l)
		return l.names() == "yaml-two/config red-db/api"
	})
}

// vigie's own checks go through the rules too, and a restart's
// reconciliation qualifies its events the same way (no second alarm).
func TestRulesQualifyCheckEvents(t *testing.T) {
	dir := t.TempDir()
	yaml := `
events:
  rules:
    - name: red-checks
      match: [{field: connector, equals: vigie}, {field: resource, equals: port}]
      actions: {set_criticality: red, set: {component: web-renamed}}
`
	ts := startServer(t, dir, yaml)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a closed port: the check fails
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "web", "check": map[string]any{"kind": "none"}}, nil)
	if code := ts.admin("POST", "/api/v1/services", map[string]any{"host": "web", "name": "port", "interval": "1s", "max_attempts": 1,
		"check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": port}}, nil); code != 201 {
		t.Fatalf("service: %d", code)
	}
	var l alarmList
	waitFor(t, "the check's alarm", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=vigie", nil, &l)
		return len(l.Items) == 1
	})
	if a := l.Items[0]; a.Component != "web-renamed" || a.Criticality != "red" {
		t.Fatalf("check alarm: %+v", a)
	}
	ts.stop()
	ts = startServer(t, dir, yaml)
	ts.admin("GET", "/api/v1/alarms?connector=vigie", nil, &l)
	if len(l.Items) != 1 {
		t.Fatalf("alarms after a restart: %+v", l.Items)
	}
}
