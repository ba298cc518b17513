package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	stdpng "image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestChecksFeedPromQL: a check's perfdata becomes series that the
// Prometheus-compatible API answers with real PromQL.
func TestChecksFeedPromQL(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ln := listen(t)
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "pm", "check": map[string]any{"kind": "none"}}, nil)
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "pm", "name": "port", "check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": ln.Addr().(*net.TCPAddr).Port}, "interval": "1s"}, nil)

	type promAns struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
		ErrorType string `json:"errorType"`
	}
	var ans promAns
	q := url.QueryEscape(`perfdata{host="pm",service="port",metric="time"}`)
	waitFor(t, "perfdata in the TSDB", func() bool {
		ts.admin("GET", "/prometheus/api/v1/query?query="+q, nil, &ans)
		return ans.Status == "success" && len(ans.Data.Result) == 1
	})
	if m := ans.Data.Result[0].Metric; m["unit"] != "s" || m["__name__"] != "perfdata" {
		t.Fatalf("series labels: %v", m)
	}
	// One sample a second: within a few seconds a range query counts three
	// samples in its last step.
	var rng promAns
	waitFor(t, "three samples of the state series", func() bool {
		now := time.Now().Unix()
		rng = promAns{}
		ts.admin("GET", fmt.Sprintf("/prometheus/api/v1/query_range?query=%s&start=%d&end=%d&step=1",
			url.QueryEscape(`count_over_time(vigie_service_state{host="pm"}[10s])`), now-5, now), nil, &rng)
		if rng.Data.ResultType != "matrix" || len(rng.Data.Result) != 1 {
			return false
		}
		vals := rng.Data.Result[0].Values
		if len(vals) == 0 {
			return false
		}
		n, _ := strconv.Atoi(fmt.Sprint(vals[len(vals)-1][1]))
		return n >= 3
	})
	var labels struct {
		Data []string `json:"data"`
	}
	ts.admin("GET", "/prometheus/api/v1/label/service/values", nil, &labels)
	if strings.Join(labels.Data, ",") != "port" {
		t.Fatalf("label values: %v", labels.Data)
	}
	var bad promAns
	if code := ts.admin("GET", "/prometheus/api/v1/query?query="+url.QueryEscape("rate(perfdata["), nil, &bad); code != 400 || bad.ErrorType != "bad_data" {
		t.Fatalf("malformed PromQL: %d %+v", code, bad)
	}
	if code := ts.call("GET", "/prometheus/api/v1/query?query=up", "", "", nil, nil); code != 401 {
		t.Fatalf("query without credentials: %d", code)
	}
}

