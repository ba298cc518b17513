package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// A host's dashboard is built from the series the time-series store holds
// for it (every series labelled host="<name>", whatever wrote it: checks,
// remote write, agents, SNMP), grouped by their service label, one panel
// per metric family: within a service, the series of one metric name and
// unit. Thresholds come from the services' current perfdata.

const (
	// maxDashSeries bounds the series one dashboard reads.
	maxDashSeries = 5000
	// maxPanelSeries bounds the lines of one panel; the rest are counted.
	maxPanelSeries = 24
	// maxRange is the longest range a dashboard spans.
	maxRange = 5 * 366 * 24 * time.Hour
)

// Dashboard is a host's dashboard over a time range.
type Dashboard struct {
	Host   string      `json:"host"`
	HostID int64       `json:"host_id"`
	Start  time.Time   `json:"start"`
	End    time.Time   `json:"end"`
	Groups []DashGroup `json:"groups"`
	// Truncated is set when the host has more series than a dashboard
	// reads (maxDashSeries).
	Truncated bool `json:"truncated,omitempty"`
}

// DashGroup is the panels of one service; the host's own (host check and
// series without a service label) have an empty Service.
type DashGroup struct {
	Service   string      `json:"service"`
	ServiceID int64       `json:"service_id,omitempty"`
	Kind      string      `json:"kind,omitempty"`
	State     string      `json:"state,omitempty"`
	Panels    []DashPanel `json:"panels"`
}

// DashPanel is one chart: the series of one metric family.
type DashPanel struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"` // "metric" or "checks"
	Title string `json:"title"`
	// Metric is the series' name; Unit the unit of what is drawn ("/s"
	// appended for counters, which are drawn as rates).
	Metric  string `json:"metric"`
	Unit    string `json:"unit"`
	Counter bool   `json:"counter"`
	// Queries are PromQL expressions, one per line. Counters read
	// rate(...[$window]): the client puts a window of at least two steps
	// and at least MinWindowSeconds (two check intervals) in its place.
	Queries          []DashQuery `json:"queries"`
	MinWindowSeconds int         `json:"min_window_seconds"`
	// StateQuery, on "checks" panels, is the state series (0..3).
	StateQuery string          `json:"state_query,omitempty"`
	Thresholds []DashThreshold `json:"thresholds"`
	// Omitted counts the family's series beyond maxPanelSeries.
	Omitted int `json:"omitted,omitempty"`
}

// DashQuery is one line of a panel.
type DashQuery struct {
	Expr   string `json:"expr"`
	Legend string `json:"legend"`
}

// DashThreshold is a warning or critical range of the current perfdata.
// A simple bound (Nagios "10", "~:10" or "10:") has a Value and a Bound
// and is drawn as a line; any other range is only shown as Text.
type DashThreshold struct {
	Level string   `json:"level"` // "warning" or "critical"
	Range string   `json:"range"` // Nagios form
	Value *float64 `json:"value,omitempty"`
	Bound string   `json:"bound,omitempty"` // "upper" (alert above) or "lower" (alert below)
	// Series names the lines (legends) it applies to; absent, all of them.
	Series []string `json:"series,omitempty"`
	Text   string   `json:"text"`
}

// dashSource is what the builder knows of one check: the host check
// (Service "") or a service, with its current perfdata.
type dashSource struct {
	Service  string
	ID       int64
	Kind     string
	State    string
	Interval time.Duration
	Perfdata []checks.Perf
}

// Names of the series the state engine writes for every check.
const (
	seriesServiceState = "vigie_service_state"
	seriesHostState    = "vigie_host_state"
	seriesDuration     = "vigie_check_duration_seconds"
	seriesPerfdata     = "perfdata"
	seriesPerfCounter  = "perfdata_total"
)

// family is a metric name and unit within a service.
type family struct{ name, unit string }

