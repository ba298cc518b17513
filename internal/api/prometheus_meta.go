package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigie-monitoring/vigie/internal/metrics"
)

// Endpoints Grafana's Prometheus data source calls besides the queries:
// build information (to pick its query features), metric metadata (for its
// metric browser) and exemplars (which vigie has none of).

// promCompatVersion is the Prometheus version whose query API vigie
// answers like; Grafana reads it to choose what it may ask.
const promCompatVersion = "2.42.0"

func (s *Server) promBuildInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, promAnswer{Status: "success", Data: map[string]string{
		"version": promCompatVersion, "revision": "vigie-" + s.opts.Version, "branch": "", "buildUser": "", "buildDate": "", "goVersion": "",
	}})
}

// metricHelp describes the series vigie writes itself.
var metricHelp = map[string]string{
	"perfdata":                     "Performance data of checks and plugins (labels host, service, metric, unit).",
	"perfdata_total":               "Counters in the performance data of checks and plugins (unit c).",
	"vigie_service_state":          "State of a service: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
	"vigie_host_state":             "State of a host: 0 UP, 1 DOWN, 2 UNREACHABLE.",
	"vigie_check_duration_seconds": "How long a check took.",
}

func (s *Server) promMetadata(w http.ResponseWriter, r *http.Request) {
	end := time.Now()
	names, err := s.opts.Metrics.LabelValues(r.Context(), "__name__", end.Add(-24*time.Hour), end)
	if err != nil {
		s.promErr(w, err)
		return
	}
	only := r.URL.Query().Get("metric")
	limit := -1
	if v := r.URL.Query().Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			limit = n
		}
	}
	out := map[string][]map[string]string{}
	for _, n := range names {
		if (only != "" && n != only) || (limit >= 0 && len(out) >= limit) {
			continue
		}
		typ := "gauge"
		if metrics.IsCounter(n) {
			typ = "counter"
		}
		out[n] = []map[string]string{{"type": typ, "help": metricHelp[n], "unit": ""}}
	}
	writeJSON(w, http.StatusOK, promAnswer{Status: "success", Data: out})
}

func (s *Server) promExemplars(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, promAnswer{Status: "success", Data: []any{}})
}
