package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/store"
)

type hostGroupView struct {
	inventory.HostGroup
	Hosts int `json:"hosts"`
}

type hostGroupInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	// SNMPTemplate: absent keeps the group's template, null removes it.
	SNMPTemplate optTemplate `json:"snmp_template"`
}

func (s *Server) hostGroupView(ctx context.Context, g inventory.HostGroup) (hostGroupView, error) {
	n, err := s.countMembers(ctx, g.Name, scopeOf(ctx))
	g.SNMPTemplate = redactTemplate(g.SNMPTemplate) // secrets are written, never read back
	return hostGroupView{HostGroup: g, Hosts: n}, err
}

// countMembers counts a group's hosts within scope (nil: all of them; the
// checks before renaming or deleting a group always count them all).
func (s *Server) countMembers(ctx context.Context, name string, scope []string) (int, error) {
	hosts, err := store.AllHosts(ctx, s.st, store.HostFilter{Group: name, Domains: scope})
	return len(hosts), err
}

func (s *Server) lookupHostGroup(ctx context.Context, ref string) (inventory.HostGroup, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if g, err := s.st.GetHostGroup(ctx, id); err == nil {
			return g, nil
		}
	}
	return s.st.GetHostGroupByName(ctx, ref)
}

func (s *Server) listHostGroups(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	limit := p.Limit
	p.Limit++
	groups, err := s.st.ListHostGroups(r.Context(), store.HostGroupFilter{Name: r.URL.Query().Get("name"), Page: p})
	if err != nil {
		s.writeErr(w, err)
		return
	}
	groups, next := pageOf(groups, limit, func(g inventory.HostGroup) int64 { return g.ID })
	items := make([]hostGroupView, 0, len(groups))
	for _, g := range groups {
		v, err := s.hostGroupView(r.Context(), g)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		items = append(items, v)
	}
	writeJSON(w, http.StatusOK, list{Items: items, NextCursor: next})
}

func (s *Server) getHostGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.lookupHostGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	v, err := s.hostGroupView(r.Context(), g)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (in hostGroupInput) apply(g *inventory.HostGroup) error {
	setIf(&g.Name, in.Name)
	setIf(&g.Description, in.Description)
	if err := inventory.ValidName(g.Name); err != nil {
		return badField("name", "%v", err)
	}
	if len(g.Description) > 2000 {
		return badField("description", "must be at most 2000 characters")
	}
	if in.SNMPTemplate.set {
		t := in.SNMPTemplate.val
		if t != nil && g.SNMPTemplate != nil {
			checks.KeepSNMPSecrets(t.SNMP, g.SNMPTemplate.SNMP)
		} else if t != nil {
			checks.KeepSNMPSecrets(t.SNMP, nil)
		}
		if err := validateTemplate(t); err != nil {
			return err
		}
		g.SNMPTemplate = t
	}
	return nil
}

// templateSNMP is the settings of a group's template, if any.
func templateSNMP(g inventory.HostGroup) checks.Spec {
	if g.SNMPTemplate == nil {
		return nil
	}
	return g.SNMPTemplate.SNMP
}

func (s *Server) createHostGroup(w http.ResponseWriter, r *http.Request) {
	var in hostGroupInput
	if !decodeBody(w, r, &in) {
		return
	}
	g := inventory.HostGroup{Source: inventory.SourceAPI}
	if err := in.apply(&g); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.CreateHostGroup(r.Context(), &g); err != nil {
		s.writeErr(w, err)
		return
	}
	s.opts.Hub.Inventory("hostgroup", g.ID, "create")
	s.mon.SetGroupSNMP(g.Name, templateSNMP(g))
	if g.SNMPTemplate != nil {
		// Hosts may name a group before it exists as an object.
		if err := s.applyGroup(r.Context(), g.Name); err != nil {
			s.log.Warn("applying a host group's SNMP template", "group", g.Name, "err", err)
		}
	}
	g.SNMPTemplate = redactTemplate(g.SNMPTemplate)
	writeJSON(w, http.StatusCreated, hostGroupView{HostGroup: g})
}

func (s *Server) updateHostGroup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	g, err := s.lookupHostGroup(ctx, r.PathValue("id"))
	if err == nil {
		err = editable(g.Source)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var in hostGroupInput
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Name != nil && *in.Name != g.Name {
		// Membership is by name on hosts: renaming a group with members
		// would silently empty it.
		if n, err := s.countMembers(ctx, g.Name, nil); err != nil || n > 0 {
			s.writeErr(w, fmt.Errorf("host group %q has %d hosts; move them first: %w", g.Name, n, store.ErrConflict))
			return
		}
	}
	oldName := g.Name
	if err := in.apply(&g); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.UpdateHostGroup(ctx, &g); err != nil {
		s.writeErr(w, err)
		return
	}
	if oldName != g.Name {
		s.mon.SetGroupSNMP(oldName, nil)
	}
	s.mon.SetGroupSNMP(g.Name, templateSNMP(g))
	s.opts.Hub.Inventory("hostgroup", g.ID, "update")
	if in.SNMPTemplate.set {
		// Every member follows the template at once; a member that
		// fails (a bad host) is logged and caught up by the periodic pass.
		if err := s.applyGroup(ctx, g.Name); err != nil {
			s.log.Warn("applying a host group's SNMP template", "group", g.Name, "err", err)
		}
	}
	v, err := s.hostGroupView(ctx, g)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteHostGroup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	g, err := s.lookupHostGroup(ctx, r.PathValue("id"))
	if err == nil {
		err = editable(g.Source)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	n, err := s.countMembers(ctx, g.Name, nil)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if n > 0 {
		s.writeErr(w, fmt.Errorf("host group %q still has %d hosts: %w", g.Name, n, store.ErrConflict))
		return
	}
	if err := s.st.DeleteHostGroup(ctx, g.ID); err != nil {
		s.writeErr(w, err)
		return
	}
	s.mon.SetGroupSNMP(g.Name, nil)
	s.opts.Hub.Inventory("hostgroup", g.ID, "delete")
	w.WriteHeader(http.StatusNoContent)
}
