package app

import (
	"fmt"
	"net"
	"net/url"
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
