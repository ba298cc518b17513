package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sync"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// templates serialises the application of host group templates (an API
// request and the server's periodic pass may meet on one host) and
// remembers when each member's template discovery last ran.
type templates struct {
	apply sync.Mutex
	// disc serialises the template discoveries, which walk devices: one
	// at a time, as the scheduled host discoveries do.
	disc sync.Mutex
	mu   sync.Mutex
	last map[string]time.Time // host id + "\x00" + group → last run
	// now is the clock (tests may set it).
	now func() time.Time
}

// optTemplate is the snmp_template of a host group input: absent (keep
// it), null (remove it) or a template.
type optTemplate struct {
	set bool
	val *inventory.SNMPTemplate
}

func (o *optTemplate) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(bytes.TrimSpace(b)) == "null" {
		o.val = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var t inventory.SNMPTemplate
	if err := dec.Decode(&t); err != nil {
		return badField("snmp_template", "%v", err)
	}
	o.val = &t
	return nil
}

// validateTemplate answers a bad template with the field at fault
// ("snmp_template.services[2].oid").
func validateTemplate(t *inventory.SNMPTemplate) error {
	if t == nil {
		return nil
	}
	if t.Services == nil {
		t.Services = []inventory.TemplateService{}
	}
	if err := t.Validate(); err != nil {
		var te *inventory.TemplateError
		if errors.As(err, &te) {
			return badField("snmp_template."+te.Field, "%s", te.Msg)
		}
		return badField("snmp_template", "%v", err)
	}
	return nil
}

// redactTemplate masks a template's secrets for the API.
func redactTemplate(t *inventory.SNMPTemplate) *inventory.SNMPTemplate {
	if t == nil {
		return nil
	}
	c := *t
	c.SNMP = checks.RedactSNMP(t.SNMP)
	return &c
}

// templateSettings are the settings a template service of host h takes
// from the group: the group's, but for the keys the host sets itself,
// which the checks read from the host (service > host > group).
func templateSettings(g inventory.HostGroup, h inventory.Host) checks.Spec {
	out := checks.Spec{}
	for k, v := range g.SNMPTemplate.SNMP {
		if _, mine := h.SNMP[k]; !mine {
			out[k] = v
		}
	}
	return out
}

// withSettings is spec with the SNMP setting keys replaced by settings.
func withSettings(spec, settings checks.Spec) checks.Spec {
	out := checks.Spec{}
	for k, v := range spec {
		out[k] = v
	}
	for _, k := range checks.SNMPSettingKeys {
		delete(out, k)
	}
	for k, v := range settings {
		out[k] = v
	}
	return out
}

