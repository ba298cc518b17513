package app

import (
	"bufio"
	"context"

	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

type alarmList struct {
	Items      []alarms.Alarm `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

// openStream opens a user's live stream and returns its data lines.
func openStream(t *testing.T, ts *testServer, login, password string) <-chan string {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.base+"/api/v1/stream", nil)
	req.SetBasicAuth(login, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev string
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "event: "):
				ev = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: "):
				select {
				case out <- ev + " " + strings.TrimPrefix(l, "data: "):
				default:
				}
			}
		}
		close(out)
	}()
	return out
}

func postRaw(t *testing.T, ts *testServer, path, body string) (int, apiErr) {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.base+path, strings.NewReader(body))
	req.SetBasicAuth("admin", adminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e apiErr
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &e)
	return resp.StatusCode, e
}

func TestEventsAndAlarmsThroughTheAPI(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	for _, h := range []struct{ name, domain string }{{"router", "network"}, {"db1", "database"}} {
		if code := ts.admin("POST", "/api/v1/hosts", map[string]any{"name": h.name, "domain": h.domain, "check": map[string]any{"kind": "none"}}, nil); code != 201 {
			t.Fatalf("host %s: %d", h.name, code)
		}
	}
	for _, u := range []struct{ login, role string }{{"max", "manager"}, {"olga", "operator"}} {
		body := map[string]any{"login": u.login, "password": u.login + "-password-1", "role": u.role}
		if u.role == "manager" {
			body["domains"] = []string{"network"}
			body["teams"] = []string{"night"}
		}
		if code := ts.admin("POST", "/api/v1/users", body, nil); code != 201 {
			t.Fatalf("user %s: %d", u.login, code)
		}
	}
	adminStream := openStream(t, ts, "admin", adminPassword)
	maxStream := openStream(t, ts, "max", "max-password-1")
	time.Sleep(100 * time.Millisecond) // the streams subscribe before the events

	// Bad input names the field and stores nothing.
	for _, tc := range []struct{ body, field string }{
		{`[{"connector":"nagios","connector_name":"n1","event_type":"check","source_type":"component","component":"router","state":3},{"connector":"nagios","connector_name":"n1","event_type":"check","source_type":"component","component":"db1","state":9}]`, "events[1].state"},
		{`{"connector":"nagios","connector_name":"n1","event_type":"check","source_type":"component","component":"router","state":3,"severity":"high"}`, "severity"},
		{`{"connector":"nagios","connector_name":"n1","event_type":"check","source_type":"component","state":3}`, "component"},
	} {
		if code, e := postRaw(t, ts, "/api/v1/events", tc.body); code != 400 || e.Error.Field != tc.field {
			t.Errorf("%s: %d %+v", tc.body, code, e)
		}
	}
	if code, _ := postRaw(t, ts, "/api/v1/events", `[`+strings.Repeat(`{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c","state":1},`, 1000)+`{"connector":"a","connector_name":"b","event_type":"check","source_type":"component","component":"c","state":1}]`); code != 400 {
		t.Errorf("a batch over 1000 events: %d", code)
	}
	var l alarmList
	if ts.admin("GET", "/api/v1/alarms", nil, &l); len(l.Items) != 0 {
		t.Fatalf("refused events opened alarms: %+v", l.Items)
	}

	var acc struct{ Accepted int }
	if code := ts.admin("POST", "/api/v1/events", []map[string]any{
		{"connector": "nagios", "connector_name": "n1", "event_type": "check", "source_type": "resource", "component": "router", "resource": "if1", "state": 3, "output": "link down", "timestamp": 1700000000},
		{"connector": "nagios", "connector_name": "n1", "event_type": "check", "source_type": "resource", "component": "db1", "resource": "disk", "state": 2, "output": "90% full"},
		{"connector": "zabbix", "connector_name": "z", "event_type": "check", "source_type": "component", "component": "ext-switch", "state": 1, "output": "fan"},
		{"connector": "syslog", "connector_name": "s", "event_type": "log", "source_type": "component", "component": "router", "state": 3, "output": "a log line"},
	}, &acc); code != 202 || acc.Accepted != 4 {
		t.Fatalf("posting events: %d %+v", code, acc)
	}
	if ts.admin("GET", "/api/v1/alarms", nil, &l); len(l.Items) != 3 {
		t.Fatalf("alarms: %+v", l.Items)
	}
	byComponent := map[string]alarms.Alarm{}
	for _, a := range l.Items {
		byComponent[a.Component] = a
	}
	router := byComponent["router"]
	if router.State != 3 || router.Criticality != "red" || router.Resource != "if1" || !router.Opened.Equal(time.Unix(1700000000, 0)) || router.Status != "open" {
		t.Fatalf("router alarm: %+v", router)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"state=3", 1}, {"criticality=orange", 1}, {"component=db1", 1}, {"connector=zabbix", 1}, {"search=FULL", 1},
		{"ack=false", 3}, {"ack=true", 0}, {"status=resolved", 0}, {"limit=2", 2},
		{"since=2026-01-01T00:00:00Z", 2}, {"until=2024-01-01T00:00:00Z", 1},
		{"domain=network", 1}, {"domain=database", 1}, {"snoozed=true", 0}, {"snoozed=false", 3},
		{"status=flapping", 0}, {"flapping=true", 0}, {"flapping=false", 3},
	} {
		if ts.admin("GET", "/api/v1/alarms?"+tc.query, nil, &l); len(l.Items) != tc.want {
			t.Errorf("?%s: %d alarms, want %d", tc.query, len(l.Items), tc.want)
		}
	}
	var page2 alarmList
	ts.admin("GET", "/api/v1/alarms?limit=2", nil, &l)
	ts.admin("GET", "/api/v1/alarms?limit=2&cursor="+l.NextCursor, nil, &page2)
	if l.NextCursor == "" || len(page2.Items) != 1 || page2.Items[0].ID >= l.Items[1].ID {
		t.Errorf("pages: %+v then %+v", l, page2)
	}
	// A last page that happens to be full says it is the last.
	var whole alarmList
	ts.admin("GET", "/api/v1/alarms?limit=3", nil, &whole)
	if len(whole.Items) != 3 || whole.NextCursor != "" {
		t.Errorf("a full last page: %d items, next cursor %q", len(whole.Items), whole.NextCursor)
	}
	for _, q := range []string{"state=5", "criticality=blue", "ack=maybe", "status=gone", "since=yesterday", "limit=0", "snoozed=soon", "flapping=often"} {
		var e apiErr
		if code := ts.admin("GET", "/api/v1/alarms?"+q, nil, &e); code != 400 || !strings.HasPrefix(q, e.Error.Field) {
			t.Errorf("?%s: %d %+v", q, code, e)
		}
	}

	// The manager of the network domain sees the router's alarm, never
	// the database's nor the unknown switch's.
	ts.call("GET", "/api/v1/alarms", "max", "max-password-1", nil, &l)
	if len(l.Items) != 1 {
		t.Fatalf("manager's alarms: %+v", l.Items)
	}
	for _, a := range l.Items {
		if a.Component == "db1" {
			t.Fatalf("the manager sees the database alarm")
		}
	}
	db1 := byComponent["db1"]
	if code := ts.call("GET", fmt.Sprintf("/api/v1/alarms/%d", db1.ID), "max", "max-password-1", nil, nil); code != 404 {
		t.Errorf("manager reading db1's alarm: %d", code)
	}
	if code := ts.call("POST", fmt.Sprintf("/api/v1/alarms/%d/ack", router.ID), "max", "max-password-1", map[string]any{}, nil); code != 403 {
		t.Errorf("manager acknowledging: %d", code)
	}

	// Actions, by an operator.
	olga := func(method, path string, body, out any) int {
		return ts.call(method, path, "olga", "olga-password-1", body, out)
	}
	rp := fmt.Sprintf("/api/v1/alarms/%d", router.ID)
	var a alarms.Alarm
	if code := olga("POST", rp+"/ack", nil, &a); code != 200 || !a.Acked || a.AckBy != "olga" {
		t.Fatalf("ack without a body: %d %+v", code, a)
	}
	if code := olga("POST", rp+"/unack", nil, &a); code != 200 || a.Acked {
		t.Fatalf("unack without a body: %d %+v", code, a)
	}
	if code := olga("POST", rp+"/ack", map[string]any{"comment": "on it"}, &a); code != 200 || !a.Acked || a.AckBy != "olga" {
		t.Fatalf("ack: %d %+v", code, a)
	}
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	for _, tc := range []struct {
		action string
		body   map[string]any
		code   int
		field  string
	}{
		{"snooze", map[string]any{"until": future.Format(time.RFC3339)}, 200, ""},
		{"snooze", map[string]any{"until": "2020-01-01T00:00:00Z"}, 400, "until"},
		{"snooze", map[string]any{}, 400, "until"},
		{"criticality", map[string]any{"criticality": "orange", "lock": true}, 200, ""},
		{"criticality", map[string]any{"criticality": "pink"}, 400, "criticality"},
		{"transfer", map[string]any{"users": []string{"nobody"}}, 400, "users[0]"},
		{"transfer", map[string]any{"teams": []string{"nobody-team"}}, 400, "teams[0]"},
		{"transfer", map[string]any{}, 400, "users"},
		{"transfer", map[string]any{"users": []string{"olga"}, "teams": []string{"night"}, "comment": "for you"}, 200, ""},
		{"comment", map[string]any{"comment": "called the ISP"}, 200, ""},
		{"comment", map[string]any{}, 400, "comment"},
		{"comment", map[string]any{"comment": "x", "extra": 1}, 400, "extra"},
		{"unack", map[string]any{"comment": "not mine"}, 200, ""},
		{"unack", map[string]any{}, 409, ""},
	} {
		var e apiErr
		code := olga("POST", rp+"/"+tc.action, tc.body, &e)
		if code != tc.code || e.Error.Field != tc.field {
			t.Errorf("%s %v: %d %+v", tc.action, tc.body, code, e)
		}
	}
	// A new event keeps the hand-set criticality.
	ts.admin("POST", "/api/v1/events", map[string]any{"connector": "nagios", "connector_name": "n1", "event_type": "check", "source_type": "resource", "component": "router", "resource": "if1", "state": 3, "output": "still down"}, nil)
	var full alarms.Alarm
	ts.admin("GET", rp, nil, &full)
	var types []string
	for _, s := range full.Steps {
		types = append(types, s.Type+":"+s.Author)
	}
	for _, s := range full.Steps {
		if s.Type == alarms.StepTransfer && s.Value != "olga, max (teams night)" {
			t.Errorf("transfer step value %q", s.Value)
		}
	}
	if full.Criticality != "orange" || !full.CriticalityLocked || full.Count != 2 || full.Output != "still down" || !full.SnoozeUntil.Equal(future) ||
		strings.Join(full.Assignees, ",") != "olga,max" || full.Acked ||
		strings.Join(types, " ") != "open:vigie ack:olga unack:olga ack:olga snooze:olga criticality:olga transfer:olga comment:olga unack:olga" {
		t.Fatalf("after the actions: %+v\nsteps %v", full, types)
	}

	if ts.admin("GET", "/api/v1/alarms?snoozed=true", nil, &l); len(l.Items) != 1 || l.Items[0].ID != router.ID {
		t.Fatalf("snoozed alarms: %+v", l.Items)
	}

	// The source says OK: the alarm is resolved.
	ts.admin("POST", "/api/v1/events", map[string]any{"connector": "nagios", "connector_name": "n1", "event_type": "check", "source_type": "resource", "component": "router", "resource": "if1", "state": 0, "output": "up"}, nil)
	if ts.admin("GET", rp, nil, &full); full.Status != "resolved" || full.Resolved.IsZero() {
		t.Fatalf("after OK: %+v", full)
	}
	if code := olga("POST", rp+"/ack", map[string]any{}, nil); code != 409 {
		t.Errorf("ack of a resolved alarm: %d", code)
	}

	// Bulk: an operator archives two; a manager may not.
	zp := byComponent["ext-switch"].ID
	var bulk struct {
		Results []struct {
			ID    int64
			OK    bool
			Error string
		}
	}
	if code := ts.call("POST", "/api/v1/alarms/bulk", "max", "max-password-1", map[string]any{"ids": []int64{zp}, "action": "ack"}, nil); code != 403 {
		t.Errorf("manager's bulk ack: %d", code)
	}
	if code := olga("POST", "/api/v1/alarms/bulk", map[string]any{"ids": []int64{zp, db1.ID, 99999}, "action": "archive", "comment": "noise"}, &bulk); code != 200 ||
		len(bulk.Results) != 3 || !bulk.Results[0].OK || !bulk.Results[1].OK || bulk.Results[2].OK || bulk.Results[2].Error != "not found" {
		t.Fatalf("bulk archive: %d %+v", code, bulk)
	}
	if ts.admin("GET", "/api/v1/alarms", nil, &l); len(l.Items) != 1 {
		t.Fatalf("archived alarms in the live view: %+v", l.Items)
	}
	if ts.admin("GET", "/api/v1/alarms?status=archived", nil, &l); len(l.Items) != 2 {
		t.Fatalf("archived alarms: %+v", l.Items)
	}
	// Delete: with archive=true the router's alarm is archived; without,
	// purged.
	if code := olga("DELETE", rp+"?archive=true", nil, &a); code != 200 || a.Status != "archived" {
		t.Fatalf("delete with archive: %d %+v", code, a)
	}
	if code := olga("DELETE", rp, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := ts.admin("GET", rp, nil, nil); code != 404 {
		t.Fatalf("deleted alarm: %d", code)
	}

	// Live: the admin saw every alarm change, the manager never db1's.
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for !seen["router-opened"] || !seen["db1-opened"] || !seen["router-resolved"] || !seen["router-deleted"] {
		select {
		case e := <-adminStream:
			for _, c := range []string{"router", "db1"} {
				for _, op := range []string{"opened", "resolved", "deleted"} {
					if strings.HasPrefix(e, `alarm {"op":"`+op+`"`) && strings.Contains(e, `"component":"`+c+`"`) {
						seen[c+"-"+op] = true
					}
				}
			}
		case <-timeout:
			t.Fatalf("admin's stream: saw only %v", seen)
		}
	}
	sawRouter := false
	for done := false; !done; {
		select {
		case e := <-maxStream:
			if strings.HasPrefix(e, "alarm ") && strings.Contains(e, `"component":"db1"`) {
				t.Fatalf("the manager's stream carried db1's alarm: %s", e)
			}
			if strings.HasPrefix(e, "alarm ") && strings.Contains(e, `"component":"router"`) {
				sawRouter = true
			}
		case <-time.After(time.Second):
			done = true
		}
	}
	if !sawRouter {
		t.Fatal("the manager's stream did not carry the router's alarm")
	}

	// The log event is kept and searchable.
	var logs struct {
		Items []struct {
			ID        int64  `json:"id"`
			Component string `json:"component"`
			Output    string `json:"output"`
		} `json:"items"`
	}
	if ts.admin("GET", "/api/v1/events?search=LOG+LINE", nil, &logs); len(logs.Items) != 1 || logs.Items[0].Component != "router" {
		t.Fatalf("log events: %+v", logs)
	}
	if ts.call("GET", "/api/v1/events", "max", "max-password-1", nil, &logs); len(logs.Items) != 1 {
		t.Fatalf("the network manager's log events: %+v", logs)
	}
	if code := ts.admin("GET", "/api/v1/events?since=now", nil, nil); code != 400 {
		t.Fatalf("bad since: %d", code)
	}

	// Counters show every refusal and every event taken.
	r, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, m := range []string{`vigie_api_events_refused_total{reason="invalid"} 4`, "vigie_api_events_received_total 6",
		`vigie_alarm_events_total{type="check"} 5`, `vigie_alarm_events_total{type="log"} 1`, "vigie_alarms_open 0", "vigie_alarm_commit_seconds_count"} {
		if !strings.Contains(string(b), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// TestCheckChangesBecomeAlarms: a service's HARD problem opens an alarm
// from connector vigie, and its recovery resolves it.
func TestCheckChangesBecomeAlarms(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a closed port: the check fails
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "web", "domain": "system", "check": map[string]any{"kind": "none"}}, nil)
	var gone struct{ ID int64 }
	for _, name := range []string{"port", "gone"} {
		if code := ts.admin("POST", "/api/v1/services", map[string]any{"host": "web", "name": name, "interval": "1s", "max_attempts": 1,
			"check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": port}}, &gone); code != 201 {
			t.Fatalf("service: %d", code)
		}
	}
	var l alarmList
	waitFor(t, "the checks' alarms", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=vigie", nil, &l)
		return len(l.Items) == 2
	})
	// A deleted service's alarm is resolved.
	if code := ts.admin("DELETE", fmt.Sprintf("/api/v1/services/%d", gone.ID), nil, nil); code != 204 {
		t.Fatalf("deleting the service: %d", code)
	}
	waitFor(t, "the deleted service's alarm to resolve", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=vigie&resource=gone&status=resolved", nil, &l)
		return len(l.Items) == 1 && l.Items[0].Output == "removed from the inventory"
	})
	ts.admin("GET", "/api/v1/alarms?connector=vigie&resource=port", nil, &l)
	a := l.Items[0]
	if a.ConnectorName != "vigie" || a.Component != "web" || a.Resource != "port" || a.State != 2 || a.Criticality != "orange" || a.Domain != "system" || a.Status != "open" {
		t.Fatalf("check alarm: %+v", a)
	}
	// The port opens: the service recovers and the alarm is resolved.
	ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	waitFor(t, "the check's alarm to resolve", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=vigie&resource=port", nil, &l)
		return len(l.Items) == 1 && l.Items[0].Status == "resolved"
	})
}

