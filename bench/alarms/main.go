// Command alarms measures the alarm engine end to end on the embedded
// store: a whole vigie server in this process, events POSTed over HTTP in
// batches by concurrent clients, each answer (202) given once the alarm
// updates are committed. It prints events per second from POST to
// persisted alarm update, the p99 from a POST to the alarm change on the
// live stream at a steady rate, and the alarm list's p99 with many open
// alarms: filtered, searched, sorted and counted. With -postgres it runs
// on a throwaway PostgreSQL database instead of the embedded SQLite.
//
//	go run ./bench/alarms [-seconds 10] [-clients 4] [-batch 500] [-keys 10000]
//	go run ./bench/alarms -postgres postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable -runs list
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for -postgres

	"github.com/vigie-monitoring/vigie/internal/app"
	"github.com/vigie-monitoring/vigie/internal/config"
)

const password = "bench-admin-pw"

func main() {
	seconds := flag.Float64("seconds", 10, "length of the throughput run")
	clients := flag.Int("clients", 4, "concurrent HTTP clients")
	batch := flag.Int("batch", 500, "events per POST")
	keys := flag.Int("keys", 10000, "distinct alarms the events update")
	rate := flag.Int("rate", 5000, "events per second of the latency run")
	open := flag.Int("open", 100000, "open alarms for the list run")
	pg := flag.String("postgres", "", "DSN of a PostgreSQL server whose role may create databases: run on a throwaway database there")
	runs := flag.String("runs", "throughput,latency,list", "parts to run, comma-separated")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (the server is in this process) here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}

	dir, err := os.MkdirTemp("", "vigie-bench-alarms-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	env, store, pgDSN := []string{}, "SQLite", ""
	if *pg != "" {
		dsn, drop := throwawayPostgres(*pg)
		defer drop()
		env, store, pgDSN = append(env, "VIGIE_STORAGE_DRIVER=postgres", "VIGIE_STORAGE_DSN="+dsn), "PostgreSQL", dsn
	}
	base, stop := startServer(dir, env)
	defer stop()
	fmt.Printf("vigie alarm engine, end to end over HTTP, %s, %d cores\n", store, runtime.NumCPU())

	parts := strings.Split(*runs, ",")
	if slices.Contains(parts, "throughput") {
		throughput(base, *seconds, *clients, *batch, *keys)
	}
	if slices.Contains(parts, "latency") {
		latency(base, *rate, 5*time.Second)
	}
	if slices.Contains(parts, "list") {
		listing(base, *open, *batch, pgDSN)
	}
}

// throwawayPostgres creates a database for the run on the server of dsn
// and returns its DSN and a function that drops it.
func throwawayPostgres(dsn string) (string, func()) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		fail(err)
	}
	name := fmt.Sprintf("vigie_bench_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		fail(fmt.Errorf("creating the bench database: %w", err))
	}
	u, err := url.Parse(dsn)
	if err != nil {
		fail(err)
	}
	u.Path = "/" + name
	return u.String(), func() {
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "bench/alarms: dropping", name+":", err)
		}
		admin.Close()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/alarms:", err)
	os.Exit(1)
}

func startServer(dir string, extra []string) (string, func()) {
	env := append([]string{"VIGIE_DATA_DIR=" + dir, "VIGIE_HTTP_LISTEN=127.0.0.1:0", "VIGIE_ADMIN_PASSWORD=" + password}, extra...)
	cfg, err := config.Load("", env)
	if err != nil {
		fail(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), cfg, env, log, io.Discard)
	if err != nil {
		fail(err)
	}
	addr, err := a.Listen()
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return "http://" + addr.String(), func() { cancel(); <-done }
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}

func post(base string, body []byte) error {
	req, _ := http.NewRequest("POST", base+"/api/v1/events", bytes.NewReader(body))
	req.SetBasicAuth("admin", password)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST /api/v1/events: %s", resp.Status)
	}
	return nil
}

type event struct {
	Connector     string `json:"connector"`
	ConnectorName string `json:"connector_name"`
	EventType     string `json:"event_type"`
	SourceType    string `json:"source_type"`
	Component     string `json:"component"`
	Resource      string `json:"resource"`
	State         int    `json:"state"`
	Output        string `json:"output"`
}

