package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// TestKill9Events: events answered 202 survive a SIGKILL during load.
// Workers post batches concurrently; each event opens an alarm of its own
// (component k-W-I) and also counts on one shared alarm. After the kill
// and a restart, every acknowledged event's alarm is there and the shared
// alarm counts at least the acknowledged events.
func TestKill9Events(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server twice")
	}
	t.Run("sqlite", func(t *testing.T) { kill9Events(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		kill9Events(t, []string{"VIGIE_STORAGE_DRIVER=postgres", "VIGIE_STORAGE_DSN=" + pgDatabase(t)})
	})
}

// pgDatabase creates a database for the test on the local PostgreSQL and
// returns its URL; it is dropped at the end.
func pgDatabase(t *testing.T) string { return testenv.Postgres(t, "vigie_kill") }

func kill9Events(t *testing.T, extraEnv []string) {
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	start := func() *exec.Cmd { return startServerProcess(t, dir, addr, extraEnv...) }
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(body any) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+"/api/v1/events", bytes.NewReader(b))
		req.SetBasicAuth("admin", "kill-test-pw")
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	cmd := start()
	const workers, batch = 4, 50
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				evs := make([]map[string]any, 0, 2*batch)
				names := make([]string, 0, batch)
				for j := range batch {
					name := fmt.Sprintf("k-%d-%d", w, i*batch+j)
					names = append(names, name)
					evs = append(evs,
						map[string]any{"connector": "test", "connector_name": "kill", "event_type": "check", "source_type": "component", "component": name, "state": 2, "output": "x"},
						map[string]any{"connector": "test", "connector_name": "kill", "event_type": "check", "source_type": "component", "component": "shared", "state": 1 + j%3, "output": name})
				}
				switch post(evs) {
				case http.StatusAccepted:
					mu.Lock()
					acked = append(acked, names...)
					mu.Unlock()
				case 0:
					return // the server is gone
				}
			}
		})
	}
	// Kill once the load has run a while and some events are answered.
	deadline := time.Now().Add(20 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 5000 || time.Now().After(deadline) {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no event was acknowledged before the kill")
	}

	cmd = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	have := map[string]int64{}
	for cursor := ""; ; {
		var page struct {
			Items []struct {
				Component string `json:"component"`
				Count     int64  `json:"count"`
			} `json:"items"`
			Next string `json:"next_cursor"`
		}
		req, _ := http.NewRequest("GET", base+"/api/v1/alarms?connector=test&limit=1000&cursor="+cursor, nil)
		req.SetBasicAuth("admin", "kill-test-pw")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Items {
			have[a.Component] += a.Count
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	for _, n := range acked {
		if have[n] != 1 {
			t.Fatalf("event for %s was answered 202 before the kill and its alarm is gone (%d acknowledged, %d alarms)", n, len(acked), len(have))
		}
	}
	if have["shared"] < int64(len(acked)) {
		t.Fatalf("the shared alarm counts %d events, %d were acknowledged", have["shared"], len(acked))
	}
	t.Logf("%d events acknowledged before SIGKILL, all in their alarms after restart (%d stored)", 2*len(acked), int64(len(have)-1)+have["shared"])
}

// A second server on the PostgreSQL database another one writes to stops
// with a message that says so, after storage.lock_wait, instead of
// overwriting the first one's alarms and states.
func TestSecondServerOnOneDatabaseIsRefused(t *testing.T) {
	dsn := pgDatabase(t)
	env := []string{"VIGIE_STORAGE_DRIVER=postgres", "VIGIE_STORAGE_DSN=" + dsn}
	first := startServerProcess(t, t.TempDir(), freeAddr(t), env...)
	defer func() {
		first.Process.Kill()
		first.Wait()
	}()
	// Without the lock the second would serve on: the context ends it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIGIE_TEST_SERVER=1", "VIGIE_DATA_DIR="+t.TempDir(), "VIGIE_HTTP_LISTEN="+freeAddr(t),
		"VIGIE_ADMIN_PASSWORD=kill-test-pw", "VIGIE_STORAGE_LOCK_WAIT=1s")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another vigie server is running on this database") {
		t.Fatalf("second server: %v\n%s", err, out)
	}
}
