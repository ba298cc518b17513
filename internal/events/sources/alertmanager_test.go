package sources

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
)

const amPayload = `{"version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","truncatedAlerts":0,"status":"firing","receiver":"team-ops",
"groupLabels":{"alertname":"DiskFull"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093",
"alerts":[
 {"status":"firing","labels":{"alertname":"DiskFull","instance":"db1:9100","severity":"critical"},"annotations":{"summary":"disk 98%","description":"/var is full"},"startsAt":"2026-01-02T03:04:05Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom","fingerprint":"abc123"},
 {"status":"firing","labels":{"alertname":"Slow","job":"api","severity":"minor"},"annotations":{"description":"p99 high"},"startsAt":"2026-01-02T03:04:05Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"def"},
 {"status":"firing","labels":{"alertname":"Odd","job":"api"},"annotations":{},"startsAt":"2026-01-02T03:04:05Z","fingerprint":"ghi"},
 {"status":"resolved","labels":{"alertname":"Gone","instance":"web1","severity":"warning"},"annotations":{"summary":"back"},"startsAt":"2026-01-02T03:04:05Z","endsAt":"2026-01-02T04:00:00Z","fingerprint":"jkl"}
]}`

func postAM(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, AlertmanagerPath, strings.NewReader(body)))
	return rec
}

func TestAlertmanagerPayload(t *testing.T) {
	sink := &recordSink{}
	h := NewAlertmanager(AlertmanagerOptions{}, sink)
	rec := postAM(t, h, amPayload)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	evs := sink.events()
	want := []struct {
		component, resource, output string
		state                       int
		crit                        string
		time                        string
	}{
		{"db1:9100", "DiskFull", "disk 98%", 3, events.Red, "2026-01-02T03:04:05Z"},
		{"api", "Slow", "p99 high", 1, events.Green, "2026-01-02T03:04:05Z"},
		{"api", "Odd", "", 2, events.Orange, "2026-01-02T03:04:05Z"},
		{"web1", "Gone", "back", 0, "", "2026-01-02T04:00:00Z"},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Connector != "alertmanager" || ev.ConnectorName != "team-ops" || ev.Component != w.component ||
			ev.Resource != w.resource || ev.Output != w.output || ev.State != w.state || ev.Criticality != w.crit ||
			ev.Time.Format(time.RFC3339) != w.time || ev.EventType != events.TypeCheck || ev.SourceType != "resource" {
			t.Errorf("event %d: %+v, want %+v", i, ev, w)
		}
	}
	if evs[0].LongOutput != "/var is full" || evs[0].Tags["alertmanager_fingerprint"] != "abc123" || evs[0].Tags["severity"] != "critical" {
		t.Errorf("long output or tags: %+v", evs[0])
	}
}

// Each bad payload gets 400 naming the field, is counted, and stores nothing.
func TestAlertmanagerBadPayloads(t *testing.T) {
	alert := func(s string) string {
		return `{"version":"4","receiver":"r","status":"firing","alerts":[` + s + `]}`
	}
	tests := []struct {
		name, body, want, field string
		status                  int
	}{
		{"syntax", `{"version":`, "malformed JSON", "", 400},
		{"not an object", `[1,2]`, "want an object", "", 400},
		{"version", `{"version":"3","receiver":"r","alerts":[]}`, `version: must be "4"`, "version", 400},
		{"no receiver", `{"version":"4","alerts":[]}`, "receiver: is required", "receiver", 400},
		{"no alerts", `{"version":"4","receiver":"r","alerts":[]}`, "alerts: is empty", "alerts", 400},
		{"alerts not a list", `{"version":"4","receiver":"r","alerts":{}}`, "alerts: must not be a JSON object", "alerts", 400},
		{"labels wrong type", alert(`{"status":"firing","labels":{"alertname":1}}`), "alerts.labels: must not be a JSON number", "alerts.labels", 400},
		{"no instance", alert(`{"status":"firing","labels":{"alertname":"A"}}`), "alerts[0].labels.instance: is required", "alerts[0].labels.instance", 400},
		{"no alertname", alert(`{"status":"firing","labels":{"job":"j"}}`), "alerts[0].labels.alertname: is required", "alerts[0].labels.alertname", 400},
		{"bad status", alert(`{"status":"pending","labels":{"job":"j","alertname":"A"}}`), "alerts[0].status: must be firing or resolved", "alerts[0].status", 400},
		{"bad time", alert(`{"status":"firing","labels":{"job":"j","alertname":"A"},"startsAt":"yesterday"}`), "startsAt and endsAt must be RFC 3339", "alerts", 400},
		{"too large", `{"version":"4","receiver":"` + strings.Repeat("r", 5000) + `"}`, "body is larger than 4096 bytes", "", 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &recordSink{}
			reg := prometheus.NewRegistry()
			h := NewAlertmanager(AlertmanagerOptions{MaxBodyBytes: 4096, Registerer: reg}, sink)
			rec := postAM(t, h, tt.body)
			var resp struct {
				Error struct{ Code, Message, Field string }
			}
			json.Unmarshal(rec.Body.Bytes(), &resp)
			if rec.Code != tt.status || !strings.Contains(resp.Error.Message, tt.want) || resp.Error.Field != tt.field {
				t.Fatalf("status %d, body %s; want %d with %q", rec.Code, rec.Body, tt.status, tt.want)
			}
			if len(sink.events()) != 0 {
				t.Fatal("a bad payload stored events")
			}
			var refused float64
			for _, r := range []string{ReasonParse, ReasonInvalid, ReasonTooLarge} {
				refused += counterValue(t, reg, "vigie_events_refused_total", map[string]string{"source": "alertmanager", "reason": r})
			}
			if refused != 1 {
				t.Fatalf("refused counters sum to %v, want 1", refused)
			}
		})
	}
}

