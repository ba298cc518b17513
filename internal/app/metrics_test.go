package app

import (
	"bytes"
	"fmt"
	stdpng "image/png"
	"io"
	"net"
	"net/http"
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
