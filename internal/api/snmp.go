package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/snmp"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// Bounds of the SNMP endpoints: they talk to devices on behalf of a
// browser, so a slow device must not hold a request (or a worker) long.
const (
	snmpRequestTimeout = 60 * time.Second
	walkDefaultMax     = 200
	walkMaxMax         = 2000
	maxWalkValue       = 1024
)

// hostSNMPClient builds a client for a host from its settings, with
// override on top (keys of override win; masked secrets fall back on the
// host's).
func hostSNMPClient(h inventory.Host, override checks.Spec) (*snmp.Client, error) {
	if h.Address == "" {
		return nil, badField("address", "the host has no address to poll")
	}
	spec := checks.Spec{}
	for k, v := range override {
		spec[k] = v
	}
	for _, k := range checks.SNMPSecretKeys {
		if spec[k] == checks.SecretMask {
			delete(spec, k)
		}
	}
	cfg, err := checks.SNMPConfig(spec, h.SNMP, 10*time.Second)
	if err != nil {
		f, msg, _ := strings.Cut(err.Error(), ": ")
		return nil, badField(f, "%s", msg)
	}
	return snmp.NewClient(h.Address, cfg), nil
}

// snmpError answers a device that did not answer or refused: 502, with
// the reason (never a secret: the snmp package names none).
func snmpError(w http.ResponseWriter, err error) {
	code := "snmp_error"
	switch {
	case errors.Is(err, snmp.ErrNoAnswer), errors.Is(err, context.DeadlineExceeded):
		code = "snmp_no_answer"
	case errors.Is(err, snmp.ErrAuth):
		code = "snmp_auth"
	}
	writeError(w, http.StatusBadGateway, code, err.Error())
}

type snmpTestInput struct {
	Host    *json.RawMessage `json:"host"`
	Address *string          `json:"address"`
	SNMP    checks.Spec      `json:"snmp"`
}

