package app

import (
	"context"
	"sync"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/config"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/state"
)

// monitor turns inventory objects into the engine's jobs. It is what the API
// and the YAML provisioning call after every change, so a change reaches the
// scheduler at once.
type monitor struct {
	*state.Engine
	sched config.Scheduler
	// self reports on the server, for services of kind "self".
	self checks.SelfFunc
	// agent answers checks of kind "agent" from what agents sent.
	agent checks.AgentFunc
	// removed, when set, hears of every host and service deleted (their
	// alarms resolve).
	removed func(kind string, id int64)

	// Domains of hosts and the host of each service, for the live
	// stream's per-user filtering.
	mu         sync.Mutex
	hostDomain map[int64]string
	hostName   map[int64]string
	svcHost    map[int64]int64
	svcName    map[int64]string
	// nameDomain is the domain of each host by name, for alarms, whose
	// component is a host name.
	nameDomain map[string]string
	// groupSNMP holds the SNMP settings of host group templates, the
	// defaults under each member's own.
	groupSNMP map[string]checks.Spec
}

func newMonitor(e *state.Engine, sched config.Scheduler) *monitor {
	return &monitor{Engine: e, sched: sched, hostDomain: map[int64]string{}, hostName: map[int64]string{},
		svcHost: map[int64]int64{}, svcName: map[int64]string{}, nameDomain: map[string]string{}, groupSNMP: map[string]checks.Spec{}}
}

// DomainOf returns the domain of a host or service.
func (m *monitor) DomainOf(kind string, id int64) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if kind == state.KindService {
		hid, ok := m.svcHost[id]
		if !ok {
			return "", false
		}
		id = hid
	} else if kind != state.KindHost {
		return "", false
	}
	d, ok := m.hostDomain[id]
	return d, ok
}

func (m *monitor) remember(h inventory.Host, svc int64, svcName string) {
	m.mu.Lock()
	m.hostDomain[h.ID] = h.Domain
	if old, ok := m.hostName[h.ID]; ok && old != h.Name {
		delete(m.nameDomain, old)
	}
	m.hostName[h.ID] = h.Name
	m.nameDomain[h.Name] = h.Domain
	if svc != 0 {
		m.svcHost[svc] = h.ID
		m.svcName[svc] = svcName
	}
	m.mu.Unlock()
}

// DomainOfHost returns the domain of a host by name.
func (m *monitor) DomainOfHost(name string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.nameDomain[name]
	return d, ok
}

// names returns the host and service names of an object, for metric labels.
func (m *monitor) names(kind string, id int64) (host, service string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if kind == state.KindHost {
		host, ok = m.hostName[id]
		return host, "", ok
	}
	hid, ok := m.svcHost[id]
	if !ok {
		return "", "", false
	}
	return m.hostName[hid], m.svcName[id], true
}

func (m *monitor) options(h inventory.Host, timeout time.Duration) checks.Options {
	if timeout <= 0 {
		timeout = m.sched.Timeout.D()
	}
	return checks.Options{
		Address: h.Address, HostName: h.Name, Timeout: timeout,
		PluginDirs: m.sched.PluginDirs, MaxOutputBytes: m.sched.MaxOutputBytes, Self: m.self, Agent: m.agent,
		SNMP: m.EffectiveSNMP(h),
	}
}

// SetGroupSNMP records the SNMP settings of a group's template (nil: it
// has none). Checks built afterwards take them; the caller rebuilds the
// members' services.
func (m *monitor) SetGroupSNMP(group string, settings checks.Spec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(settings) == 0 {
		delete(m.groupSNMP, group)
		return
	}
	m.groupSNMP[group] = settings
}

// EffectiveSNMP is the defaults of h's services: h's own settings, then
// its groups' template settings for the keys it leaves out (the first
// group in h.Groups wins).
func (m *monitor) EffectiveSNMP(h inventory.Host) checks.Spec {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out checks.Spec
	for _, g := range h.Groups {
		for k, v := range m.groupSNMP[g] {
			if _, ok := h.SNMP[k]; ok {
				continue
			}
			if out == nil {
				out = checks.Spec{}
				for hk, hv := range h.SNMP {
					out[hk] = hv
				}
			}
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	if out == nil {
		return h.SNMP
	}
	return out
}

// hostSpec is the host check: the one given, else ICMP to the address, else
// none (the host is then assumed UP).
func hostSpec(h inventory.Host) checks.Spec {
	switch {
	case h.Check != nil:
		return h.Check
	case h.Address != "":
		return checks.Spec{"kind": "icmp"}
	default:
		return checks.Spec{"kind": "none"}
	}
}

// HostChanged schedules (or unschedules) a host's own check.
func (m *monitor) HostChanged(h inventory.Host, runNow bool) error {
	m.remember(h, 0, "")
	if !h.Enabled {
		m.Remove(state.KindHost, h.ID)
		return nil
	}
	job := state.Job{
		Kind: state.KindHost, ID: h.ID, HostID: h.ID, Name: h.Name,
		Interval: h.Interval.D(), RetryInterval: h.RetryInterval.D(), MaxAttempts: h.MaxAttempts,
		Timeout: m.sched.Timeout.D(),
	}
	spec := hostSpec(h)
	var err error
	if spec.Kind() == "none" {
		job.Passive = true
	} else {
		job.Checker, err = checks.New(spec, m.options(h, 0))
		if err != nil {
			job.Checker = brokenCheck{err}
		}
	}
	m.Upsert(job, runNow)
	return err
}

// HostRemoved forgets a host and its services.
func (m *monitor) HostRemoved(id int64, services []int64) {
	m.Remove(state.KindHost, id)
	for _, s := range services {
		m.Remove(state.KindService, s)
	}
	if m.removed != nil {
		for _, s := range services {
			m.removed(state.KindService, s)
		}
		m.removed(state.KindHost, id)
	}
	// The domains stay known a moment longer, so that the deletion
	// events still reach the right users; they are small.
}

// ServiceChanged schedules (or unschedules) a service.
func (m *monitor) ServiceChanged(s inventory.Service, h inventory.Host, runNow bool) error {
	m.remember(h, s.ID, s.Name)
	if !s.Enabled {
		m.Remove(state.KindService, s.ID)
		return nil
	}
	o := m.options(h, s.Timeout.D())
	o.ServiceName = s.Name
	c, err := checks.New(s.Check, o)
	if err != nil {
		c = brokenCheck{err}
	}
	m.Upsert(state.Job{
		Kind: state.KindService, ID: s.ID, HostID: h.ID, Name: h.Name + "/" + s.Name,
		Checker: c, Interval: s.Interval.D(), RetryInterval: s.RetryInterval.D(),
		MaxAttempts: s.MaxAttempts, Timeout: s.Timeout.D(),
	}, runNow)
	return err
}

// ServiceRemoved forgets a service.
func (m *monitor) ServiceRemoved(id int64) {
	m.Remove(state.KindService, id)
	if m.removed != nil {
		m.removed(state.KindService, id)
	}
}

// brokenCheck stands for a check whose definition no longer builds (a plugin
// directory changed, say): it is UNKNOWN and says why, rather than silently
// not running.
type brokenCheck struct{ err error }

func (b brokenCheck) Run(context.Context) checks.Result {
	return checks.Result{State: checks.Unknown, Output: "invalid check: " + b.err.Error(), Time: time.Now()}
}
