package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/config"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// ValidateInventory builds every check of a YAML inventory once, so that
// `vigie config validate` and a reload report a bad parameter with its file,
// line and key instead of scheduling a broken check.
func ValidateInventory(inv config.Inventory, sched config.Scheduler) error {
	for _, h := range inv.Hosts {
		if err := checks.ValidateSNMPSettings(h.SNMP); err != nil {
			return fmt.Errorf("%s: host %q: %w", h.Where, h.Name, err)
		}
		if h.Check != nil && h.Check.Kind() != "none" {
			if _, err := checks.New(h.Check, checks.Options{Address: h.Address, HostName: h.Name, PluginDirs: sched.PluginDirs}); err != nil {
				return fmt.Errorf("%s: host %q: %w", h.Where, h.Name, err)
			}
		}
		for _, s := range h.Services {
			if _, err := checks.New(s.Check, checks.Options{Address: h.Address, HostName: h.Name, PluginDirs: sched.PluginDirs, SNMP: h.SNMP}); err != nil {
				return fmt.Errorf("%s: service %q of host %q: %w", s.Where, s.Name, h.Name, err)
			}
		}
	}
	return nil
}

// syncer applies the YAML inventory to the store and the scheduler: objects
// in the files are created or updated and marked as owned by the
// configuration; configuration-owned objects no longer in the files are
// deleted. Objects created through the API are left alone unless the files
// name them, in which case the files take them over.
type syncer struct {
	st    store.Store
	mon   *monitor
	sched config.Scheduler
	hub   interface {
		Inventory(kind string, id int64, op string)
	}
}

func (y *syncer) sync(ctx context.Context, inv config.Inventory) (changed int, err error) {
	wantGroups := map[string]bool{}
	// resettled are the groups whose template settings changed: their
	// members' services are rebuilt below.
	resettled := map[string]bool{}
	for _, g := range inv.HostGroups {
		wantGroups[g.Name] = true
		var settings checks.Spec
		if g.SNMPTemplate != nil {
			settings = g.SNMPTemplate.SNMP
		}
		if !sameSpec(y.mon.EffectiveSNMP(inventory.Host{Groups: []string{g.Name}}), settings) {
			resettled[g.Name] = true
		}
		y.mon.SetGroupSNMP(g.Name, settings)
		cur, err := y.st.GetHostGroupByName(ctx, g.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			ng := inventory.HostGroup{Name: g.Name, Description: g.Description, SNMPTemplate: g.SNMPTemplate, Source: inventory.SourceConfig}
			if err := y.st.CreateHostGroup(ctx, &ng); err != nil {
				return changed, fmt.Errorf("creating host group %q: %w", g.Name, err)
			}
			changed++
		case err != nil:
			return changed, err
		case cur.Description != g.Description || cur.Source != inventory.SourceConfig || !sameTemplate(cur.SNMPTemplate, g.SNMPTemplate):
			cur.Description, cur.SNMPTemplate, cur.Source = g.Description, g.SNMPTemplate, inventory.SourceConfig
			if err := y.st.UpdateHostGroup(ctx, &cur); err != nil {
				return changed, fmt.Errorf("updating host group %q: %w", g.Name, err)
			}
			changed++
		}
	}
	for _, h := range inv.Hosts {
		for _, g := range h.Groups {
			if !wantGroups[g] {
				wantGroups[g] = true
				if _, err := y.st.GetHostGroupByName(ctx, g); errors.Is(err, store.ErrNotFound) {
					ng := inventory.HostGroup{Name: g, Source: inventory.SourceConfig}
					if err := y.st.CreateHostGroup(ctx, &ng); err != nil && !errors.Is(err, store.ErrConflict) {
						return changed, err
					}
				}
			}
		}
	}

	wantHosts := map[string]bool{}
	for _, ch := range inv.Hosts {
		wantHosts[ch.Name] = true
		n, err := y.syncHost(ctx, ch)
		changed += n
		if err != nil {
			return changed, err
		}
	}

	for g := range resettled {
		if err := y.resyncMembers(ctx, g); err != nil {
			return changed, err
		}
	}

	// Remove what the files no longer define.
	cfgHosts, err := store.AllHosts(ctx, y.st, store.HostFilter{Source: inventory.SourceConfig})
	if err != nil {
		return changed, err
	}
	for _, h := range cfgHosts {
		if wantHosts[h.Name] {
			continue
		}
		svcs, err := store.AllServices(ctx, y.st, store.ServiceFilter{HostID: h.ID})
		if err != nil {
			return changed, err
		}
		if err := y.st.DeleteHost(ctx, h.ID); err != nil {
			return changed, err
		}
		ids := make([]int64, len(svcs))
		for i, s := range svcs {
			ids[i] = s.ID
		}
		y.mon.HostRemoved(h.ID, ids)
		y.hub.Inventory(state.KindHost, h.ID, "delete")
		changed++
	}
	groups, err := y.st.ListHostGroups(ctx, store.HostGroupFilter{Page: store.Page{Limit: 1000}})
	if err != nil {
		return changed, err
	}
	for _, g := range groups {
		if g.Source == inventory.SourceConfig && !wantGroups[g.Name] {
			if members, err := y.st.ListHosts(ctx, store.HostFilter{Group: g.Name, Page: store.Page{Limit: 1}}); err == nil && len(members) == 0 {
				if err := y.st.DeleteHostGroup(ctx, g.ID); err == nil {
					y.mon.SetGroupSNMP(g.Name, nil)
					changed++
				}
			}
		}
	}
	return changed, nil
}