// bodies are batches encoded ahead, so that the clients spend their CPU on
// HTTP, not on JSON: over keys alarms, states 1..3 and one event in eight
// OK (which resolves the alarm; the next problem opens another).
func bodies(n, batch, keys int, prefix string) [][]byte {
	out := make([][]byte, n)
	k := 0
	for i := range out {
		evs := make([]event, batch)
		for j := range evs {
			k++
			st := 1 + k%3
			if k%8 == 0 {
				st = 0
			}
			evs[j] = event{"bench", prefix, "check", "resource", fmt.Sprintf("host-%d", k%keys), "svc", st, "output of the check " + strconv.Itoa(k)}
		}
		out[i], _ = json.Marshal(evs)
	}
	return out
}

func throughput(base string, seconds float64, clients, batch, keys int) {
	pre := bodies(64, batch, keys, "throughput")
	// Warm up: open the alarms.
	for _, b := range pre[:min(len(pre), keys/batch+1)] {
		if err := post(base, b); err != nil {
			fail(err)
		}
	}
	var (
		sent atomic.Int64
		wg   sync.WaitGroup
		lats = make([][]time.Duration, clients)
	)
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for i := c; time.Now().Before(end); i += clients {
				t := time.Now()
				if err := post(base, pre[i%len(pre)]); err != nil {
					fail(err)
				}
				lats[c] = append(lats[c], time.Since(t))
				sent.Add(int64(batch))
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	fmt.Printf("  throughput: %.0f events/s from POST to persisted alarm update (%d events in %v, %d clients, %d events a POST, %d alarms; goal >= 20,000/s)\n",
		float64(sent.Load())/el.Seconds(), sent.Load(), el.Round(time.Millisecond), clients, batch, keys)
	fmt.Printf("    answer time of a POST: p50 %v, p99 %v\n", pct(all, 50), pct(all, 99))
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)].Round(100 * time.Microsecond)
}

// latency posts single-event batches at a steady rate and times each one
// from its POST to its alarm change on the live stream.
func latency(base string, rate int, span time.Duration) {
	req, _ := http.NewRequest("GET", base+"/api/v1/stream", nil)
	req.SetBasicAuth("admin", password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	var (
		mu     sync.Mutex
		sentAt = map[string]time.Time{}
		lats   []time.Duration
	)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			i := strings.Index(l, `"output":"lat-`)
			if !strings.HasPrefix(l, "data: ") || i < 0 {
				continue
			}
			id := l[i+len(`"output":"`):]
			id = id[:strings.IndexByte(id, '"')]
			mu.Lock()
			if t, ok := sentAt[id]; ok {
				lats = append(lats, time.Since(t))
				delete(sentAt, id)
			}
			mu.Unlock()
		}
	}()
	time.Sleep(100 * time.Millisecond)
	// 10 POSTs a second of rate/10 events each, from 4 clients.
	per := max(1, rate/100)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	end := time.Now().Add(span)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	n, sent := 0, 0
	for time.Now().Before(end) {
		<-tick.C
		evs := make([]event, per)
		ids := make([]string, per)
		for j := range evs {
			n++
			ids[j] = fmt.Sprintf("lat-%d", n)
			evs[j] = event{"bench", "latency", "check", "resource", fmt.Sprintf("lat-host-%d", n%5000), "svc", 1 + n%3, ids[j]}
		}
		b, _ := json.Marshal(evs)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t := time.Now()
			mu.Lock()
			for _, id := range ids {
				sentAt[id] = t
			}
			mu.Unlock()
			if err := post(base, b); err != nil {
				fail(err)
			}
		})
		sent += per
	}
	wg.Wait()
	time.Sleep(2 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lats)
	fmt.Printf("  live stream: %d events at %d/s, %d alarm changes seen on the stream (the rest dropped by the hub, counted in vigie_stream_events_dropped_total); POST to SSE push p50 %v, p99 %v (goal p99 < 1 s)\n",
		sent, rate, len(lats), pct(lats, 50), pct(lats, 99))
}

