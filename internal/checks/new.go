package checks

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Options are what a check takes from its host and from the server's
// configuration rather than from its own parameters.
type Options struct {
	// Address is the host's address, the default target.
	Address  string
	HostName string
	// Timeout bounds one run (default 10 s); the context may be shorter.
	Timeout time.Duration
	// PluginDirs are searched for relative plugin names.
	PluginDirs []string
	// MaxOutputBytes bounds what is kept of a plugin's output (64 KiB).
	MaxOutputBytes int
	// Self reports on the server the check runs in (the "self" kind).
	Self SelfFunc
	// SNMP are the host's SNMP settings (version, community, v3 user…),
	// the defaults of its snmp services.
	SNMP Spec
	// Agent answers the "agent" kind from what the host's agent sent;
	// ServiceName is the service it answers for ("" for the host).
	Agent       AgentFunc
	ServiceName string
}

// DefaultPluginDirs are where Debian's monitoring-plugins live.
var DefaultPluginDirs = []string{"/usr/lib/nagios/plugins", "/usr/lib/monitoring-plugins"}

type builder func(p *params, o Options) (Checker, error)

var kinds = map[string]builder{
	"icmp":  newICMP,
	"tcp":   newTCP,
	"http":  newHTTP,
	"dns":   newDNS,
	"exec":  newExec,
	"self":  newSelf,
	"agent": newAgent,
	"snmp":  newSNMP,
	// One interface of a device, as discovery creates them.
	"snmp_interface": newSNMPInterface,
}

// Kinds lists the check kinds.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New validates a spec and returns its checker. Errors name the parameter:
// "check.port: must be an integer between 1 and 65535".
func New(spec Spec, o Options) (Checker, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if len(o.PluginDirs) == 0 {
		o.PluginDirs = DefaultPluginDirs
	}
	if o.MaxOutputBytes <= 0 {
		o.MaxOutputBytes = 64 << 10
	}
	kind := spec.Kind()
	b, ok := kinds[kind]
	if !ok {
		if kind == "" {
			return nil, fmt.Errorf("check.kind: is required (one of %s)", strings.Join(Kinds(), ", "))
		}
		return nil, fmt.Errorf("check.kind: unknown kind %q (known: %s)", kind, strings.Join(Kinds(), ", "))
	}
	p := newParams(spec)
	if strings.HasPrefix(kind, "snmp") {
		p.defaults = o.SNMP
	}
	c, err := b(p, o)
	if err != nil {
		return nil, err
	}
	if err := p.done(kind); err != nil {
		return nil, err
	}
	return c, nil
}

// target is the address a check aims at: its own "address" parameter, or
// the host's.
func target(p *params, o Options) string {
	a := p.str("address", o.Address)
	if a == "" {
		p.fail("address", "is required (the host has no address)")
	}
	return a
}

// timed runs f and fills the result's time and duration. A native check's
// result always carries its response time as perfdata, failures included
// (how long a refusal or a timeout took is worth graphing too).
func timed(f func() Result) Result {
	r := runTimed(f)
	for _, p := range r.Perfdata {
		if p.Label == "time" {
			return r
		}
	}
	r.Perfdata = append([]Perf{{Label: "time", Value: roundTo(r.Duration.Seconds(), 6), Unit: "s", Min: ptr(0.0)}}, r.Perfdata...)
	return r
}

// runTimed runs f and fills the result's time and duration only; plugins
// keep exactly the perfdata they print.
func runTimed(f func() Result) Result {
	start := time.Now()
	r := f()
	r.Duration = time.Since(start)
	if r.Time.IsZero() {
		r.Time = start
	}
	return r
}

// withTimeThresholds sets the state from the response time and adds the
// time perfdata, as every native check does.
func withTimeThresholds(r *Result, seconds float64, warn, crit *Range) {
	if r.State == OK {
		r.State = stateOf(seconds, warn, crit)
	}
	r.Perfdata = append([]Perf{{Label: "time", Value: roundTo(seconds, 6), Unit: "s", Warn: warn, Crit: crit, Min: ptr(0.0)}}, r.Perfdata...)
}

func ptr[T any](v T) *T { return &v }

func roundTo(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