type snmpTestResult struct {
	OK              bool    `json:"ok"`
	Error           string  `json:"error,omitempty"`
	SysName         string  `json:"sys_name,omitempty"`
	SysDescr        string  `json:"sys_descr,omitempty"`
	SysObjectID     string  `json:"sys_object_id,omitempty"`
	SysLocation     string  `json:"sys_location,omitempty"`
	UptimeSeconds   float64 `json:"sys_uptime_seconds,omitempty"`
	SecurityLevel   string  `json:"security_level,omitempty"`
	Version         string  `json:"version"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// testSNMP tries settings (a host's, the body's, or both) by reading the
// system group: the console's "test credentials" button.
func (s *Server) testSNMP(w http.ResponseWriter, r *http.Request) {
	var in snmpTestInput
	if !decodeBody(w, r, &in) {
		return
	}
	ctx := r.Context()
	var h inventory.Host
	if in.Host != nil {
		var err error
		if h, err = s.resolveHost(ctx, *in.Host); err != nil {
			s.writeErr(w, err)
			return
		}
	}
	if in.Address != nil {
		h.Address = *in.Address
	}
	h.SNMP = s.mon.EffectiveSNMP(h) // the host's groups' template settings under its own
	cl, err := hostSNMPClient(h, in.SNMP)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, snmpRequestTimeout)
	defer cancel()
	start := time.Now()
	cfg := cl.Config()
	res := snmpTestResult{Version: cfg.Version, SecurityLevel: cfg.SecurityLevel()}
	vals, err := cl.Get(ctx, []string{"1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.6.0"})
	res.DurationSeconds = time.Since(start).Seconds()
	if err != nil {
		res.Error = err.Error()
		writeJSON(w, http.StatusOK, res)
		return
	}
	res.OK = true
	res.SysName, res.SysDescr, res.SysObjectID = vals[0].Text, vals[1].Text, vals[2].Text
	res.UptimeSeconds, res.SysLocation = vals[3].Number/100, vals[4].Text
	writeJSON(w, http.StatusOK, res)
}

type walkItem struct {
	OID   string `json:"oid"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// walkHost returns a bounded walk of a host's agent for the console's
// browser.
func (s *Server) walkHost(w http.ResponseWriter, r *http.Request) {
	h, err := s.lookupHost(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	q := r.URL.Query()
	root := q.Get("oid")
	if root == "" {
		root = "system"
	}
	mib := snmp.Default()
	oid, err := mib.Resolve(root)
	if err != nil {
		s.writeErr(w, badField("oid", "%v", err))
		return
	}
	max := walkDefaultMax
	if v := q.Get("max"); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 1 || max > walkMaxMax {
			s.writeErr(w, badField("max", "must be between 1 and %d", walkMaxMax))
			return
		}
	}
	h.SNMP = s.mon.EffectiveSNMP(h)
	cl, err := hostSNMPClient(h, nil)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(r.Context(), snmpRequestTimeout)
	defer cancel()
	vals, truncated, err := cl.Walk(ctx, oid, max)
	if err != nil {
		snmpError(w, err)
		return
	}
	items := make([]walkItem, 0, len(vals))
	for _, v := range vals {
		// A value is at most what a datagram holds, but 2000 of them
		// would still be a large answer for a browser: cut long ones.
		text := v.Text
		if len(text) > maxWalkValue {
			text = strings.ToValidUTF8(text[:maxWalkValue], "") + "…"
		}
		items = append(items, walkItem{OID: v.OID, Name: mib.Name(v.OID), Type: v.Type, Value: text})
	}
	writeJSON(w, http.StatusOK, map[string]any{"oid": oid, "items": items, "truncated": truncated})
}

// discoverInput filters the interfaces discovery turns into services.
type discoverInput struct {
	// Name is a regular expression on ifName, ifDescr or ifAlias.
	Name *string `json:"name,omitempty"`
	// Types are ifType numbers (6 ethernetCsmacd, 24 softwareLoopback…).
	Types       []int    `json:"types,omitempty"`
	OperStatus  []string `json:"oper_status,omitempty"`
	AdminStatus []string `json:"admin_status,omitempty"`
	// DryRun lists what would be created without creating it.
	DryRun bool `json:"dry_run,omitempty"`
	// Interval, Warning and Critical (utilisation %) apply to the
	// services created.
	Interval *inventory.Duration `json:"interval,omitempty"`
	Warning  *string             `json:"warning,omitempty"`
	Critical *string             `json:"critical,omitempty"`
	// Every, when set, saves these filters on the host and runs the
	// discovery again at this interval ("0s" stops it): new interfaces get
	// their services, moved ones follow.
	Every *inventory.Duration `json:"every,omitempty"`
	// Health also creates snmp services for the device's uptime, CPU,
	// memory, disks and temperature sensors, where it has them.
	Health bool `json:"health,omitempty"`
	// Interfaces false skips the interfaces (health only).
	Interfaces *bool `json:"interfaces,omitempty"`

	// template, when set, is the Service.Template of what this discovery
	// creates (a host group template's discovery), and settings the SNMP
	// settings the group gives the host's services.
	template string
	settings checks.Spec
}

// minRediscoverEvery bounds scheduled discovery: a walk of a big switch is
// thousands of packets.
const minRediscoverEvery = time.Minute

type discovered struct {
	snmp.Interface
	AdminStatus string `json:"admin_status"`
	OperStatus  string `json:"oper_status"`
	Service     string `json:"service"`
	ServiceID   int64  `json:"service_id,omitempty"`
	// Action is created, updated (the index moved), unchanged, or
	// skipped (filtered out).
	Action string `json:"action"`
}

// ifServiceName names an interface's service: "if eth0".
func ifServiceName(it snmp.Interface) string { return safeServiceName("if " + it.Name) }

// safeServiceName makes a name from a device fit a service name: slashes,
// which names may not hold (they appear in URLs), become "_" (Gi0/1 →
// Gi0_1), control characters go, and it is cut at 200 bytes.
func safeServiceName(name string) string {
	n := strings.Map(func(r rune) rune {
		if r == '/' {
			return '_'
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	n = strings.TrimSpace(n)
	if len(n) > 200 {
		n = strings.TrimSpace(strings.ToValidUTF8(n[:200], ""))
	}
	if n == "" {
		n = "snmp"
	}
	return n
}

// discoverInterfaces walks the host's ifTable/ifXTable and creates one
// snmp_interface service per interface that passes the filters; services
// that exist already (by name) keep their settings and get the current
// index.
func (s *Server) discoverInterfaces(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, err := s.lookupHost(ctx, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var in discoverInput
	if r.ContentLength != 0 && !decodeBody(w, r, &in) {
		return
	}
	var nameRE *regexp.Regexp
	if in.Name != nil && *in.Name != "" {
		if nameRE, err = regexp.Compile(*in.Name); err != nil {
			s.writeErr(w, badField("name", "not a regular expression: %v", err))
			return
		}
	}
	if _, _, err := in.filters(); err != nil {
		s.writeErr(w, err)
		return
	}
	if in.Every != nil && !in.DryRun {
		if err := editable(h.Source); err != nil {
			s.writeErr(w, err)
			return
		}
		if d := in.Every.D(); d != 0 && d < minRediscoverEvery {
			s.writeErr(w, badField("every", "must be 0 (off) or at least %s", minRediscoverEvery))
			return
		}
	}
	res, err := s.runDiscovery(ctx, h, in, nameRE)
	var dev *deviceError
	switch {
	case errors.As(err, &dev):
		snmpError(w, dev.err)
		return
	case err != nil:
		s.writeErr(w, err)
		return
	}
	if in.Every != nil && !in.DryRun {
		if err := s.saveRediscovery(ctx, h, in); err != nil {
			s.writeErr(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// deviceError is a failure of the device (no answer, refused), not of
// the request.
type deviceError struct{ err error }

func (e *deviceError) Error() string { return e.err.Error() }

// filters reads the status filters.
func (in discoverInput) filters() (oper, admin map[int]bool, err error) {
	statusSet := func(field string, names []string) (map[int]bool, error) {
		if len(names) == 0 {
			return nil, nil
		}
		set := map[int]bool{}
		for _, n := range names {
			v, ok := snmp.ParseStatus(n)
			if !ok {
				return nil, badField(field, "%q is not an interface status (up, down, testing, unknown, dormant, notPresent, lowerLayerDown)", n)
			}
			set[v] = true
		}
		return set, nil
	}
	if oper, err = statusSet("oper_status", in.OperStatus); err == nil {
		admin, err = statusSet("admin_status", in.AdminStatus)
	}
	return oper, admin, err
}

// saveRediscovery keeps the filters on the host (snmp.discover) for the
// scheduled runs, or removes them when every is 0.
func (s *Server) saveRediscovery(ctx context.Context, h inventory.Host, in discoverInput) error {
	settings := checks.Spec{}
	for k, v := range h.SNMP {
		settings[k] = v
	}
	if in.Every.D() == 0 {
		delete(settings, "discover")
	} else {
		saved := in
		saved.DryRun = false
		b, err := json.Marshal(saved)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		settings["discover"] = m
	}
	if len(settings) == 0 {
		settings = nil
	}
	h.SNMP = settings
	if err := s.st.UpdateHost(ctx, &h); err != nil {
		return err
	}
	s.opts.Hub.Inventory(state.KindHost, h.ID, "update")
	return nil
}

// discoveryResult is what a discovery did.
type discoveryResult struct {
	Interfaces []discovered  `json:"interfaces"`
	Health     []healthFound `json:"health,omitempty"`
	Created    int           `json:"created"`
	Updated    int           `json:"updated"`
	Unchanged  int           `json:"unchanged"`
	Skipped    int           `json:"skipped"`
}

// healthFound is a health value discovery found, with what it did.
type healthFound struct {
	snmp.HealthItem
	ServiceID int64  `json:"service_id,omitempty"`
	Action    string `json:"action"`
}

// RediscoverEvery is how often a host's saved discovery runs (0: never).
func RediscoverEvery(h inventory.Host) time.Duration {
	in, ok := savedDiscovery(h)
	if !ok || in.Every == nil {
		return 0
	}
	return in.Every.D()
}

func savedDiscovery(h inventory.Host) (discoverInput, bool) {
	var in discoverInput
	raw, ok := h.SNMP["discover"]
	if !ok {
		return in, false
	}
	b, err := json.Marshal(raw)
	if err != nil || json.Unmarshal(b, &in) != nil {
		return in, false
	}
	return in, true
}

// Rediscover runs a host's saved discovery (see discoverInput.Every): the
// scheduled rediscovery of the server calls it.
func (s *Server) Rediscover(ctx context.Context, h inventory.Host) (created, updated int, err error) {
	in, ok := savedDiscovery(h)
	if !ok {
		return 0, 0, fmt.Errorf("host %q has no saved discovery", h.Name)
	}
	in.DryRun = false
	var nameRE *regexp.Regexp
	if in.Name != nil && *in.Name != "" {
		if nameRE, err = regexp.Compile(*in.Name); err != nil {
			return 0, 0, fmt.Errorf("saved name filter: %w", err)
		}
	}
	res, err := s.runDiscovery(ctx, h, in, nameRE)
	return res.Created, res.Updated, err
}

func (s *Server) runDiscovery(ctx context.Context, h inventory.Host, in discoverInput, nameRE *regexp.Regexp) (discoveryResult, error) {
	var res discoveryResult
	oper, admin, err := in.filters()
	if err != nil {
		return res, err
	}
	base := checks.Spec{"kind": "snmp_interface"}
	if in.Warning != nil {
		base["warning"] = *in.Warning
	}
	if in.Critical != nil {
		base["critical"] = *in.Critical
	}
	// Validate the thresholds before talking to the device.
	probe := checks.Spec{"index": 1}
	for k, v := range base {
		probe[k] = v
	}
	if err := s.validateCheck(probe, h, false); err != nil {
		return res, err
	}
	if in.Interval != nil {
		tmp := inventory.Service{Name: "probe", Interval: *in.Interval}
		if err := (serviceInput{}).apply(&tmp, s.opts.Defaults); err != nil {
			return res, err
		}
	}
	// The group's settings cover only keys the host leaves out, so as an
	// override they keep the host's first.
	eff := h
	eff.SNMP = s.mon.EffectiveSNMP(h)
	cl, err := hostSNMPClient(eff, in.settings)
	if err != nil {
		return res, err
	}
	defer cl.Close()
	wctx, cancel := context.WithTimeout(ctx, snmpRequestTimeout)
	defer cancel()
	var ifs []snmp.Interface
	if in.Interfaces == nil || *in.Interfaces {
		if ifs, err = cl.Interfaces(wctx); err != nil {
			return res, &deviceError{err}
		}
	}
	var health []snmp.HealthItem
	if in.Health {
		if health, err = cl.Health(wctx); err != nil {
			return res, &deviceError{err}
		}
	}
	existing, err := store.AllServices(ctx, s.st, store.ServiceFilter{HostID: h.ID})
	if err != nil {
		return res, err
	}
	byName := map[string]inventory.Service{}
	for _, svc := range existing {
		byName[svc.Name] = svc
	}
	for _, it := range health {
		it.Service = safeServiceName(it.Service)
		f := healthFound{HealthItem: it}
		old, exists := byName[it.Service]
		switch {
		case exists:
			f.Action, f.ServiceID = "unchanged", old.ID
			if in.DryRun {
				f.Action = "exists"
			}
		case in.DryRun:
			f.Action = "would create"
		default:
			spec := checks.Spec{"kind": "snmp", "oid": it.OID, "label": it.Label}
			if it.PercentOf != "" {
				spec["percent_of"] = it.PercentOf
			}
			if it.Multiplier != 0 && it.Multiplier != 1 {
				spec["multiplier"] = it.Multiplier
			}
			if it.Warning != "" {
				spec["warning"] = it.Warning
			}
			if it.Critical != "" {
				spec["critical"] = it.Critical
			}
			id, err := s.createDiscovered(ctx, h, it.Service, spec, in)
			if err != nil {
				return res, err
			}
			f.Action, f.ServiceID = "created", id
		}
		switch f.Action {
		case "created":
			res.Created++
		case "unchanged":
			res.Unchanged++
		}
		res.Health = append(res.Health, f)
	}
	res.Interfaces = make([]discovered, 0, len(ifs))
	for _, it := range ifs {
		d := discovered{Interface: it, AdminStatus: snmp.StatusName(it.AdminStatus), OperStatus: snmp.StatusName(it.OperStatus), Service: ifServiceName(it)}
		keep := (nameRE == nil || nameRE.MatchString(it.Name) || nameRE.MatchString(it.Descr) || (it.Alias != "" && nameRE.MatchString(it.Alias))) &&
			(len(in.Types) == 0 || slices.Contains(in.Types, it.Type)) &&
			(oper == nil || oper[it.OperStatus]) && (admin == nil || admin[it.AdminStatus])
		switch {
		case !keep:
			d.Action = "skipped"
		case in.DryRun:
			d.Action = "would create"
			if old, ok := byName[d.Service]; ok {
				d.Action, d.ServiceID = "exists", old.ID
			}
		default:
			if err := s.upsertInterface(ctx, h, it, base, byName, &d, in); err != nil {
				return res, err
			}
		}
		switch d.Action {
		case "created":
			res.Created++
		case "updated":
			res.Updated++
		case "unchanged":
			res.Unchanged++
		case "skipped":
			res.Skipped++
		}
		res.Interfaces = append(res.Interfaces, d)
	}
	return res, nil
}

func (s *Server) upsertInterface(ctx context.Context, h inventory.Host, it snmp.Interface, base checks.Spec, byName map[string]inventory.Service, d *discovered, in discoverInput) error {
	if old, ok := byName[d.Service]; ok {
		d.ServiceID = old.ID
		if fmt.Sprint(old.Check["index"]) == strconv.Itoa(it.Index) || old.Check.Kind() != "snmp_interface" {
			d.Action = "unchanged"
			return nil
		}
		// Renumbered (a reboot, a new line card): follow the index.
		old.Check["index"] = it.Index
		if err := s.st.UpdateService(ctx, &old); err != nil {
			return err
		}
		s.mon.ServiceChanged(old, h, true)
		s.opts.Hub.Inventory(state.KindService, old.ID, "update")
		d.Action = "updated"
		return nil
	}
	spec := checks.Spec{}
	for k, v := range base {
		spec[k] = v
	}
	spec["index"], spec["interface"] = it.Index, it.Name
	if it.Alias != "" {
		spec["alias"] = it.Alias
	}
	id, err := s.createDiscovered(ctx, h, d.Service, spec, in)
	if err != nil {
		return err
	}
	d.Action, d.ServiceID = "created", id
	return nil
}

// createDiscovered creates and schedules a service discovery found.
func (s *Server) createDiscovered(ctx context.Context, h inventory.Host, name string, spec checks.Spec, in discoverInput) (int64, error) {
	svc := inventory.Service{HostID: h.ID, HostName: h.Name, Name: name, Check: spec, Enabled: true, Source: inventory.SourceAPI}
	if in.template != "" {
		svc.Source, svc.Template = inventory.SourceTemplate, in.template
		svc.Check = withSettings(spec, in.settings)
		spec = svc.Check
	}
	if in.Interval != nil {
		svc.Interval = *in.Interval
	}
	if err := (serviceInput{}).apply(&svc, s.opts.Defaults); err != nil {
		return 0, err
	}
	if err := s.validateCheck(spec, h, false); err != nil {
		return 0, err
	}
	if err := s.st.CreateService(ctx, &svc); err != nil {
		return 0, err
	}
	s.mon.ServiceChanged(svc, h, true)
	s.opts.Hub.Inventory(state.KindService, svc.ID, "create")
	return svc.ID, nil
}