// buildDashboard groups the host's series into panels. sources are the
// host check (Service "") and the host's services; series are the label
// sets the store holds for the host.
func buildDashboard(host string, sources []dashSource, series []map[string]string) []DashGroup {
	bySvc := map[string]dashSource{}
	for _, s := range sources {
		bySvc[s.Service] = s
	}
	fams, checksSeen := familiesOf(host, series)
	groups := []DashGroup{}
	for _, svc := range groupOrder(bySvc, fams, checksSeen) {
		src, known := bySvc[svc]
		g := DashGroup{Service: svc, ServiceID: src.ID, Kind: src.Kind, State: src.State, Panels: []DashPanel{}}
		// Two check intervals hold two samples, which rate() needs.
		minWindow := max(60, int((2 * src.Interval).Seconds()))
		if !known {
			minWindow = 120
		}
		perfIdx := map[string]int{}
		for i, p := range src.Perfdata {
			if _, ok := perfIdx[p.Label]; !ok {
				perfIdx[p.Label] = i
			}
		}
		g.Panels = append(g.Panels, familyPanels(svc, fams[svc], src.Perfdata, perfIdx, minWindow)...)
		// A host without a check ("none") is always UP: nothing to draw.
		if seen := checksSeen[svc]; seen != nil && src.Kind != "none" {
			g.Panels = append(g.Panels, checksPanel(host, svc, seen, minWindow))
		}
		if svc == "" && len(g.Panels) == 0 {
			continue
		}
		groups = append(groups, g)
	}
	return groups
}

// familiesOf sorts the host's series by service into families, apart from
// the state and duration series every check writes (checks panels).
func familiesOf(host string, series []map[string]string) (map[string]map[family][]map[string]string, map[string]map[string]bool) {
	fams := map[string]map[family][]map[string]string{}
	checksSeen := map[string]map[string]bool{}
	for _, ls := range series {
		name := ls["__name__"]
		if name == "" || ls["host"] != host {
			continue
		}
		svc := ls["service"]
		switch name {
		case seriesServiceState, seriesHostState, seriesDuration:
			if checksSeen[svc] == nil {
				checksSeen[svc] = map[string]bool{}
			}
			checksSeen[svc][name] = true
			continue
		}
		if fams[svc] == nil {
			fams[svc] = map[family][]map[string]string{}
		}
		k := family{name, ls["unit"]}
		fams[svc][k] = append(fams[svc][k], ls)
	}
	return fams, checksSeen
}

// groupOrder lists the groups: the host's own first, then the services in
// name order, then service labels no service of the host has (deleted
// services, or series from elsewhere).
func groupOrder(bySvc map[string]dashSource, fams map[string]map[family][]map[string]string, checksSeen map[string]map[string]bool) []string {
	names := map[string]bool{}
	for svc := range fams {
		names[svc] = true
	}
	for svc := range checksSeen {
		names[svc] = true
	}
	for svc := range bySvc {
		if svc != "" {
			names[svc] = true
		}
	}
	order := make([]string, 0, len(names))
	for n := range names {
		order = append(order, n)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if (a == "") != (b == "") {
			return a == ""
		}
		_, ka := bySvc[a]
		_, kb := bySvc[b]
		if ka != kb {
			return ka
		}
		return a < b
	})
	return order
}

// familyPanels builds a service's panels, in the order of its current
// perfdata, then the other families by name.
func familyPanels(svc string, fams map[family][]map[string]string, perf []checks.Perf, perfIdx map[string]int, minWindow int) []DashPanel {
	type built struct {
		p     DashPanel
		order int
	}
	var panels []built
	for k, members := range fams {
		p := familyPanel(svc, k.name, k.unit, members, perf, perfIdx)
		p.MinWindowSeconds = minWindow
		o := math.MaxInt
		if k.name == seriesPerfdata || k.name == seriesPerfCounter {
			o = math.MaxInt - 1
			for _, m := range members {
				if i, ok := perfIdx[m["metric"]]; ok && i < o {
					o = i
				}
			}
		}
		panels = append(panels, built{p, o})
	}
	sort.Slice(panels, func(i, j int) bool {
		if panels[i].order != panels[j].order {
			return panels[i].order < panels[j].order
		}
		return panels[i].p.ID < panels[j].p.ID
	})
	out := make([]DashPanel, len(panels))
	for i, b := range panels {
		out[i] = b.p
	}
	return out
}