func TestGraphPNG(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ln := listen(t)
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "g", "check": map[string]any{"kind": "none"}}, nil)
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "g", "name": "port", "check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": ln.Addr().(*net.TCPAddr).Port}, "interval": "1s"}, nil)
	path := "/api/v1/graph.png?width=640&height=240&start=" + strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10) +
		"&query=" + url.QueryEscape(`perfdata{host="g",metric="time"}`)
	var png []byte
	waitFor(t, "a PNG of the response time", func() bool {
		req, _ := http.NewRequest("GET", ts.base+path, nil)
		req.SetBasicAuth("admin", adminPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		png, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == 200
	})
	img, err := stdpng.Decode(bytes.NewReader(png))
	if err != nil || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 240 {
		t.Fatalf("not a 640x240 PNG: %v %v", err, img)
	}
	// No data still gives an image (for mail and reports), saying so.
	req, _ := http.NewRequest("GET", ts.base+"/api/v1/graph.png?query=nothing_here", nil)
	req.SetBasicAuth("admin", adminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("no-data graph: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var e apiErr
	if code := ts.admin("GET", "/api/v1/graph.png?query="+url.QueryEscape("rate(("), nil, &e); code != 400 || e.Error.Field != "query" {
		t.Fatalf("bad query: %d %+v", code, e)
	}
	if code := ts.admin("GET", "/api/v1/graph.png?width=99999&query=up", nil, &e); code != 400 {
		t.Fatalf("huge image: %d", code)
	}
}

// TestRollupTiers: the server keeps rollup tiers beside the raw data and
// says which resolution answered a query.
func TestRollupTiers(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, "")
	for _, tier := range []string{"tsdb-5m", "tsdb-1h"} {
		if st, err := os.Stat(filepath.Join(dir, tier)); err != nil || !st.IsDir() {
			t.Fatalf("%s: %v", tier, err)
		}
	}
	now := time.Now().Unix()
	tests := []struct {
		path string
		want string
	}{
		{fmt.Sprintf("/prometheus/api/v1/query_range?query=up&start=%d&end=%d&step=3600", now-30*86400, now), "1h"},
		{fmt.Sprintf("/prometheus/api/v1/query_range?query=up&start=%d&end=%d&step=300", now-7*86400, now), "5m"},
		{fmt.Sprintf("/prometheus/api/v1/query_range?query=up&start=%d&end=%d&step=15", now-3600, now), "raw"},
		{"/prometheus/api/v1/query?query=" + url.QueryEscape("max_over_time(up[30d])"), "1h"},
		{"/prometheus/api/v1/query?query=up", "raw"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", ts.base+tt.path, nil)
		req.SetBasicAuth("admin", adminPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Vigie-Resolution"); resp.StatusCode != 200 || got != tt.want {
			t.Errorf("%s: %d, resolution %q, want %q", tt.path, resp.StatusCode, got, tt.want)
		}
	}
}

// What Grafana's Prometheus data source asks when it is added ("Save &
// test": a POSTed instant query, the build information) and when its metric
// browser opens (metadata, exemplars), answered as Prometheus answers.
func TestGrafanaDataSourceCalls(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ln := listen(t)
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "gf", "check": map[string]any{"kind": "none"}}, nil)
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "gf", "name": "port", "check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": ln.Addr().(*net.TCPAddr).Port}, "interval": "1s"}, nil)

	form := url.Values{"query": {"1+1"}, "time": {strconv.FormatInt(time.Now().Unix(), 10)}}
	req, _ := http.NewRequest("POST", ts.base+"/prometheus/api/v1/query", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("admin", adminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Status string
		Data   struct {
			ResultType string
			Result     []any
		}
	}
	json.NewDecoder(resp.Body).Decode(&q)
	resp.Body.Close()
	if resp.StatusCode != 200 || q.Status != "success" || q.Data.ResultType != "scalar" || fmt.Sprint(q.Data.Result[1]) != "2" {
		t.Fatalf("Save & test query: %d %+v", resp.StatusCode, q)
	}
	var bi struct {
		Status string
		Data   map[string]string
	}
	if code := ts.admin("GET", "/prometheus/api/v1/status/buildinfo", nil, &bi); code != 200 || !strings.HasPrefix(bi.Data["version"], "2.") {
		t.Fatalf("buildinfo: %d %+v", code, bi)
	}
	var md struct {
		Status string
		Data   map[string][]map[string]string
	}
	waitFor(t, "metadata of the check's series", func() bool {
		ts.admin("GET", "/prometheus/api/v1/metadata", nil, &md)
		return len(md.Data["perfdata"]) == 1 && len(md.Data["vigie_service_state"]) == 1
	})
	if md.Data["perfdata"][0]["type"] != "gauge" || md.Data["vigie_service_state"][0]["help"] == "" {
		t.Fatalf("metadata: %+v", md.Data)
	}
	md.Data = nil
	ts.admin("GET", "/prometheus/api/v1/metadata?metric=perfdata", nil, &md)
	if len(md.Data) != 1 {
		t.Fatalf("metadata of one metric: %+v", md.Data)
	}
	var ex struct {
		Status string
		Data   []any
	}
	if code := ts.admin("GET", "/prometheus/api/v1/query_exemplars?query=perfdata", nil, &ex); code != 200 || ex.Status != "success" || ex.Data == nil {
		t.Fatalf("exemplars: %d %+v", code, ex)
	}
	if code := ts.call("GET", "/prometheus/api/v1/status/buildinfo", "", "", nil, nil); code != 401 {
		t.Fatalf("buildinfo without credentials: %d", code)
	}
}

// dashView is the part of a dashboard the tests read.
type dashView struct {
	Host   string `json:"host"`
	Groups []struct {
		Service   string `json:"service"`
		ServiceID int64  `json:"service_id"`
		Panels    []struct {
			Kind    string `json:"kind"`
			Title   string `json:"title"`
			Unit    string `json:"unit"`
			Queries []struct {
				Expr   string `json:"expr"`
				Legend string `json:"legend"`
			} `json:"queries"`
			StateQuery string `json:"state_query"`
			Thresholds []struct {
				Level string   `json:"level"`
				Value *float64 `json:"value"`
				Bound string   `json:"bound"`
			} `json:"thresholds"`
		} `json:"panels"`
	} `json:"groups"`
}

