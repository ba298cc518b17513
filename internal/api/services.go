package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

type serviceView struct {
	inventory.Service
	statusView
}

func (s *Server) serviceView(svc inventory.Service) serviceView {
	st, _ := s.mon.Status(state.KindService, svc.ID)
	if strings.HasPrefix(svc.Check.Kind(), "snmp") {
		// Communities and v3 keys are written, never read back.
		svc.Check = checks.RedactSNMP(svc.Check)
	}
	return serviceView{Service: svc, statusView: newStatusView(state.KindService, st)}
}

// serviceInput is a service as written by a client; absent fields keep
// their value on update. Host is a host name or id.
type serviceInput struct {
	Host          *json.RawMessage    `json:"host"`
	Name          *string             `json:"name"`
	Check         *checks.Spec        `json:"check"`
	Interval      *inventory.Duration `json:"interval"`
	RetryInterval *inventory.Duration `json:"retry_interval"`
	MaxAttempts   *int                `json:"max_attempts"`
	Timeout       *inventory.Duration `json:"timeout"`
	Enabled       *bool               `json:"enabled"`
}

// resolveHost finds the host a service input names.
func (s *Server) resolveHost(ctx context.Context, raw json.RawMessage) (inventory.Host, error) {
	var ref string
	var id int64
	switch {
	case json.Unmarshal(raw, &ref) == nil:
	case json.Unmarshal(raw, &id) == nil:
		ref = strconv.FormatInt(id, 10)
	default:
		return inventory.Host{}, badField("host", "must be a host name or id")
	}
	h, err := s.lookupHost(ctx, ref)
	if err != nil {
		return h, badField("host", "no host %q", ref)
	}
	return h, nil
}

func (in serviceInput) apply(svc *inventory.Service, d Defaults) error {
	setIf(&svc.Name, in.Name)
	if in.Check != nil {
		svc.Check = *in.Check
	}
	setIf(&svc.Interval, in.Interval)
	setIf(&svc.RetryInterval, in.RetryInterval)
	setIf(&svc.MaxAttempts, in.MaxAttempts)
	setIf(&svc.Timeout, in.Timeout)
	setIf(&svc.Enabled, in.Enabled)
	if err := inventory.ValidName(svc.Name); err != nil {
		return badField("name", "%v", err)
	}
	if svc.Interval == 0 {
		svc.Interval = inventory.Duration(d.Interval)
	}
	if svc.RetryInterval == 0 {
		svc.RetryInterval = inventory.Duration(d.RetryInterval)
	}
	if svc.MaxAttempts == 0 {
		svc.MaxAttempts = d.MaxAttempts
	}
	if svc.Timeout == 0 {
		svc.Timeout = inventory.Duration(d.Timeout)
	}
	return validateSchedule(svc.Interval, svc.RetryInterval, svc.MaxAttempts, &svc.Timeout)
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	var f store.ServiceFilter
	if ref := r.URL.Query().Get("host"); ref != "" {
		h, err := s.lookupHost(r.Context(), ref)
		if err != nil {
			s.writeErr(w, badField("host", "no host %q", ref))
			return
		}
		f.HostID = h.ID
	}
	s.serveServiceList(w, r, f)
}

