package app

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// vigie watches itself: when the disk of its data dir fills up, the
// time-series store stops taking samples and a "self" service says so
// (CRITICAL, naming the setting), which opens an alarm; once space is back,
// ingestion resumes and the service recovers.
func TestSelfCheckReportsAFullDisk(t *testing.T) {
	dir := testenv.SmallDisk(t, 96<<20)
	ts, self := selfServer(t, dir, "", "VIGIE_METRICS_MIN_FREE_BYTES=24000000")
	waitFor(t, "the self check OK", func() bool {
		s := self()
		return s.State == "OK" && strings.Contains(s.Output, "database ok") && strings.Contains(s.Output, "time-series store writing")
	})
	ballast := testenv.Fill(t, dir, 16<<20)
	waitFor(t, "the self check CRITICAL on a full disk", func() bool {
		s := self()
		return s.State == "CRITICAL" && strings.Contains(s.Output, "time-series ingestion stopped") && strings.Contains(s.Output, "metrics.min_free_bytes")
	})
	// The HARD change of the self service is an event like any other: the
	// full disk is an open alarm in the console.
	var alarms struct {
		Items []struct{ Output string }
	}
	waitFor(t, "an alarm for the full disk", func() bool {
		ts.admin("GET", "/api/v1/alarms?component=vigie&resource=self&status=open", nil, &alarms)
		return len(alarms.Items) == 1 && strings.Contains(alarms.Items[0].Output, "time-series ingestion stopped")
	})
	r, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	m := string(b)
	if !strings.Contains(m, "vigie_metrics_ingestion_stopped 1") || !strings.Contains(m, `vigie_metrics_samples_refused_total{reason="disk_full"}`) {
		t.Errorf("/metrics does not show the stop:\n%s", grepLines(m, "vigie_metrics_"))
	}
	os.Remove(ballast)
	waitFor(t, "the self check OK again", func() bool { return self().State == "OK" })
}

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A remote-write target that cannot be reached makes the self check WARNING,
// naming the target and what it answers, while its samples wait in the
// queue.
func TestSelfCheckReportsAFailingRemoteWrite(t *testing.T) {
	ln := listen(t)
	dead := ln.Addr().String()
	ln.Close()
	_, self := selfServer(t, t.TempDir(), `
metrics:
  remote_write:
    - name: faraway
      url: http://`+dead+`/api/v1/write
`)
	waitFor(t, "the self check WARNING", func() bool {
		s := self()
		return s.State == "WARNING" && strings.Contains(s.Output, "remote write faraway failing") &&
			strings.Contains(s.Output, "connection refused")
	})
}

// selfServer starts a server whose host "vigie" has a self service checked
// every second, and returns a function that reads that service.
func selfServer(t *testing.T, dir, yaml string, env ...string) (*testServer, func() svcView) {
	ts := startServer(t, dir, yaml+`
inventory:
  hosts:
    - name: vigie
      check: {kind: none}
      services:
        - name: self
          check: {kind: self}
          interval: 1s
          max_attempts: 1
`, env...)
	return ts, func() svcView {
		var svcs struct{ Items []svcView }
		ts.admin("GET", "/api/v1/services?host=vigie", nil, &svcs)
		if len(svcs.Items) != 1 {
			t.Fatalf("services of host vigie: %+v", svcs.Items)
		}
		return svcs.Items[0]
	}
}