// sameCheck compares specs by their text: JSON gives floats where a
// template gives ints.
func sameCheck(a, b checks.Spec) bool {
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

// templatedGroups are the groups of h that carry a template, in h's order:
// when two define a service of the same name, the first group wins.
func (s *Server) templatedGroups(ctx context.Context, h inventory.Host) ([]inventory.HostGroup, error) {
	var out []inventory.HostGroup
	for _, name := range h.Groups {
		g, err := s.st.GetHostGroupByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if g.SNMPTemplate != nil {
			out = append(out, g)
		}
	}
	return out, nil
}

// ApplyTemplates brings h's template services in line with the templates
// of its groups: an item's service is created or updated, services of
// items gone, of groups h left or of discoveries turned off are deleted.
// h's own services are never touched, and one of the same name as an item
// wins over it. Members that have not had their group's discovery yet get
// it, in the background (a walk can take long).
func (s *Server) ApplyTemplates(ctx context.Context, h inventory.Host) (changed int, err error) {
	s.tmpl.apply.Lock()
	defer s.tmpl.apply.Unlock()
	groups, err := s.templatedGroups(ctx, h)
	if err != nil {
		return 0, err
	}
	return s.applyLocked(ctx, h, groups)
}

// applyLocked is ApplyTemplates with h's templated groups given; the
// caller holds s.tmpl.apply.
func (s *Server) applyLocked(ctx context.Context, h inventory.Host, groups []inventory.HostGroup) (changed int, err error) {
	existing, err := store.AllServices(ctx, s.st, store.ServiceFilter{HostID: h.ID})
	if err != nil {
		return 0, err
	}
	byName := map[string]inventory.Service{}
	for _, svc := range existing {
		byName[svc.Name] = svc
	}
	keep := map[int64]bool{}
	fromGroup := map[string]inventory.HostGroup{}
	for _, g := range groups {
		fromGroup[g.Name] = g
		t := g.SNMPTemplate
		settings := templateSettings(g, h)
		for i, it := range t.Services {
			want := inventory.Service{HostID: h.ID, HostName: h.Name, Name: it.Name, Check: withSettings(t.ItemSpec(i), settings),
				Interval: it.Interval, Enabled: true, Source: inventory.SourceTemplate, Template: g.Name}
			if err := (serviceInput{}).apply(&want, s.opts.Defaults); err != nil {
				return changed, fmt.Errorf("template of host group %q, service %q: %w", g.Name, it.Name, err)
			}
			old, ok := byName[it.Name]
			switch {
			case ok && old.Source != inventory.SourceTemplate:
				continue // the host's own service of that name wins
			case ok && keep[old.ID]:
				continue // an earlier group's item of that name wins
			case !ok:
				if err := s.st.CreateService(ctx, &want); err != nil {
					return changed, fmt.Errorf("creating template service %q on host %q: %w", it.Name, h.Name, err)
				}
				s.scheduleTemplated(want, h, "create")
			case !sameCheck(old.Check, want.Check) || old.Interval != want.Interval || old.Template != want.Template ||
				old.RetryInterval != want.RetryInterval || old.MaxAttempts != want.MaxAttempts || old.Timeout != want.Timeout:
				want.ID, want.CreatedAt = old.ID, old.CreatedAt
				if err := s.st.UpdateService(ctx, &want); err != nil {
					return changed, fmt.Errorf("updating template service %q on host %q: %w", it.Name, h.Name, err)
				}
				s.scheduleTemplated(want, h, "update")
			default:
				keep[old.ID] = true
				continue
			}
			keep[want.ID] = true
			byName[want.Name] = want
			changed++
		}
	}
	for _, svc := range existing {
		if svc.Source != inventory.SourceTemplate || keep[svc.ID] {
			continue
		}
		if name, ok := cutDiscovery(svc.Template); ok {
			if g, in := fromGroup[name]; in && g.SNMPTemplate.Discovery != nil {
				// Discovered services follow the host's and the group's
				// settings; their interface and thresholds are theirs.
				want := withSettings(svc.Check, templateSettings(g, h))
				if !sameCheck(want, svc.Check) {
					svc.Check = want
					if err := s.st.UpdateService(ctx, &svc); err != nil {
						return changed, err
					}
					s.scheduleTemplated(svc, h, "update")
					changed++
				}
				continue
			}
		}
		if err := s.st.DeleteService(ctx, svc.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return changed, err
		}
		s.mon.ServiceRemoved(svc.ID)
		s.opts.Hub.Inventory(state.KindService, svc.ID, "delete")
		changed++
	}
	discovered := map[string]bool{}
	for _, svc := range existing {
		if name, ok := cutDiscovery(svc.Template); ok {
			discovered[name] = true
		}
	}
	for _, g := range groups {
		if s.discoveryDue(h, g, discovered[g.Name]) {
			go s.templateDiscover(context.WithoutCancel(ctx), h, g)
		}
	}
	return changed, nil
}

func (s *Server) scheduleTemplated(svc inventory.Service, h inventory.Host, op string) {
	if err := s.mon.ServiceChanged(svc, h, true); err != nil {
		s.log.Warn("scheduling a template service", "host", h.Name, "service", svc.Name, "err", err)
	}
	s.opts.Hub.Inventory(state.KindService, svc.ID, op)
}

// cutDiscovery returns the group of a discovery's Template.
func cutDiscovery(template string) (string, bool) {
	n := len(template) - len(inventory.DiscoverySuffix)
	if n > 0 && template[n:] == inventory.DiscoverySuffix {
		return template[:n], true
	}
	return "", false
}

// discoveryDue says whether h's discovery of g's template is due: once
// when h is first seen in g (by this process), then every Every, at a
// stable offset per host so that a group's members are not walked at once.
// A member that has its discovered services already (vigie restarted) waits
// for its schedule. It marks it as run.
func (s *Server) discoveryDue(h inventory.Host, g inventory.HostGroup, hasDiscovered bool) bool {
	d := g.SNMPTemplate.Discovery
	if d == nil || h.Address == "" || !h.Enabled {
		return false
	}
	t := &s.tmpl
	now := time.Now()
	if t.now != nil {
		now = t.now()
	}
	key := fmt.Sprintf("%d\x00%s", h.ID, g.Name)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]time.Time{}
	}
	last, seen := t.last[key]
	every := d.Every.D()
	if !seen {
		last = now
		if every > 0 {
			// The next scheduled run comes at a stable offset of the host.
			f := fnv.New64a()
			f.Write([]byte(key))
			last = now.Add(-time.Duration(f.Sum64() % uint64(every)))
		}
		t.last[key] = last
		return !hasDiscovered
	}
	if every <= 0 || now.Before(last.Add(every)) {
		return false
	}
	t.last[key] = now
	return true
}