// resyncMembers rebuilds the checks of a group's members' services, which
// take the group's template settings.
func (y *syncer) resyncMembers(ctx context.Context, group string) error {
	hosts, err := store.AllHosts(ctx, y.st, store.HostFilter{Group: group})
	if err != nil {
		return err
	}
	for _, h := range hosts {
		svcs, err := store.AllServices(ctx, y.st, store.ServiceFilter{HostID: h.ID})
		if err != nil {
			return err
		}
		for _, s := range svcs {
			y.mon.ServiceChanged(s, h, false)
		}
	}
	return nil
}

func (y *syncer) syncHost(ctx context.Context, ch config.Host) (changed int, err error) {
	want := inventory.Host{
		Name: ch.Name, Address: ch.Address, Groups: ch.Groups, Tags: ch.Tags,
		Domain: ch.Domain, Location: ch.Location, Notes: ch.Notes, Check: ch.Check, SNMP: ch.SNMP,
		Interval: ch.Interval, RetryInterval: ch.RetryInterval, MaxAttempts: ch.MaxAttempts,
		Enabled: ch.Enabled == nil || *ch.Enabled, Source: inventory.SourceConfig,
	}
	if want.Interval == 0 {
		want.Interval = y.sched.Interval
	}
	if want.RetryInterval == 0 {
		want.RetryInterval = y.sched.RetryInterval
	}
	if want.MaxAttempts == 0 {
		want.MaxAttempts = y.sched.MaxAttempts
	}
	if want.Groups == nil {
		want.Groups = []string{}
	}
	if want.Tags == nil {
		want.Tags = map[string]string{}
	}
	cur, err := y.st.GetHostByName(ctx, ch.Name)
	hostChanged := false
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := y.st.CreateHost(ctx, &want); err != nil {
			return 0, fmt.Errorf("%s: creating host %q: %w", ch.Where, ch.Name, err)
		}
		cur, hostChanged = want, true
		y.hub.Inventory(state.KindHost, cur.ID, "create")
	case err != nil:
		return 0, err
	case !sameHost(cur, want):
		want.ID, want.CreatedAt = cur.ID, cur.CreatedAt
		if err := y.st.UpdateHost(ctx, &want); err != nil {
			return 0, fmt.Errorf("%s: updating host %q: %w", ch.Where, ch.Name, err)
		}
		cur, hostChanged = want, true
		y.hub.Inventory(state.KindHost, cur.ID, "update")
	}
	if hostChanged {
		changed++
		if err := y.mon.HostChanged(cur, true); err != nil {
			return changed, fmt.Errorf("%s: host %q: %w", ch.Where, ch.Name, err)
		}
	} else {
		y.mon.HostChanged(cur, false)
	}

	existing, err := store.AllServices(ctx, y.st, store.ServiceFilter{HostID: cur.ID})
	if err != nil {
		return changed, err
	}
	byName := map[string]inventory.Service{}
	for _, s := range existing {
		byName[s.Name] = s
	}
	wantSvc := map[string]bool{}
	for _, cs := range ch.Services {
		wantSvc[cs.Name] = true
		ws := inventory.Service{
			HostID: cur.ID, HostName: cur.Name, Name: cs.Name, Check: cs.Check,
			Interval: cs.Interval, RetryInterval: cs.RetryInterval, MaxAttempts: cs.MaxAttempts,
			Timeout: cs.Timeout, Enabled: cs.Enabled == nil || *cs.Enabled, Source: inventory.SourceConfig,
		}
		if ws.Interval == 0 {
			ws.Interval = y.sched.Interval
		}
		if ws.RetryInterval == 0 {
			ws.RetryInterval = y.sched.RetryInterval
		}
		if ws.MaxAttempts == 0 {
			ws.MaxAttempts = y.sched.MaxAttempts
		}
		if ws.Timeout == 0 {
			ws.Timeout = y.sched.Timeout
		}
		old, ok := byName[cs.Name]
		svcChanged := false
		switch {
		case !ok:
			if err := y.st.CreateService(ctx, &ws); err != nil {
				return changed, fmt.Errorf("%s: creating service %q: %w", cs.Where, cs.Name, err)
			}
			svcChanged = true
			y.hub.Inventory(state.KindService, ws.ID, "create")
		case !sameService(old, ws):
			ws.ID, ws.CreatedAt = old.ID, old.CreatedAt
			if err := y.st.UpdateService(ctx, &ws); err != nil {
				return changed, fmt.Errorf("%s: updating service %q: %w", cs.Where, cs.Name, err)
			}
			svcChanged = true
			y.hub.Inventory(state.KindService, ws.ID, "update")
		default:
			ws = old
		}
		if svcChanged {
			changed++
		}
		if err := y.mon.ServiceChanged(ws, cur, svcChanged || hostChanged); err != nil {
			return changed, fmt.Errorf("%s: service %q: %w", cs.Where, cs.Name, err)
		}
	}
	for _, s := range existing {
		if !wantSvc[s.Name] && s.Source == inventory.SourceConfig {
			if err := y.st.DeleteService(ctx, s.ID); err != nil {
				return changed, err
			}
			y.mon.ServiceRemoved(s.ID)
			y.hub.Inventory(state.KindService, s.ID, "delete")
			changed++
		}
	}
	return changed, nil
}