// familyPanel builds the panel of one family: series of one name and unit
// within one service.
func familyPanel(svc, name, unit string, members []map[string]string, perf []checks.Perf, perfIdx map[string]int) DashPanel {
	isPerf := name == seriesPerfdata || name == seriesPerfCounter
	counter := name == seriesPerfCounter || metrics.IsCounter(name)
	// Legends: the labels that tell the members apart.
	legends := legendsOf(name, members)
	idx := make([]int, len(members))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ma, mb := members[idx[a]], members[idx[b]]
		if isPerf {
			ia, oka := perfIdx[ma["metric"]]
			ib, okb := perfIdx[mb["metric"]]
			if oka != okb {
				return oka
			}
			if oka && ia != ib {
				return ia < ib
			}
		}
		return legends[idx[a]] < legends[idx[b]]
	})
	p := DashPanel{
		Kind:       "metric",
		Metric:     name,
		Counter:    counter,
		Queries:    []DashQuery{},
		Thresholds: []DashThreshold{},
	}
	shown := idx
	if len(shown) > maxPanelSeries {
		p.Omitted = len(shown) - maxPanelSeries
		shown = shown[:maxPanelSeries]
	}
	var titles []string
	for _, i := range shown {
		expr := selector(members[i], isPerf)
		if counter {
			expr = "rate(" + expr + "[$window])"
		}
		p.Queries = append(p.Queries, DashQuery{Expr: expr, Legend: legends[i]})
		titles = append(titles, legends[i])
	}
	// Units: perfdata carry theirs; other series say it in their name.
	base := unit
	if isPerf {
		if base == "c" {
			base = ""
		}
	} else if base == "" {
		base = unitFromName(name)
	}
	p.Unit = base
	if counter {
		p.Unit = base + "/s"
	}
	if isPerf {
		switch {
		case len(titles) <= 4:
			p.Title = strings.Join(titles, ", ")
		default:
			p.Title = strings.Join(titles[:3], ", ") + fmt.Sprintf(" and %d more", len(members)-3)
		}
	} else {
		p.Title = name
	}
	p.ID = svc + "/" + name + "/" + unit
	if isPerf {
		var legendsShown []string
		var perfs []*checks.Perf
		for _, i := range shown {
			j, ok := perfIdx[members[i]["metric"]]
			if !ok {
				continue
			}
			pf := perf[j]
			// The current perfdata must be of this family (same unit).
			if pf.Unit != unit {
				continue
			}
			legendsShown = append(legendsShown, legends[i])
			perfs = append(perfs, &pf)
		}
		p.Thresholds = thresholdsOf(perfs, legendsShown, len(shown), counter)
	}
	return p
}

// checksPanel is the check duration of a service (or of the host check)
// with its state series.
func checksPanel(host, svc string, seen map[string]bool, minWindow int) DashPanel {
	l := map[string]string{"host": host, "service": svc}
	p := DashPanel{
		ID: svc + "/checks", Kind: "checks", Title: "Check duration and state", Metric: seriesDuration, Unit: "s",
		Queries: []DashQuery{}, Thresholds: []DashThreshold{}, MinWindowSeconds: minWindow,
	}
	if seen[seriesDuration] {
		l["__name__"] = seriesDuration
		p.Queries = append(p.Queries, DashQuery{Expr: selector(l, true), Legend: "duration"})
	}
	stateName := seriesServiceState
	if svc == "" {
		stateName = seriesHostState
	}
	if seen[stateName] {
		l["__name__"] = stateName
		if svc == "" {
			delete(l, "service")
		}
		p.StateQuery = selector(l, false)
	}
	if len(p.Queries) == 0 {
		p.Title = "State"
	}
	return p
}

// legendsOf names each member by the labels that tell them apart: the
// perfdata label for perfdata, else the varying labels as k=v.
func legendsOf(name string, members []map[string]string) []string {
	skip := map[string]bool{"__name__": true, "host": true, "service": true, "unit": true}
	vary := map[string]bool{}
	if len(members) > 1 {
		for k := range allKeys(members) {
			if skip[k] {
				continue
			}
			first, has := members[0][k]
			for _, m := range members[1:] {
				v, ok := m[k]
				if ok != has || v != first {
					vary[k] = true
					break
				}
			}
		}
	}
	keys := make([]string, 0, len(vary))
	for k := range vary {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(members))
	for i, m := range members {
		switch {
		case len(keys) == 1:
			out[i] = m[keys[0]]
		case len(keys) > 1:
			parts := make([]string, 0, len(keys))
			for _, k := range keys {
				parts = append(parts, k+"="+m[k])
			}
			out[i] = strings.Join(parts, " ")
		case m["metric"] != "":
			out[i] = m["metric"]
		default:
			out[i] = name
		}
	}
	return out
}

