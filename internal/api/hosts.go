package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// statusView is the state part of a host or service answer.
type statusView struct {
	State              string        `json:"state"`
	StateType          string        `json:"state_type"`
	Attempt            int           `json:"attempt"`
	Output             string        `json:"output"`
	LongOutput         string        `json:"long_output"`
	Perfdata           []checks.Perf `json:"perfdata"`
	DurationSeconds    float64       `json:"duration_seconds"`
	LastCheck          *time.Time    `json:"last_check"`
	NextCheck          *time.Time    `json:"next_check"`
	LastStateChange    *time.Time    `json:"last_state_change"`
	Flapping           bool          `json:"flapping"`
	PercentStateChange float64       `json:"percent_state_change"`
	Unreachable        bool          `json:"unreachable"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func newStatusView(kind string, st state.Status) statusView {
	v := statusView{State: state.StateName(kind, st), Perfdata: st.Perfdata}
	if v.Perfdata == nil {
		v.Perfdata = []checks.Perf{}
	}
	if st.Checked {
		v.StateType = st.StateType
		v.Attempt = st.Attempt
		v.Output = st.Output
		v.LongOutput = st.LongOutput
		v.DurationSeconds = st.Duration.Seconds()
		v.LastCheck = timePtr(st.LastCheck)
		v.LastStateChange = timePtr(st.LastStateChange)
		v.Flapping = st.Flapping
		v.PercentStateChange = st.PercentStateChange
		v.Unreachable = st.Unreachable
	}
	v.NextCheck = timePtr(st.NextCheck)
	return v
}

type hostView struct {
	inventory.Host
	statusView
	Services map[string]int `json:"services"`
}

func (s *Server) hostView(h inventory.Host, counts map[int64]map[string]int) hostView {
	st, _ := s.mon.Status(state.KindHost, h.ID)
	h.SNMP = checks.RedactSNMP(h.SNMP) // secrets are written, never read back
	v := hostView{Host: h, statusView: newStatusView(state.KindHost, st)}
	if v.Groups == nil {
		v.Groups = []string{}
	}
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	v.Services = map[string]int{"OK": 0, "WARNING": 0, "CRITICAL": 0, "UNKNOWN": 0, "PENDING": 0}
	if counts == nil {
		counts = s.mon.ServiceStatesByHost()
	}
	for k, n := range counts[h.ID] {
		v.Services[k] = n
	}
	return v
}

// hostInput is a host as written by a client; absent fields keep their
// value on update.
type hostInput struct {
	Name          *string             `json:"name"`
	Address       *string             `json:"address"`
	Groups        *[]string           `json:"groups"`
	Tags          *map[string]string  `json:"tags"`
	Domain        *string             `json:"domain"`
	Location      *string             `json:"location"`
	Notes         *string             `json:"notes"`
	Check         *checks.Spec        `json:"check"`
	SNMP          *checks.Spec        `json:"snmp"`
	Interval      *inventory.Duration `json:"interval"`
	RetryInterval *inventory.Duration `json:"retry_interval"`
	MaxAttempts   *int                `json:"max_attempts"`
	Enabled       *bool               `json:"enabled"`
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// apply merges the input into h and validates the result.
func (in hostInput) apply(h *inventory.Host, d Defaults) error {
	setIf(&h.Name, in.Name)
	setIf(&h.Address, in.Address)
	setIf(&h.Groups, in.Groups)
	setIf(&h.Tags, in.Tags)
	setIf(&h.Domain, in.Domain)
	setIf(&h.Location, in.Location)
	setIf(&h.Notes, in.Notes)
	if in.Check != nil {
		h.Check = *in.Check
	}
	if in.SNMP != nil {
		// A secret sent back as the mask the API shows keeps its value.
		checks.KeepSNMPSecrets(*in.SNMP, h.SNMP)
		// The saved discovery is kept unless given: the settings form
		// does not carry it (discover with "every": "0s" removes it).
		if d, ok := h.SNMP["discover"]; ok && len(*in.SNMP) > 0 {
			if _, given := (*in.SNMP)["discover"]; !given {
				(*in.SNMP)["discover"] = d
			}
		}
		h.SNMP = *in.SNMP
		if len(h.SNMP) == 0 {
			h.SNMP = nil
		}
	}
	setIf(&h.Interval, in.Interval)
	setIf(&h.RetryInterval, in.RetryInterval)
	setIf(&h.MaxAttempts, in.MaxAttempts)
	setIf(&h.Enabled, in.Enabled)
	return validateHost(h, d)
}

// validateHost fills defaults and checks every field, naming the one at
// fault.
func validateHost(h *inventory.Host, d Defaults) error {
	if err := inventory.ValidName(h.Name); err != nil {
		return badField("name", "%v", err)
	}
	if len(h.Address) > 255 {
		return badField("address", "must be at most 255 characters")
	}
	for i, g := range h.Groups {
		if err := inventory.ValidName(g); err != nil {
			return badField("groups["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	if len(h.Tags) > 100 {
		return badField("tags", "at most 100 tags")
	}
	for _, f := range []struct{ name, v string }{{"domain", h.Domain}, {"location", h.Location}} {
		if len(f.v) > 200 {
			return badField(f.name, "must be at most 200 characters")
		}
	}
	if len(h.Notes) > 10000 {
		return badField("notes", "must be at most 10000 characters")
	}
	if err := checks.ValidateSNMPSettings(h.SNMP); err != nil {
		f, msg, _ := strings.Cut(err.Error(), ": ")
		return badField(f, "%s", msg)
	}
	if h.Interval == 0 {
		h.Interval = inventory.Duration(d.Interval)
	}
	if h.RetryInterval == 0 {
		h.RetryInterval = inventory.Duration(d.RetryInterval)
	}
	if h.MaxAttempts == 0 {
		h.MaxAttempts = d.MaxAttempts
	}
	return validateSchedule(h.Interval, h.RetryInterval, h.MaxAttempts, nil)
}

func validateSchedule(iv, retry inventory.Duration, max int, timeout *inventory.Duration) error {
	if iv.D() < time.Second || iv.D() > 24*time.Hour {
		return badField("interval", "must be between 1s and 24h")
	}
	if retry.D() < time.Second || retry.D() > 24*time.Hour {
		return badField("retry_interval", "must be between 1s and 24h")
	}
	if max < 1 || max > 100 {
		return badField("max_attempts", "must be between 1 and 100")
	}
	if timeout != nil && (timeout.D() < 100*time.Millisecond || timeout.D() > time.Hour) {
		return badField("timeout", "must be between 100ms and 1h")
	}
	return nil
}

// lookupHost finds a host by id or name.
// lookupHost finds a host by id or name; a host outside the caller's
// domains is not found, so its existence is not revealed either.
func (s *Server) lookupHost(ctx context.Context, ref string) (inventory.Host, error) {
	h, err := s.findHost(ctx, ref)
	if err == nil && !inScope(scopeOf(ctx), h.Domain) {
		return inventory.Host{}, fmt.Errorf("host %q: %w", ref, store.ErrNotFound)
	}
	return h, err
}

func (s *Server) findHost(ctx context.Context, ref string) (inventory.Host, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		h, err := s.st.GetHost(ctx, id)
		if err == nil {
			return h, nil
		}
	}
	return s.st.GetHostByName(ctx, ref)
}

func (s *Server) listHosts(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	q := r.URL.Query()
	f := store.HostFilter{Search: q.Get("search"), Group: q.Get("group"), Domain: q.Get("domain"), Name: q.Get("name"), Domains: scopeOf(r.Context()), Page: p}
	if v := q.Get("state"); v != "" {
		n, ok := state.ParseStateName(state.KindHost, v)
		if !ok {
			s.writeErr(w, badField("state", "must be UP, DOWN, UNREACHABLE or PENDING"))
			return
		}
		f.State = &n
	}
	f.Page.Limit++
	hosts, err := s.st.ListHosts(r.Context(), f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	hosts, next := pageOf(hosts, p.Limit, func(h inventory.Host) int64 { return h.ID })
	counts := s.mon.ServiceStatesByHost()
	items := make([]hostView, 0, len(hosts))
	for _, h := range hosts {
		items = append(items, s.hostView(h, counts))
	}
	writeJSON(w, http.StatusOK, list{Items: items, NextCursor: next})
}

func (s *Server) getHost(w http.ResponseWriter, r *http.Request) {
	h, err := s.lookupHost(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.hostView(h, nil))
}

func (s *Server) createHost(w http.ResponseWriter, r *http.Request) {
	var in hostInput
	if !decodeBody(w, r, &in) {
		return
	}
	h := inventory.Host{Enabled: true, Source: inventory.SourceAPI}
	if err := in.apply(&h, s.opts.Defaults); err != nil {
		s.writeErr(w, err)
		return
	}
	if h.Check != nil {
		if err := s.validateCheck(h.Check, h, true); err != nil {
			s.writeErr(w, err)
			return
		}
	}
	ctx := r.Context()
	if err := s.ensureGroups(ctx, h.Groups); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.CreateHost(ctx, &h); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.mon.HostChanged(h, true); err != nil {
		s.log.Warn("scheduling a new host", "host", h.Name, "err", err)
	}
	s.opts.Hub.Inventory(state.KindHost, h.ID, "create")
	s.applyTemplates(ctx, h)
	w.Header().Set("Location", "/api/v1/hosts/"+strconv.FormatInt(h.ID, 10))
	writeJSON(w, http.StatusCreated, s.hostView(h, nil))
}

func (s *Server) updateHost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, err := s.lookupHost(ctx, r.PathValue("id"))
	if err == nil {
		err = editable(h.Source)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var in hostInput
	if !decodeBody(w, r, &in) {
		return
	}
	oldAddress := h.Address
	if err := in.apply(&h, s.opts.Defaults); err != nil {
		s.writeErr(w, err)
		return
	}
	if h.Check != nil {
		if err := s.validateCheck(h.Check, h, true); err != nil {
			s.writeErr(w, err)
			return
		}
	}
	if err := s.ensureGroups(ctx, h.Groups); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.UpdateHost(ctx, &h); err != nil {
		s.writeErr(w, err)
		return
	}
	s.mon.HostChanged(h, true)
	if oldAddress != h.Address || in.Name != nil || in.SNMP != nil || in.Groups != nil {
		// Services take the host's address, name and SNMP settings (its
		// groups' templates give some): rebuild their checks.
		s.resyncServices(ctx, h)
	}
	s.opts.Hub.Inventory(state.KindHost, h.ID, "update")
	s.applyTemplates(ctx, h)
	writeJSON(w, http.StatusOK, s.hostView(h, nil))
}

// applyTemplates gives h the services of its groups' templates (it may
// have joined or left a group, or changed the settings they follow). A
// failure is logged: the host is saved, and the periodic pass retries.
func (s *Server) applyTemplates(ctx context.Context, h inventory.Host) {
	if _, err := s.ApplyTemplates(ctx, h); err != nil {
		s.log.Warn("applying host group SNMP templates", "host", h.Name, "err", err)
	}
}

func (s *Server) resyncServices(ctx context.Context, h inventory.Host) {
	svcs, err := store.AllServices(ctx, s.st, store.ServiceFilter{HostID: h.ID})
	if err != nil {
		s.log.Error("listing services to reschedule", "host", h.Name, "err", err)
		return
	}
	for _, svc := range svcs {
		svc.HostName = h.Name
		if err := s.mon.ServiceChanged(svc, h, false); err != nil {
			s.log.Warn("rescheduling a service", "service", svc.Name, "err", err)
		}
	}
}

func (s *Server) deleteHost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, err := s.lookupHost(ctx, r.PathValue("id"))
	if err == nil {
		err = editable(h.Source)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	svcs, err := store.AllServices(ctx, s.st, store.ServiceFilter{HostID: h.ID})
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.DeleteHost(ctx, h.ID); err != nil {
		s.writeErr(w, err)
		return
	}
	ids := make([]int64, len(svcs))
	for i, svc := range svcs {
		ids[i] = svc.ID
	}
	s.mon.HostRemoved(h.ID, ids)
	s.opts.Hub.Inventory(state.KindHost, h.ID, "delete")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) hostServices(w http.ResponseWriter, r *http.Request) {
	h, err := s.lookupHost(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.serveServiceList(w, r, store.ServiceFilter{HostID: h.ID})
}

func (s *Server) hostHistory(w http.ResponseWriter, r *http.Request) {
	h, err := s.lookupHost(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.serveHistory(w, r, state.KindHost, h.ID)
}

func (s *Server) checkHostNow(w http.ResponseWriter, r *http.Request) {
	h, err := s.lookupHost(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.mon.RunNow(state.KindHost, h.ID)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "scheduled"})
}

// ensureGroups creates the host groups a host names that do not exist yet,
// so that a host can be filed in a new group in one step.
func (s *Server) ensureGroups(ctx context.Context, groups []string) error {
	for _, g := range groups {
		if _, err := s.st.GetHostGroupByName(ctx, g); err == nil {
			continue
		}
		hg := inventory.HostGroup{Name: g, Source: inventory.SourceAPI}
		if err := s.st.CreateHostGroup(ctx, &hg); err != nil && !isConflict(err) {
			return err
		}
	}
	return nil
}

func isConflict(err error) bool { return err != nil && errors.Is(err, store.ErrConflict) }

// history

type changeView struct {
	State     string     `json:"state"`
	StateType string     `json:"state_type"`
	Output    string     `json:"output"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end"`
}

func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request, kind string, id int64) {
	q := r.URL.Query()
	to := time.Now().UTC().Add(time.Minute)
	from := to.Add(-30 * 24 * time.Hour)
	var err error
	if v := q.Get("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			s.writeErr(w, badField("from", "must be an RFC 3339 time"))
			return
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			s.writeErr(w, badField("to", "must be an RFC 3339 time"))
			return
		}
	}
	if !from.Before(to) {
		s.writeErr(w, badField("from", "must be before to"))
		return
	}
	limit := 500
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 5000 {
			s.writeErr(w, badField("limit", "must be between 1 and 5000"))
			return
		}
	}
	changes, err := s.st.ListChanges(r.Context(), kind, id, from, to, limit)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	items := make([]changeView, 0, len(changes))
	for _, c := range changes {
		st := state.Status{Checked: true, State: c.State}
		items = append(items, changeView{State: state.StateName(kind, st), StateType: c.StateType, Output: c.Output, Start: c.Start.UTC(), End: c.End})
	}
	writeJSON(w, http.StatusOK, list{Items: items})
}