// TestRestartReconcilesCheckAlarms: a HARD change whose event was lost in a
// crash (here: its alarm deleted behind the server's back) becomes an
// alarm at the next start; an alarm an operator archived stays archived.
func TestRestartReconcilesCheckAlarms(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "web", "check": map[string]any{"kind": "none"}}, nil)
	for _, name := range []string{"lost", "archived"} {
		if code := ts.admin("POST", "/api/v1/services", map[string]any{"host": "web", "name": name, "interval": "1h", "max_attempts": 1,
			"check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": port}}, nil); code != 201 {
			t.Fatalf("service: %d", code)
		}
	}
	var l alarmList
	waitFor(t, "both alarms", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=vigie", nil, &l)
		return len(l.Items) == 2
	})
	ids := map[string]int64{}
	for _, a := range l.Items {
		ids[a.Resource] = a.ID
	}
	if code := ts.admin("POST", fmt.Sprintf("/api/v1/alarms/%d/archive", ids["archived"]), nil, nil); code != 200 {
		t.Fatalf("archive: %d", code)
	}
	ts.stop()

	st, err := store.Open(context.Background(), store.Options{DSN: filepath.Join(dir, "vigie.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAlarm(context.Background(), ids["lost"]); err != nil {
		t.Fatal(err)
	}
	st.Close()

	ts = startServer(t, dir, "")
	ts.admin("GET", "/api/v1/alarms?connector=vigie&status=open", nil, &l)
	if len(l.Items) != 1 || l.Items[0].Resource != "lost" || l.Items[0].State != 2 || l.Items[0].ID == ids["lost"] {
		t.Fatalf("open alarms after the restart: %+v", l.Items)
	}
	var archived alarms.Alarm
	if ts.admin("GET", fmt.Sprintf("/api/v1/alarms/%d", ids["archived"]), nil, &archived); archived.Status != "archived" {
		t.Fatalf("the archived alarm after the restart: %+v", archived)
	}
}

// TestSourcesFeedAlarms: syslog over TCP and the Alertmanager webhook,
// through the API's route, open alarms in the real server.
func TestSourcesFeedAlarms(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ts := startServer(t, t.TempDir(), "", "VIGIE_SYSLOG_LISTEN="+addr)
	var conn net.Conn
	waitFor(t, "the syslog listener", func() bool {
		conn, err = net.Dial("tcp", addr)
		return err == nil
	})
	defer conn.Close()
	// Severity 2 (critical): orange, state 2.
	fmt.Fprintf(conn, "<10>1 2026-01-02T03:04:05Z web1 nginx - - - upstream down\n")

	req, _ := http.NewRequest("POST", ts.base+"/api/v1/integrations/alertmanager", strings.NewReader(
		`{"version":"4","receiver":"team","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DiskFull","instance":"db1","severity":"critical"},"annotations":{"summary":"disk full"}}]}`))
	req.SetBasicAuth("admin", adminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("alertmanager webhook: %d", resp.StatusCode)
	}
	var l alarmList
	waitFor(t, "the syslog alarm", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=syslog", nil, &l)
		return len(l.Items) == 1
	})
	if a := l.Items[0]; a.Component != "web1" || a.State != 2 || a.Criticality != "orange" || a.Output != "upstream down" {
		t.Fatalf("syslog alarm: %+v", a)
	}
	ts.admin("GET", "/api/v1/alarms?connector=alertmanager", nil, &l)
	if len(l.Items) != 1 || l.Items[0].Component != "db1" || l.Items[0].Resource != "DiskFull" || l.Items[0].State != 3 || l.Items[0].ConnectorName != "team" {
		t.Fatalf("alertmanager alarm: %+v", l.Items)
	}
}