func (s *Server) serveServiceList(w http.ResponseWriter, r *http.Request, f store.ServiceFilter) {
	p, err := page(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	f.Page = p
	f.Domains = scopeOf(r.Context())
	q := r.URL.Query()
	f.Kind = q.Get("kind")
	f.Name = q.Get("name")
	f.Template = q.Get("template")
	if v := q.Get("state"); v != "" {
		n, ok := state.ParseStateName(state.KindService, v)
		if !ok {
			s.writeErr(w, badField("state", "must be OK, WARNING, CRITICAL, UNKNOWN or PENDING"))
			return
		}
		f.State = &n
	}
	f.Page.Limit++
	svcs, err := s.st.ListServices(r.Context(), f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	svcs, next := pageOf(svcs, p.Limit, func(s inventory.Service) int64 { return s.ID })
	items := make([]serviceView, 0, len(svcs))
	for _, svc := range svcs {
		items = append(items, s.serviceView(svc))
	}
	writeJSON(w, http.StatusOK, list{Items: items, NextCursor: next})
}

func (s *Server) lookupService(ctx context.Context, ref string) (inventory.Service, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return inventory.Service{}, fmt.Errorf("service %q: %w", ref, store.ErrNotFound)
	}
	svc, err := s.st.GetService(ctx, id)
	if err != nil {
		return svc, err
	}
	if scope := scopeOf(ctx); scope != nil {
		if h, err := s.st.GetHost(ctx, svc.HostID); err != nil || !inScope(scope, h.Domain) {
			return inventory.Service{}, fmt.Errorf("service %q: %w", ref, store.ErrNotFound)
		}
	}
	return svc, nil
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) {
	svc, err := s.lookupService(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.serviceView(svc))
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request) {
	var in serviceInput
	if !decodeBody(w, r, &in) {
		return
	}
	ctx := r.Context()
	if in.Host == nil {
		s.writeErr(w, badField("host", "is required"))
		return
	}
	h, err := s.resolveHost(ctx, *in.Host)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	svc := inventory.Service{HostID: h.ID, HostName: h.Name, Enabled: true, Source: inventory.SourceAPI}
	if err := in.apply(&svc, s.opts.Defaults); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.validateCheck(svc.Check, h, false); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.CreateService(ctx, &svc); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.mon.ServiceChanged(svc, h, true); err != nil {
		s.log.Warn("scheduling a new service", "service", svc.Name, "err", err)
	}
	s.opts.Hub.Inventory(state.KindService, svc.ID, "create")
	w.Header().Set("Location", "/api/v1/services/"+strconv.FormatInt(svc.ID, 10))
	writeJSON(w, http.StatusCreated, s.serviceView(svc))
}

func (s *Server) updateService(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	svc, err := s.lookupService(ctx, r.PathValue("id"))
	if err == nil {
		err = editable(svc.Source)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var in serviceInput
	if !decodeBody(w, r, &in) {
		return
	}
	h, err := s.st.GetHost(ctx, svc.HostID)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if in.Host != nil {
		if h, err = s.resolveHost(ctx, *in.Host); err != nil {
			s.writeErr(w, err)
			return
		}
		svc.HostID, svc.HostName = h.ID, h.Name
	}
	stored := svc.Check
	if err := in.apply(&svc, s.opts.Defaults); err != nil {
		s.writeErr(w, err)
		return
	}
	// A secret sent back as the mask the API shows keeps its value.
	checks.KeepSNMPSecrets(svc.Check, stored)
	if err := s.validateCheck(svc.Check, h, false); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.UpdateService(ctx, &svc); err != nil {
		s.writeErr(w, err)
		return
	}
	s.mon.ServiceChanged(svc, h, true)
	s.opts.Hub.Inventory(state.KindService, svc.ID, "update")
	writeJSON(w, http.StatusOK, s.serviceView(svc))
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	svc, err := s.lookupService(ctx, r.PathValue("id"))
	if err == nil {
		err = editable(svc.Source)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.DeleteService(ctx, svc.ID); err != nil {
		s.writeErr(w, err)
		return
	}
	s.mon.ServiceRemoved(svc.ID)
	s.opts.Hub.Inventory(state.KindService, svc.ID, "delete")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serviceHistory(w http.ResponseWriter, r *http.Request) {
	svc, err := s.lookupService(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.serveHistory(w, r, state.KindService, svc.ID)
}

func (s *Server) checkServiceNow(w http.ResponseWriter, r *http.Request) {
	svc, err := s.lookupService(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.mon.RunNow(state.KindService, svc.ID)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "scheduled"})
}

// overview

type overview struct {
	Hosts        map[string]int `json:"hosts"`
	Services     map[string]int `json:"services"`
	Problems     []serviceView  `json:"problems"`
	HostProblems []hostView     `json:"host_problems"`
}

// maxProblems bounds the overview's lists; the lists with filters give the
// rest.
const maxProblems = 200

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ov := overview{
		Hosts:        map[string]int{"UP": 0, "DOWN": 0, "UNREACHABLE": 0, "PENDING": 0},
		Services:     map[string]int{"OK": 0, "WARNING": 0, "CRITICAL": 0, "UNKNOWN": 0, "PENDING": 0},
		Problems:     []serviceView{},
		HostProblems: []hostView{},
	}
	scope := scopeOf(ctx)
	var visible map[string]map[int64]bool // kind -> ids, for a scoped user
	if scope != nil {
		var err error
		if visible, err = s.visibleObjects(ctx, scope); err != nil {
			s.writeErr(w, err)
			return
		}
	}
	for _, kind := range []string{state.KindHost, state.KindService} {
		if visible != nil {
			m := ov.Services
			if kind == state.KindHost {
				m = ov.Hosts
			}
			for id := range visible[kind] {
				st, _ := s.mon.Status(kind, id)
				m[state.StateName(kind, st)]++
			}
			continue
		}
		counts, err := s.st.CountStates(ctx, kind)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		m := ov.Services
		if kind == state.KindHost {
			m = ov.Hosts
		}
		for n, c := range counts {
			m[state.StateName(kind, state.Status{Checked: n >= 0, State: n})] += c
		}
	}
	var hostProblems []state.Status
	for _, st := range s.mon.Snapshot(state.KindHost) {
		if st.Checked && st.State != state.HostUp && (visible == nil || visible[state.KindHost][st.ObjectID]) {
			hostProblems = append(hostProblems, st)
		}
	}
	counts := s.mon.ServiceStatesByHost()
	for _, st := range hostProblems {
		if h, err := s.st.GetHost(ctx, st.ObjectID); err == nil && len(ov.HostProblems) < maxProblems {
			ov.HostProblems = append(ov.HostProblems, s.hostView(h, counts))
		}
	}
	var problems []state.Status
	for _, st := range s.mon.Snapshot(state.KindService) {
		if st.Checked && st.State != int(checks.OK) && (visible == nil || visible[state.KindService][st.ObjectID]) {
			problems = append(problems, st)
		}
	}
	// Worst first, then the longest-standing.
	sort.Slice(problems, func(i, j int) bool {
		a, b := problems[i], problems[j]
		if a.State != b.State {
			return checks.Worse(checks.State(a.State), checks.State(b.State))
		}
		return a.LastStateChange.Before(b.LastStateChange)
	})
	for _, st := range problems {
		if len(ov.Problems) >= maxProblems {
			break
		}
		if svc, err := s.st.GetService(ctx, st.ObjectID); err == nil {
			ov.Problems = append(ov.Problems, s.serviceView(svc))
		}
	}
	writeJSON(w, http.StatusOK, ov)
}

// visibleObjects lists the enabled hosts and services of the given domains.
func (s *Server) visibleObjects(ctx context.Context, scope []string) (map[string]map[int64]bool, error) {
	out := map[string]map[int64]bool{state.KindHost: {}, state.KindService: {}}
	hosts, err := store.AllHosts(ctx, s.st, store.HostFilter{Domains: scope})
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		if h.Enabled {
			out[state.KindHost][h.ID] = true
		}
	}
	on := true
	svcs, err := store.AllServices(ctx, s.st, store.ServiceFilter{Domains: scope, Enabled: &on})
	if err != nil {
		return nil, err
	}
	for _, svc := range svcs {
		out[state.KindService][svc.ID] = true
	}
	return out, nil
}