func sameHost(a, b inventory.Host) bool {
	return a.Name == b.Name && a.Address == b.Address && equalStrings(a.Groups, b.Groups) &&
		reflect.DeepEqual(nonNilMap(a.Tags), nonNilMap(b.Tags)) && a.Domain == b.Domain && a.Location == b.Location &&
		a.Notes == b.Notes && sameSpec(a.Check, b.Check) && sameSpec(a.SNMP, b.SNMP) && a.Interval == b.Interval &&
		a.RetryInterval == b.RetryInterval && a.MaxAttempts == b.MaxAttempts && a.Enabled == b.Enabled &&
		a.Source == b.Source
}

// sameTemplate compares templates by their JSON, since YAML gives ints
// where the database's JSON gives floats.
func sameTemplate(a, b *inventory.SNMPTemplate) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func sameService(a, b inventory.Service) bool {
	return a.Name == b.Name && a.HostID == b.HostID && sameSpec(a.Check, b.Check) && a.Interval == b.Interval &&
		a.RetryInterval == b.RetryInterval && a.MaxAttempts == b.MaxAttempts && a.Timeout == b.Timeout &&
		a.Enabled == b.Enabled && a.Source == b.Source
}

// sameSpec compares check specs by their text, since YAML gives ints where
// the database's JSON gives floats.
func sameSpec(a, b checks.Spec) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || fmt.Sprint(v) != fmt.Sprint(w) {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