// listing opens many alarms, then times pages of the alarm list.
func listing(base string, open, batch int, pgDSN string) {
	t := time.Now()
	for i := 0; i < open; i += batch {
		evs := make([]event, min(batch, open-i))
		for j := range evs {
			evs[j] = event{"bench", "list", "check", "resource", fmt.Sprintf("list-host-%d", i+j), "svc", 1 + (i+j)%3, "open"}
		}
		b, _ := json.Marshal(evs)
		if err := post(base, b); err != nil {
			fail(err)
		}
	}
	fmt.Printf("  alarm list: %d alarms opened in %v\n", open, time.Since(t).Round(time.Millisecond))
	if pgDSN != "" {
		// Right after a bulk load PostgreSQL's planner has no statistics
		// of the new rows (it takes seq scans for index scans) and the
		// trigram indexes' pending lists are full; autovacuum fixes both
		// within a minute or so. The figures are of that steady state.
		db, err := sql.Open("pgx", pgDSN)
		if err != nil {
			fail(err)
		}
		t := time.Now()
		if _, err := db.Exec("VACUUM ANALYZE alarms"); err != nil {
			fail(err)
		}
		db.Close()
		fmt.Printf("    VACUUM ANALYZE alarms, as autovacuum would: %v\n", time.Since(t).Round(time.Millisecond))
	}
	// The last page of a sort, reached through its cursors, times a page
	// deep in the list.
	deep := func(sortQ string) string {
		q := sortQ + "&limit=1000"
		for range open/1000 - 1 {
			var p struct {
				NextCursor string `json:"next_cursor"`
			}
			if err := json.Unmarshal(get(base, "/api/v1/alarms?"+q), &p); err != nil || p.NextCursor == "" {
				fail(fmt.Errorf("paging %s: %v", q, err))
			}
			q = sortQ + "&limit=1000&cursor=" + url.QueryEscape(p.NextCursor)
		}
		return strings.Replace(q, "limit=1000", "limit=100", 1)
	}
	groups := []struct {
		name    string
		queries []string
	}{
		{"filters", []string{"limit=100", "status=open&limit=100", "state=3&limit=100", "criticality=red&ack=false&limit=100", "component=list-host-4242"}},
		{"search (trigram index from 3 characters)", []string{"search=host-9999&limit=100", "search=HOST-4242&status=open&limit=100", "search=list-host&limit=100",
			"search=4&limit=100", "search=host-9999&status=archived&limit=100"}},
		{"sorted", []string{"sort=-last&limit=100", "sort=-criticality&status=open&limit=100", "sort=-state&status=open&limit=100", "sort=component&limit=100",
			"sort=-count&limit=100", "sort=opened&criticality=red&limit=100", "sort=-last&search=host-42&limit=100", "sort=-last&search=host-4&limit=100", "sort=-last&search=list-host&limit=100", deep("sort=-criticality&status=open")}},
	}
	for _, g := range groups {
		fmt.Printf("    %s:\n", g.name)
		for _, q := range g.queries {
			p50, p99 := timeGets(base, "/api/v1/alarms?"+q)
			if len(q) > 60 {
				q = q[:strings.Index(q, "cursor=")] + "cursor=(page 100 of 100)"
			}
			fmt.Printf("      GET /api/v1/alarms?%-58s p50 %8v  p99 %8v (goal p99 < 100 ms)\n", q, p50, p99)
		}
	}
	fmt.Printf("    counts by criticality:\n")
	for _, q := range []string{"status=open", "status=open&criticality=red", "search=host-9999", "search=list-host", "ack=false&state=3"} {
		p50, p99 := timeGets(base, "/api/v1/alarms/count?"+q)
		fmt.Printf("      GET /api/v1/alarms/count?%-52s p50 %8v  p99 %8v\n", q, p50, p99)
	}
}

func get(base, path string) []byte {
	req, _ := http.NewRequest("GET", base+path, nil)
	req.SetBasicAuth("admin", password)
	resp, err := client.Do(req)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("GET %s: %s %s", path, resp.Status, b))
	}
	return b
}

// timeGets times 200 GETs of path, one after another.
func timeGets(base, path string) (p50, p99 time.Duration) {
	var lats []time.Duration
	for range 200 {
		t := time.Now()
		get(base, path)
		lats = append(lats, time.Since(t))
	}
	slices.Sort(lats)
	return pct(lats, 50), pct(lats, 99)
}