// templateDiscover runs g's template discovery on h: the host's discovery
// with the template's filters, its services owned by the template.
func (s *Server) templateDiscover(ctx context.Context, h inventory.Host, g inventory.HostGroup) {
	s.tmpl.disc.Lock()
	defer s.tmpl.disc.Unlock()
	d := g.SNMPTemplate.Discovery
	in := discoverInput{Types: d.Types, Health: d.Health, Interfaces: d.Interfaces,
		template: g.Name + inventory.DiscoverySuffix, settings: templateSettings(g, h)}
	if d.OnlyUp {
		in.OperStatus = []string{"up"}
	}
	if d.Warning != "" {
		in.Warning = &d.Warning
	}
	if d.Critical != "" {
		in.Critical = &d.Critical
	}
	if d.Interval != 0 {
		in.Interval = &d.Interval
	}
	var nameRE *regexp.Regexp
	if d.Name != "" {
		nameRE = regexp.MustCompile(d.Name) // validated with the template
	}
	res, err := s.runDiscovery(ctx, h, in, nameRE)
	if err != nil {
		s.log.Warn("discovering interfaces for a host group template", "host", h.Name, "group", g.Name, "err", err)
		return
	}
	if res.Created+res.Updated > 0 {
		s.log.Info("template discovery", "host", h.Name, "group", g.Name, "created", res.Created, "updated", res.Updated)
	}
}

// applyGroup applies a group's template to each of its members and
// rebuilds their services' checks (the group's settings may have changed).
func (s *Server) applyGroup(ctx context.Context, name string) error {
	hosts, err := store.AllHosts(ctx, s.st, store.HostFilter{Group: name})
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hosts {
		if _, err := s.ApplyTemplates(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("host %q: %w", h.Name, err))
		}
		// The members' own snmp services take the group's settings too.
		s.resyncServices(ctx, h)
	}
	return errors.Join(errs...)
}

// SyncTemplates applies every template to every host, and runs the
// template discoveries that are due: the server calls it periodically, and
// after loading the YAML inventory. The groups and the template services
// are read once, so that hosts with neither a templated group nor a
// template service cost nothing more.
func (s *Server) SyncTemplates(ctx context.Context) (changed int, err error) {
	s.tmpl.apply.Lock()
	defer s.tmpl.apply.Unlock()
	groups, err := store.AllHostGroups(ctx, s.st)
	if err != nil {
		return 0, err
	}
	templated := map[string]inventory.HostGroup{}
	for _, g := range groups {
		if g.SNMPTemplate != nil {
			templated[g.Name] = g
		}
	}
	owned, err := store.AllServices(ctx, s.st, store.ServiceFilter{Source: inventory.SourceTemplate})
	if err != nil {
		return 0, err
	}
	hasTemplated := map[int64]bool{}
	for _, svc := range owned {
		hasTemplated[svc.HostID] = true
	}
	hosts, err := store.AllHosts(ctx, s.st, store.HostFilter{})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, h := range hosts {
		var mine []inventory.HostGroup
		for _, name := range h.Groups {
			if g, ok := templated[name]; ok {
				mine = append(mine, g)
			}
		}
		if len(mine) == 0 && !hasTemplated[h.ID] {
			continue
		}
		n, err := s.applyLocked(ctx, h, mine)
		changed += n
		if err != nil {
			errs = append(errs, fmt.Errorf("host %q: %w", h.Name, err))
		}
	}
	return changed, errors.Join(errs...)
}