func TestAlertmanagerMethodAndSinkFailure(t *testing.T) {
	sink := &recordSink{}
	h := NewAlertmanager(AlertmanagerOptions{}, sink)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, AlertmanagerPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.Code)
	}
	sink.setFail(errSinkDown)
	if rec := postAM(t, h, amPayload); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("failing sink: %d", rec.Code)
	}
}

func FuzzAlertmanager(f *testing.F) {
	f.Add([]byte(amPayload))
	f.Add([]byte(`{"version":"4","receiver":"r","alerts":[{"status":"resolved","labels":{"job":"j","alertname":"A"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := decodeAlertmanager(data, 100, time.Unix(0, 0))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, ev := range evs {
			if ev.Component == "" || ev.Resource == "" || ev.ConnectorName == "" || ev.State < 0 || ev.State > 3 {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The real Alertmanager notifies the handler: an alert posted to its API
// arrives as an event, and its resolution as a state 0 event.
func TestAlertmanagerWithRealAlertmanager(t *testing.T) {
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus-alertmanager is missing (scripts/install-deps.sh installs it)")
		}
		t.Skip("prometheus-alertmanager is missing (scripts/install-deps.sh installs it)")
	}
	sink := &recordSink{}
	mux := http.NewServeMux()
	mux.Handle(AlertmanagerPath, NewAlertmanager(AlertmanagerOptions{}, sink))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := t.TempDir()
	conf := fmt.Sprintf(`route:
  receiver: vigie
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: vigie
    webhook_configs:
      - url: %s%s
        send_resolved: true
`, srv.URL, AlertmanagerPath)
	if err := os.WriteFile(filepath.Join(dir, "am.yml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager logs:\n%s", logs.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "alertmanager ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	post := func(endsAt time.Time) {
		t.Helper()
		alerts := []map[string]any{{
			"labels":      map[string]string{"alertname": "HighLoad", "instance": "app7:9100", "severity": "warning"},
			"annotations": map[string]string{"summary": "load 12"},
			"startsAt":    time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
		}}
		if !endsAt.IsZero() {
			alerts[0]["endsAt"] = endsAt.UTC().Format(time.RFC3339)
		}
		b, _ := json.Marshal(alerts)
		resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("posting the alert: %s", resp.Status)
		}
	}
	find := func(state int) (events.Event, bool) {
		for _, ev := range sink.events() {
			if ev.Resource == "HighLoad" && ev.State == state {
				return ev, true
			}
		}
		return events.Event{}, false
	}
	post(time.Time{})
	waitFor(t, "the firing event", func() bool { _, ok := find(events.StateMajor); return ok })
	ev, _ := find(events.StateMajor)
	if ev.Connector != "alertmanager" || ev.ConnectorName != "vigie" || ev.Component != "app7:9100" || ev.Output != "load 12" ||
		ev.Criticality != events.Orange || ev.Tags["alertmanager_fingerprint"] == "" {
		t.Fatalf("firing event %+v", ev)
	}
	post(time.Now().Add(-time.Second))
	waitFor(t, "the resolved event", func() bool { _, ok := find(events.StateOK); return ok })
}