// flakySink fails its first n calls, then keeps what it gets.
type flakySink struct {
	fail int
	got  []events.Event
}

func (f *flakySink) Ingest(_ context.Context, evs []events.Event) error {
	if f.fail > 0 {
		f.fail--
		return fmt.Errorf("database is locked")
	}
	f.got = append(f.got, evs...)
	return nil
}

// TestCheckEventsRetry: a HARD change the engine could not store is kept
// and stored at the next try, in order; SOFT changes make no event.
func TestCheckEventsRetry(t *testing.T) {
	sink := &flakySink{fail: 1}
	c := newCheckEvents(sink, "paris", prometheus.NewRegistry())
	c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	c.names = func(kind string, id int64) (string, string, bool) {
		if kind == state.KindHost {
			return "web", "", true
		}
		return "web", "http", true
	}
	c.domainOf = func(string, int64) (string, bool) { return "system", true }
	change := func(kind string, st int, hard bool) state.Event {
		return state.Event{Kind: kind, ID: 1, Status: state.Status{State: st, Output: fmt.Sprint(st), LastCheck: time.Unix(1700000000, 0)},
			Outcome: state.Outcome{Changed: true, HardChange: hard}}
	}
	c.publish(change(state.KindService, 2, true))
	c.publish(change(state.KindService, 1, false))
	c.flush(context.Background())
	if len(sink.got) != 0 {
		t.Fatalf("stored through a failing sink: %+v", sink.got)
	}
	c.publish(change(state.KindHost, state.HostDown, true))
	c.flush(context.Background())
	var got []string
	for _, e := range sink.got {
		got = append(got, fmt.Sprintf("%s/%s/%s/%s=%d", e.Connector, e.ConnectorName, e.Component, e.Resource, e.State))
	}
	if strings.Join(got, " ") != "vigie/paris/web/http=2 vigie/paris/web/=3" || sink.got[0].Domain != "system" || sink.got[1].SourceType != "component" {
		t.Fatalf("events: %v %+v", got, sink.got)
	}
}