func allKeys(ms []map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

// selector writes an exact PromQL selector of a label set. A missing
// service label is matched as absent, so that the host's own series never
// read a service's; with emptyUnit, so is a missing unit, so that a
// unitless family never reads a series with a unit.
func selector(ls map[string]string, emptyUnit bool) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	if _, ok := ls["unit"]; !ok && emptyUnit && (ls["__name__"] == seriesPerfdata || ls["__name__"] == seriesPerfCounter) {
		keys = append(keys, "unit")
	}
	// The host's own series never read a service's.
	if _, ok := ls["service"]; !ok {
		keys = append(keys, "service")
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(ls["__name__"])
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(ls[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// counterSuffix is what a counter's name ends with (metrics.IsCounter); a
// unit stands before it.
var counterSuffix = regexp.MustCompile(`_(total|count|sum|bucket)$`)

// nameUnits are the base-unit suffixes of Prometheus metric names.
var nameUnits = []struct{ suffix, unit string }{
	{"_seconds", "s"}, {"_bytes", "B"}, {"_bits", "bit"}, {"_percent", "%"},
	{"_celsius", "°C"}, {"_volts", "V"}, {"_watts", "W"}, {"_hertz", "Hz"},
}

// unitFromName reads the base unit in a Prometheus metric name.
func unitFromName(name string) string {
	n := counterSuffix.ReplaceAllString(name, "")
	for _, u := range nameUnits {
		if strings.HasSuffix(n, u.suffix) {
			return u.unit
		}
	}
	return ""
}

// thresholdsOf merges the warning and critical ranges of a panel's
// perfdata: one entry per level and range, naming the lines it applies to
// unless it applies to all of them. Ranges on a counter apply to its raw
// value, not to the rate drawn: they are only shown as text.
func thresholdsOf(perfs []*checks.Perf, legends []string, lines int, counter bool) []DashThreshold {
	out := []DashThreshold{}
	type key struct{ level, rng string }
	at := map[key]int{}
	for i, p := range perfs {
		for _, lv := range []struct {
			level string
			r     *checks.Range
		}{{"warning", p.Warn}, {"critical", p.Crit}} {
			if lv.r == nil {
				continue
			}
			k := key{lv.level, lv.r.String()}
			j, ok := at[k]
			if !ok {
				j = len(out)
				at[k] = j
				out = append(out, thresholdOf(lv.level, *lv.r, counter))
			}
			out[j].Series = append(out[j].Series, legends[i])
		}
	}
	for i := range out {
		if len(out[i].Series) == lines {
			out[i].Series = nil
		} else {
			out[i].Text += " (" + strings.Join(out[i].Series, ", ") + ")"
		}
	}
	// Warnings first.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level == "warning"
		}
		return false
	})
	return out
}

// thresholdOf reads one Nagios range: an upper bound ("10", "~:10") alerts
// above a line, a lower bound ("10:") below one; the rest is text.
func thresholdOf(level string, r checks.Range, counter bool) DashThreshold {
	t := DashThreshold{Level: level, Range: r.String()}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch {
	case !r.Inside && (r.Start == 0 || math.IsInf(r.Start, -1)) && !math.IsInf(r.End, 1):
		v := r.End
		t.Value, t.Bound, t.Text = &v, "upper", level+" above "+num(v)
	case !r.Inside && !math.IsInf(r.Start, -1) && math.IsInf(r.End, 1):
		v := r.Start
		t.Value, t.Bound, t.Text = &v, "lower", level+" below "+num(v)
	case r.Inside:
		t.Text = level + " inside " + rangeText(r)
	default:
		t.Text = level + " outside " + rangeText(r)
	}
	if counter && t.Value != nil {
		t.Value, t.Bound = nil, ""
		t.Text += " on the counter"
	}
	return t
}

func rangeText(r checks.Range) string {
	end := func(v float64) string {
		switch {
		case math.IsInf(v, -1):
			return "-∞"
		case math.IsInf(v, 1):
			return "∞"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return end(r.Start) + ".." + end(r.End)
}

// parseSpan reads a range such as 1h, 6h, 24h, 7d, 30d, 90d, 1y (or a Go
// duration).
func parseSpan(v string) (time.Duration, bool) {
	if len(v) >= 2 {
		if n, err := strconv.Atoi(v[:len(v)-1]); err == nil && n > 0 {
			switch v[len(v)-1] {
			case 'd':
				return time.Duration(n) * 24 * time.Hour, true
			case 'w':
				return time.Duration(n) * 7 * 24 * time.Hour, true
			case 'y':
				return time.Duration(n) * 365 * 24 * time.Hour, true
			}
		}
	}
	d, err := time.ParseDuration(v)
	return d, err == nil && d > 0
}

// hostDashboard answers GET /api/v1/hosts/{id}/dashboard?range=24h (or
// start and end).
func (s *Server) hostDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, err := s.lookupHost(ctx, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if s.opts.Metrics == nil {
		writeError(w, http.StatusNotFound, "not_found", "no time-series store")
		return
	}
	q := r.URL.Query()
	end, err := promTime(q.Get("end"), time.Now())
	if err != nil {
		s.writeErr(w, badField("end", "must be RFC 3339 or Unix seconds"))
		return
	}
	span := 24 * time.Hour
	if v := q.Get("range"); v != "" {
		d, ok := parseSpan(v)
		if !ok || d < time.Minute || d > maxRange {
			s.writeErr(w, badField("range", "must be a duration between 1m and 5y, such as 1h, 7d or 1y"))
			return
		}
		span = d
	}
	start, err := promTime(q.Get("start"), end.Add(-span))
	if err != nil || !start.Before(end) || end.Sub(start) > maxRange {
		s.writeErr(w, badField("start", "must be RFC 3339 or Unix seconds, before end, at most 5 years before"))
		return
	}
	svcs, err := store.AllServices(ctx, s.st, store.ServiceFilter{HostID: h.ID})
	if err != nil {
		s.writeErr(w, err)
		return
	}
	interval := func(d time.Duration) time.Duration {
		if d <= 0 {
			return s.opts.Defaults.Interval
		}
		return d
	}
	hst, _ := s.mon.Status(state.KindHost, h.ID)
	sources := []dashSource{{Interval: interval(h.Interval.D()), Perfdata: hst.Perfdata, State: state.StateName(state.KindHost, hst)}}
	if h.Check != nil {
		sources[0].Kind = h.Check.Kind()
	}
	for _, svc := range svcs {
		st, _ := s.mon.Status(state.KindService, svc.ID)
		src := dashSource{Service: svc.Name, ID: svc.ID, Interval: interval(svc.Interval.D()), Perfdata: st.Perfdata, State: state.StateName(state.KindService, st)}
		if svc.Check != nil {
			src.Kind = svc.Check.Kind()
		}
		sources = append(sources, src)
	}
	series, err := s.opts.Metrics.Series(ctx, []string{"{host=" + strconv.Quote(h.Name) + "}"}, start, end)
	if err != nil {
		s.metricsErr(w, err)
		return
	}
	d := Dashboard{Host: h.Name, HostID: h.ID, Start: start.UTC(), End: end.UTC()}
	if len(series) > maxDashSeries {
		// Keep the vigie-written series first: they make the checks'
		// panels, which matter most on a host page.
		slices.SortStableFunc(series, func(a, b map[string]string) int {
			pa, pb := vigieSeries(a), vigieSeries(b)
			switch {
			case pa && !pb:
				return -1
			case pb && !pa:
				return 1
			}
			return 0
		})
		series, d.Truncated = series[:maxDashSeries], true
	}
	d.Groups = buildDashboard(h.Name, sources, series)
	writeJSON(w, http.StatusOK, d)
}

func vigieSeries(ls map[string]string) bool {
	switch ls["__name__"] {
	case seriesPerfdata, seriesPerfCounter, seriesServiceState, seriesHostState, seriesDuration:
		return true
	}
	return false
}

// metricsErr answers a failure of the time-series store in the API's
// error form.
func (s *Server) metricsErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, metrics.ErrBadQuery):
		writeError(w, http.StatusBadRequest, "bad_query", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "timeout", "the time-series store did not answer in time")
	default:
		s.writeErr(w, err)
	}
}