// summary writes a dashboard as "service: title [unit] legends thresholds"
// lines.
func (d dashView) summary() string {
	var out []string
	for _, g := range d.Groups {
		for _, p := range g.Panels {
			var legends, ths []string
			for _, q := range p.Queries {
				legends = append(legends, q.Legend)
			}
			for _, th := range p.Thresholds {
				if th.Value != nil {
					ths = append(ths, fmt.Sprintf("%s %s %g", th.Level, th.Bound, *th.Value))
				}
			}
			out = append(out, fmt.Sprintf("%s: %s %s [%s] %s %s", g.Service, p.Kind, p.Title, p.Unit, strings.Join(legends, ","), strings.Join(ths, ",")))
		}
	}
	return strings.Join(out, "\n")
}

// TestHostDashboard: a host with a TCP service and an exec service printing
// several perfdata values gets one panel per metric family, grouped by
// service, with thresholds, from what the store holds.
func TestHostDashboard(t *testing.T) {
	ts := startServer(t, t.TempDir(), "")
	ln := listen(t)
	ts.admin("POST", "/api/v1/hosts", map[string]any{"name": "dash", "domain": "system", "check": map[string]any{"kind": "none"}}, nil)
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "dash", "name": "port", "check": map[string]any{"kind": "tcp", "address": "127.0.0.1", "port": ln.Addr().(*net.TCPAddr).Port}, "interval": "1s"}, nil)
	ts.admin("POST", "/api/v1/services", map[string]any{"host": "dash", "name": "multi", "interval": "1s",
		"check": map[string]any{"kind": "exec", "command": "/bin/echo", "args": []string{"OK | a=1ms;5;10 b=2ms;5;10 c=50%;80;90"}}}, nil)

	want := strings.Join([]string{
		"multi: metric a, b [ms] a,b warning upper 5,critical upper 10",
		"multi: metric c [%] c warning upper 80,critical upper 90",
		"multi: checks Check duration and state [s] duration ",
		"port: metric time [s] time ",
		"port: checks Check duration and state [s] duration ",
	}, "\n")
	var d dashView
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		d = dashView{}
		ts.admin("GET", "/api/v1/hosts/dash/dashboard?range=1h", nil, &d)
		if d.summary() == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dashboard:\n%s\nwant\n%s", d.summary(), want)
		}
	}
	if d.Groups[0].ServiceID == 0 || d.Groups[0].Panels[2].StateQuery != `vigie_service_state{host="dash",service="multi"}` {
		t.Errorf("multi group: %+v", d.Groups[0])
	}

	// Every query answers through the Prometheus-compatible API.
	now := time.Now().Unix()
	for _, g := range d.Groups {
		for _, p := range g.Panels {
			for _, q := range p.Queries {
				var ans struct {
					Status string `json:"status"`
					Data   struct {
						Result []any `json:"result"`
					} `json:"data"`
				}
				ts.admin("GET", fmt.Sprintf("/prometheus/api/v1/query_range?query=%s&start=%d&end=%d&step=5", url.QueryEscape(q.Expr), now-60, now+5), nil, &ans)
				if ans.Status != "success" || len(ans.Data.Result) != 1 {
					t.Errorf("%s: %+v", q.Expr, ans)
				}
			}
		}
	}

	// Ranges: the picker's, up to a year; others are refused.
	for _, r := range []string{"6h", "24h", "7d", "30d", "90d", "1y"} {
		var dd dashView
		if code := ts.admin("GET", "/api/v1/hosts/dash/dashboard?range="+r, nil, &dd); code != 200 || dd.summary() != want {
			t.Errorf("range %s: %d\n%s", r, code, dd.summary())
		}
	}
	var e apiErr
	if code := ts.admin("GET", "/api/v1/hosts/dash/dashboard?range=forever", nil, &e); code != 400 || e.Error.Field != "range" {
		t.Errorf("bad range: %d %+v", code, e)
	}
	if code := ts.admin("GET", "/api/v1/hosts/nope/dashboard", nil, &e); code != 404 {
		t.Errorf("unknown host: %d", code)
	}

	// Domain scope: a manager of another domain does not see the host.
	ts.admin("POST", "/api/v1/users", map[string]any{"login": "netman", "password": "manager-pw-1", "role": "manager", "domains": []string{"network"}}, nil)
	if code := ts.call("GET", "/api/v1/hosts/dash/dashboard", "netman", "manager-pw-1", nil, nil); code != 404 {
		t.Errorf("a manager of another domain: %d, want 404", code)
	}
	ts.admin("POST", "/api/v1/users", map[string]any{"login": "sysman", "password": "manager-pw-1", "role": "manager", "domains": []string{"system"}}, nil)
	if code := ts.call("GET", "/api/v1/hosts/dash/dashboard", "sysman", "manager-pw-1", nil, nil); code != 200 {
		t.Errorf("a manager of the host's domain: %d", code)
	}
}