// With the default alarms.flapping (5 changes in 10m), an alarm whose
// state changes five times flaps.
func TestFlappingThroughTheAPI(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	for i, state := range []int{3, 1, 3, 1} {
		if code := ts.admin("POST", "/api/v1/events", map[string]any{"connector": "nagios", "connector_name": "n1", "event_type": "check",
			"source_type": "resource", "component": "web", "resource": "http", "state": state}, nil); code != 202 {
			t.Fatalf("event %d: %d", i, code)
		}
	}
	var l alarmList
	if ts.admin("GET", "/api/v1/alarms?status=flapping", nil, &l); len(l.Items) != 0 {
		t.Fatalf("flapping after 4 changes: %+v", l.Items)
	}
	ts.admin("POST", "/api/v1/events", map[string]any{"connector": "nagios", "connector_name": "n1", "event_type": "check",
		"source_type": "resource", "component": "web", "resource": "http", "state": 3}, nil)
	if ts.admin("GET", "/api/v1/alarms?status=flapping", nil, &l); len(l.Items) != 1 || !l.Items[0].Flapping {
		t.Fatalf("status=flapping after 5 changes: %+v", l.Items)
	}
	if ts.admin("GET", "/api/v1/alarms?flapping=true", nil, &l); len(l.Items) != 1 {
		t.Fatalf("flapping=true: %+v", l.Items)
	}
	var a alarms.Alarm
	ts.admin("GET", fmt.Sprintf("/api/v1/alarms/%d", l.Items[0].ID), nil, &a)
	if !a.Flapping || a.Steps[len(a.Steps)-1].Type != alarms.StepFlapping {
		t.Fatalf("alarm: %+v", a)
	}
}

