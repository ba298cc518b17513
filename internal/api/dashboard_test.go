package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// perfs parses Nagios perfdata for the tests.
func perfs(t *testing.T, s string) []checks.Perf {
	t.Helper()
	p, err := checks.ParsePerfdata(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ser builds a label set from k=v pairs.
func ser(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// perfSeries is what the state engine writes for a perfdata value.
func perfSeries(host, svc, metric, unit string) map[string]string {
	name := "perfdata"
	if unit == "c" {
		name = "perfdata_total"
	}
	m := ser("__name__", name, "host", host, "metric", metric)
	if svc != "" {
		m["service"] = svc
	}
	if unit != "" {
		m["unit"] = unit
	}
	return m
}

func checkSeries(host, svc string) []map[string]string {
	if svc == "" {
		return []map[string]string{ser("__name__", "vigie_host_state", "host", host), ser("__name__", "vigie_check_duration_seconds", "host", host)}
	}
	return []map[string]string{ser("__name__", "vigie_service_state", "host", host, "service", svc), ser("__name__", "vigie_check_duration_seconds", "host", host, "service", svc)}
}

// panelView is a panel in a form easy to compare: title|unit|legends|thresholds.
func panelView(p DashPanel) string {
	var legends, ths []string
	for _, q := range p.Queries {
		legends = append(legends, q.Legend)
	}
	for _, t := range p.Thresholds {
		ths = append(ths, t.Text)
	}
	s := p.Title + "|" + p.Unit + "|" + strings.Join(legends, ",")
	if len(ths) > 0 {
		s += "|" + strings.Join(ths, "; ")
	}
	return s
}

func TestBuildDashboardGrouping(t *testing.T) {
	const h = "web1"
	tests := []struct {
		name    string
		sources []dashSource
		series  [][]map[string]string
		// want: group service → panel views, in order.
		want []string
	}{
		{
			name: "ping: round trips together, loss apart, thresholds as lines",
			sources: []dashSource{{Service: "ping", ID: 1, Interval: time.Minute,
				Perfdata: perfs(t, "rta=0.05ms;100;500;0 pl=0%;20;60;0 rtmax=0.1ms;;;0 rtmin=0.02ms;;;0")}},
			series: [][]map[string]string{
				{perfSeries(h, "ping", "rta", "ms"), perfSeries(h, "ping", "rtmin", "ms"), perfSeries(h, "ping", "rtmax", "ms"), perfSeries(h, "ping", "pl", "%")},
				checkSeries(h, "ping"),
			},
			want: []string{
				"ping: rta, rtmax, rtmin|ms|rta,rtmax,rtmin|warning above 100 (rta); critical above 500 (rta)",
				"ping: pl|%|pl|warning above 20; critical above 60",
				"ping: Check duration and state|s|duration",
			},
		},
		{
			name: "check_disk: mount points together",
			sources: []dashSource{{Service: "disk", ID: 2,
				Perfdata: perfs(t, "/=2643MB;3000;3500;0;4000 /boot=68MB;80;90;0;100 /var=100MB;3000;3500;0;4000")}},
			series: [][]map[string]string{{perfSeries(h, "disk", "/var", "MB"), perfSeries(h, "disk", "/", "MB"), perfSeries(h, "disk", "/boot", "MB")}},
			want: []string{
				"disk: /, /boot, /var|MB|/,/boot,/var|warning above 3000 (/, /var); warning above 80 (/boot); critical above 3500 (/, /var); critical above 90 (/boot)",
			},
		},
		{
			name:    "load: unitless values together",
			sources: []dashSource{{Service: "load", ID: 3, Perfdata: perfs(t, "load1=0.5;4;8;0 load5=0.4;4;8;0 load15=0.3;4;8;0")}},
			series:  [][]map[string]string{{perfSeries(h, "load", "load15", ""), perfSeries(h, "load", "load1", ""), perfSeries(h, "load", "load5", "")}},
			want:    []string{"load: load1, load5, load15||load1,load5,load15|warning above 4; critical above 8"},
		},
		{
			name:    "exec with multi-value perfdata: same unit together",
			sources: []dashSource{{Service: "echo", ID: 4, Perfdata: perfs(t, "a=1ms;5;10 b=2ms;5;10 c=50%;80;90")}},
			series:  [][]map[string]string{{perfSeries(h, "echo", "a", "ms"), perfSeries(h, "echo", "b", "ms"), perfSeries(h, "echo", "c", "%")}},
			want: []string{
				"echo: a, b|ms|a,b|warning above 5; critical above 10",
				"echo: c|%|c|warning above 80; critical above 90",
			},
		},
		{
			name:    "counters are rates; their thresholds are text",
			sources: []dashSource{{Service: "if", ID: 5, Perfdata: perfs(t, "in=1000c;5000;9000 out=2000c")}},
			series:  [][]map[string]string{{perfSeries(h, "if", "in", "c"), perfSeries(h, "if", "out", "c")}},
			want:    []string{"if: in, out|/s|in,out|warning above 5000 on the counter (in); critical above 9000 on the counter (in)"},
		},
		{
			name:    "complex ranges are text, lower bounds are lines",
			sources: []dashSource{{Service: "temp", ID: 6, Perfdata: perfs(t, "t=21;@18:25;10:30 free=40%;20:;10:")}},
			series:  [][]map[string]string{{perfSeries(h, "temp", "t", ""), perfSeries(h, "temp", "free", "%")}},
			want: []string{
				"temp: t||t|warning inside 18..25; critical outside 10..30",
				"temp: free|%|free|warning below 20; critical below 10",
			},
		},
		{
			name:    "host check and series from elsewhere",
			sources: []dashSource{{Perfdata: perfs(t, "rta=1ms;100;500")}, {Service: "ssh", ID: 7}},
			series: [][]map[string]string{
				{perfSeries(h, "", "rta", "ms")},
				checkSeries(h, ""),
				{ser("__name__", "node_network_receive_bytes_total", "host", h, "device", "eth0"), ser("__name__", "node_network_receive_bytes_total", "host", h, "device", "lo")},
				{ser("__name__", "node_load1", "host", h, "job", "node")},
				{ser("__name__", "snmp_temp_celsius", "host", h, "service", "snmp")},
				{ser("__name__", "perfdata", "host", "other", "service", "ssh", "metric", "x")},
			},
			want: []string{
				": rta|ms|rta|warning above 100; critical above 500",
				": node_load1||node_load1",
				": node_network_receive_bytes_total|B/s|eth0,lo",
				": Check duration and state|s|duration",
				"ssh: (no panels)",
				"snmp: snmp_temp_celsius|°C|snmp_temp_celsius",
			},
		},
		{
			name:    "a host without a check has no checks panel",
			sources: []dashSource{{Kind: "none"}, {Service: "ssh", ID: 7, Kind: "tcp"}},
			series:  [][]map[string]string{checkSeries(h, ""), checkSeries(h, "ssh")},
			want:    []string{"ssh: Check duration and state|s|duration"},
		},
		{
			name:    "a family of many series keeps 24 lines",
			sources: []dashSource{{Service: "many", ID: 8}},
			series: [][]map[string]string{func() []map[string]string {
				var out []map[string]string
				for i := 0; i < 30; i++ {
					out = append(out, perfSeries(h, "many", string(rune('A'+i)), "B"))
				}
				return out
			}()},
			want: []string{"many: A, B, C and 27 more|B|A,B,C,D,E,F,G,H,I,J,K,L,M,N,O,P,Q,R,S,T,U,V,W,X|+6"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var series []map[string]string
			for _, s := range tc.series {
				series = append(series, s...)
			}
			groups := buildDashboard(h, tc.sources, series)
			var got []string
			for _, g := range groups {
				if len(g.Panels) == 0 {
					got = append(got, g.Service+": (no panels)")
				}
				for _, p := range g.Panels {
					v := g.Service + ": " + panelView(p)
					if p.Omitted > 0 {
						v += "|+" + itoa(p.Omitted)
					}
					got = append(got, v)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("panels:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tc.want, "\n     "))
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestDashboardQueries(t *testing.T) {
	src := []dashSource{{Service: "svc", ID: 1, Interval: 5 * time.Minute, Perfdata: perfs(t, "in=10c load=1 a=1ms;5;10")}}
	series := append([]map[string]string{perfSeries("h", "svc", "in", "c"), perfSeries("h", "svc", "load", ""), perfSeries("h", "svc", "a", "ms")}, checkSeries("h", "svc")...)
	groups := buildDashboard("h", src, series)
	if len(groups) != 1 || len(groups[0].Panels) != 4 {
		t.Fatalf("groups: %+v", groups)
	}
	var exprs []string
	for _, p := range groups[0].Panels {
		for _, q := range p.Queries {
			exprs = append(exprs, q.Expr)
		}
		if p.StateQuery != "" {
			exprs = append(exprs, "state "+p.StateQuery)
		}
		if p.MinWindowSeconds != 600 {
			t.Errorf("%s: min window %d, want two check intervals", p.ID, p.MinWindowSeconds)
		}
	}
	want := []string{
		`rate(perfdata_total{host="h",metric="in",service="svc",unit="c"}[$window])`,
		`perfdata{host="h",metric="load",service="svc",unit=""}`,
		`perfdata{host="h",metric="a",service="svc",unit="ms"}`,
		`vigie_check_duration_seconds{host="h",service="svc"}`,
		`state vigie_service_state{host="h",service="svc"}`,
	}
	if strings.Join(exprs, "\n") != strings.Join(want, "\n") {
		t.Errorf("queries:\n%s", strings.Join(exprs, "\n"))
	}
	p := groups[0].Panels[2]
	if p.Counter || p.Thresholds[0].Value == nil || *p.Thresholds[0].Value != 5 || p.Thresholds[0].Bound != "upper" || p.Thresholds[1].Level != "critical" {
		t.Errorf("thresholds of a: %+v", p.Thresholds)
	}
	if c := groups[0].Panels[0]; !c.Counter || c.Unit != "/s" {
		t.Errorf("counter panel: %+v", c)
	}
}

func TestParseSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "1y": 365 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, ok := parseSpan(in); !ok || got != want {
			t.Errorf("%s: %v %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "x", "0d", "-1h", "1q"} {
		if _, ok := parseSpan(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

// The host's own panels never read a service's series of the same name.
func TestDashboardHostQueries(t *testing.T) {
	src := []dashSource{{Kind: "icmp", Perfdata: perfs(t, "rta=1ms;100;500")}, {Service: "port", ID: 1}}
	series := append([]map[string]string{perfSeries("h", "", "rta", "ms"), perfSeries("h", "port", "time", "s")}, checkSeries("h", "")...)
	groups := buildDashboard("h", src, series)
	var exprs []string
	for _, p := range groups[0].Panels {
		for _, q := range p.Queries {
			exprs = append(exprs, q.Expr)
		}
		if p.StateQuery != "" {
			exprs = append(exprs, p.StateQuery)
		}
	}
	want := `perfdata{host="h",metric="rta",service="",unit="ms"} vigie_check_duration_seconds{host="h",service=""} vigie_host_state{host="h",service=""}`
	if got := strings.Join(exprs, " "); got != want {
		t.Errorf("host queries:\n got %s\nwant %s", got, want)
	}
}
