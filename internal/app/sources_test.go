package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vigie-monitoring/vigie/internal/config"
	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/events/sources"
)

type memSink struct {
	mu  sync.Mutex
	evs []events.Event
}

func (s *memSink) Ingest(_ context.Context, evs []events.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, evs...)
	return nil
}

func (s *memSink) outputs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ev := range s.evs {
		out = append(out, ev.Output)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startApp runs a whole server with the syslog source on addr and the
// given event sink (nil: none).
func startApp(t *testing.T, addr string, sink events.Sink) *App {
	t.Helper()
	dir := t.TempDir()
	env := []string{"VIGIE_DATA_DIR=" + dir, "VIGIE_HTTP_LISTEN=127.0.0.1:0", "VIGIE_ADMIN_PASSWORD=" + adminPassword,
		"VIGIE_SYSLOG_LISTEN=" + addr, "VIGIE_SYSLOG_CONNECTOR_NAME=app-syslog"}
	cfg, err := config.Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, env, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sink != nil {
		a.SetEventSink(sink)
	} else {
		a.SetEventSink(nil) // New sets the alarm engine
	}
	httpAddr, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	// Sources start before the HTTP server serves.
	waitFor(t, "the server", func() bool {
		resp, err := http.Get("http://" + httpAddr.String() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return a
}

func TestSourcesWiredToTheSink(t *testing.T) {
	addr := freeAddr(t)
	sink := &memSink{}
	a := startApp(t, addr, sink)
	var conn net.Conn
	waitFor(t, "the syslog listener", func() bool {
		var err error
		conn, err = net.Dial("tcp", addr)
		return err == nil
	})
	defer conn.Close()
	fmt.Fprintf(conn, "<11>1 2026-01-02T03:04:05Z web1 nginx - - - upstream down\n")
	waitFor(t, "the syslog event", func() bool { return strings.Join(sink.outputs(), ",") == "upstream down" })

	h := a.AlertmanagerHandler()
	if h == nil {
		t.Fatal("no Alertmanager handler with a sink")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, sources.AlertmanagerPath, strings.NewReader(
		`{"version":"4","receiver":"r","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","job":"j"},"annotations":{"summary":"am"}}]}`)))
	if rec.Code != http.StatusOK {
		t.Fatalf("alertmanager: %d %s", rec.Code, rec.Body)
	}
	waitFor(t, "the alertmanager event", func() bool { return len(sink.outputs()) == 2 })
}

// Without a sink the sources do not start: the syslog port stays free.
func TestSourcesNeedASink(t *testing.T) {
	addr := freeAddr(t)
	a := startApp(t, addr, nil)
	if a.AlertmanagerHandler() != nil {
		t.Fatal("an Alertmanager handler without a sink")
	}
	// The port is bound only if the source started; binding it here
	// proves it did not.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("syslog started without a sink: %v", err)
	}
	ln.Close()
}