func TestMaintenancesThroughTheAPI(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	for _, u := range []struct{ login, role string }{{"olga", "operator"}, {"vic", "viewer"}} {
		if code := ts.admin("POST", "/api/v1/users", map[string]any{"login": u.login, "password": u.login + "-password-1", "role": u.role}, nil); code != 201 {
			t.Fatalf("user %s: %d", u.login, code)
		}
	}
	ts.admin("POST", "/api/v1/hostgroups", map[string]any{"name": "dbs"}, nil)
	if code := ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "db1", "groups": []string{"dbs"}, "check": map[string]any{"kind": "none"}}, nil); code != 201 {
		t.Fatalf("host: %d", code)
	}
	now := time.Now().UTC()
	body := map[string]any{"name": "db patch", "start": now.Add(-time.Minute), "end": now.Add(time.Hour), "groups": []string{"dbs"}}
	if code := ts.call("POST", "/api/v1/maintenances", "vic", "vic-password-1", body, nil); code != 403 {
		t.Fatalf("viewer creating: %d", code)
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"start": now, "end": now.Add(time.Hour), "hosts": []string{"a"}}, "name"},
		{map[string]any{"name": "x", "start": now, "end": now, "hosts": []string{"a"}}, "end"},
		{map[string]any{"name": "x", "weekly": map[string]any{"days": []string{"mon"}, "start": "9h", "duration": "1h"}, "hosts": []string{"a"}}, "weekly.start"},
		{map[string]any{"name": "x", "start": now, "end": now.Add(time.Hour)}, "hosts"},
	} {
		var e apiErr
		if code := ts.admin("POST", "/api/v1/maintenances", tc.body, &e); code != 400 || e.Error.Field != tc.field {
			t.Errorf("%v: %d %+v", tc.body, code, e)
		}
	}
	var m alarms.Maintenance
	if code := ts.call("POST", "/api/v1/maintenances", "olga", "olga-password-1", body, &m); code != 201 || m.ID == 0 || m.Author != "olga" {
		t.Fatalf("operator creating: %d %+v", code, m)
	}
	var l struct{ Items []alarms.Maintenance }
	if code := ts.call("GET", "/api/v1/maintenances", "vic", "vic-password-1", nil, &l); code != 200 || len(l.Items) != 1 {
		t.Fatalf("viewer listing: %d %+v", code, l)
	}
	for _, c := range []string{"db1", "web1"} {
		ts.admin("POST", "/api/v1/events", map[string]any{"connector": "nagios", "connector_name": "n1", "event_type": "check",
			"source_type": "component", "component": c, "state": 3}, nil)
	}
	var al alarmList
	ts.admin("GET", "/api/v1/alarms", nil, &al)
	got := map[string]bool{}
	for _, a := range al.Items {
		got[a.Component] = a.InMaintenance
	}
	if len(got) != 2 || !got["db1"] || got["web1"] {
		t.Fatalf("in_maintenance: %v", got)
	}
	if code := ts.admin("DELETE", fmt.Sprintf("/api/v1/maintenances/%d", m.ID), nil, nil); code != 204 {
		t.Fatalf("deleting: %d", code)
	}
	ts.admin("GET", "/api/v1/alarms?component=db1", nil, &al)
	if len(al.Items) != 1 || al.Items[0].InMaintenance {
		t.Fatalf("after the delete: %+v", al.Items)
	}
	if code := ts.admin("DELETE", fmt.Sprintf("/api/v1/maintenances/%d", m.ID), nil, nil); code != 404 {
		t.Fatalf("deleting again: %d", code)
	}
}
