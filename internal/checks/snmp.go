package checks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigie-monitoring/vigie/internal/snmp"
)

// SNMPSettingKeys are the parameters that say how to reach an agent. A
// host may carry them (Host.SNMP): its snmp services then take them as
// defaults.
var SNMPSettingKeys = []string{"version", "community", "port", "timeout", "retries", "max_repetitions",
	"user", "auth_protocol", "auth_password", "priv_protocol", "priv_password", "context"}

// SNMPSecretKeys are the settings that must never be shown or logged.
var SNMPSecretKeys = []string{"community", "auth_password", "priv_password"}

// snmpSettings reads the agent settings of a spec (or of a host's
// defaults) into a validated config. The per-request timeout defaults to
// a third of the check's, so that a retry still fits in the run.
func snmpSettings(p *params, o Options) snmp.Config {
	c := snmp.Config{
		Version:        p.str("version", "2c"),
		Community:      p.str("community", "public"),
		Port:           p.integer("port", 161, 1, 65535),
		Retries:        p.integer("retries", 1, 0, snmp.MaxRetries),
		MaxRepetitions: p.integer("max_repetitions", 10, 1, snmp.MaxMaxRepetitions),
		User:           p.str("user", ""),
		AuthProtocol:   p.str("auth_protocol", ""),
		AuthPassword:   p.str("auth_password", ""),
		PrivProtocol:   p.str("priv_protocol", ""),
		PrivPassword:   p.str("priv_password", ""),
		ContextName:    p.str("context", ""),
	}
	def := min(o.Timeout/3, 5*time.Second).Truncate(time.Millisecond)
	if def <= 0 {
		def = 2 * time.Second
	}
	c.Timeout = p.duration("timeout", def)
	if c.Timeout == 0 {
		c.Timeout = def
	}
	if p.err == nil {
		if err := c.Validate(); err != nil {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			p.fail(key, "%s", msg)
		}
	}
	return c
}

// ValidateSNMPSettings checks a host's SNMP settings: only the setting
// keys, each valid. Errors name the key ("snmp.version: ...").
func ValidateSNMPSettings(s Spec) error {
	if len(s) == 0 {
		return nil
	}
	_, err := SNMPConfig(s, nil, 10*time.Second)
	return err
}

// SNMPConfig builds the agent settings from spec, falling back on
// defaults (a host's settings) for the keys spec lacks. timeout is the
// time one poll may take. Errors name the key ("snmp.community: ...");
// spec may hold only setting keys.
func SNMPConfig(spec, defaults Spec, timeout time.Duration) (snmp.Config, error) {
	p := newParams(spec)
	p.defaults = defaults
	c := snmpSettings(p, Options{Timeout: timeout})
	// A host's saved interface discovery (filters and interval) sits
	// beside its settings; the API reads it.
	if d, ok := p.get("discover"); ok {
		if _, isMap := d.(map[string]any); !isMap {
			p.fail("discover", "must be an object (the saved filters of POST /hosts/{id}/snmp/discover)")
		}
	}
	if err := p.done("snmp"); err != nil {
		return c, errors.New("snmp." + strings.TrimPrefix(err.Error(), "check."))
	}
	return c, nil
}

// RedactSNMP returns a copy of spec with its secrets masked, for the API.
func RedactSNMP(spec Spec) Spec {
	if spec == nil {
		return nil
	}
	out := make(Spec, len(spec))
	for k, v := range spec {
		out[k] = v
	}
	for _, k := range SNMPSecretKeys {
		if s, ok := out[k].(string); ok && s != "" {
			out[k] = SecretMask
		}
	}
	return out
}

// SecretMask stands for a secret in what the API shows. Sent back
// unchanged in an update, it means "keep the stored secret".
const SecretMask = "********"

// KeepSNMPSecrets replaces masked secrets in spec by the stored ones.
func KeepSNMPSecrets(spec, stored Spec) {
	for _, k := range SNMPSecretKeys {
		if v, ok := spec[k].(string); ok && v == SecretMask {
			if old, ok := stored[k]; ok {
				spec[k] = old
			} else {
				delete(spec, k)
			}
		}
	}
}

// snmpCheck polls one object. Counters are reported raw as counters (unit
// "c", so the metrics store undoes 32-bit wraps and rate() applies) and as
// a rate per second since the previous poll, which thresholds apply to.
type snmpCheck struct {
	host       string
	cfg        snmp.Config
	oid        string
	label      string
	percentOf  string  // numeric OID of the whole: the value is shown as its percent
	multiplier float64 // applied to numbers (a sensor's scale), 1 by default
	expect     string
	warn, crit *Range
	timeout    time.Duration

	mu   sync.Mutex
	prev struct {
		ok     bool
		raw    uint64
		uptime float64
		at     time.Time
	}
}

func newSNMP(p *params, o Options) (Checker, error) {
	c := &snmpCheck{timeout: o.Timeout}
	c.host = target(p, o)
	c.cfg = snmpSettings(p, o)
	if _, ok := p.get("oid"); !ok {
		p.fail("oid", "is required: a numeric OID or a name such as sysUpTime.0 or ifHCInOctets.2")
	}
	name := p.str("oid", "")
	if p.err == nil {
		oid, err := snmp.Default().Resolve(name)
		if err != nil {
			p.fail("oid", "%v", err)
		}
		c.oid = oid
	}
	c.label = p.str("label", strings.TrimPrefix(strings.TrimSpace(name), "."))
	if of := p.str("percent_of", ""); of != "" && p.err == nil {
		oid, err := snmp.Default().Resolve(of)
		if err != nil {
			p.fail("percent_of", "%v", err)
		}
		c.percentOf = oid
	}
	c.multiplier = p.num("multiplier", 1)
	if c.multiplier == 0 {
		p.fail("multiplier", "must not be 0")
	}
	c.expect = p.str("expect", "")
	c.warn, c.crit = p.threshold("warning"), p.threshold("critical")
	return c, p.err
}

func (c *snmpCheck) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return timed(func() Result {
		cl := snmp.NewClient(c.host, c.cfg)
		defer cl.Close()
		oids := []string{c.oid}
		if c.percentOf != "" {
			oids = append(oids, c.percentOf)
		}
		upAt := -1
		if c.hasCounterHistory() {
			upAt = len(oids)
			oids = append(oids, "1.3.6.1.2.1.1.3.0") // sysUpTime: a reset is not a wrap
		}
		vals, err := cl.Get(ctx, oids)
		if err != nil {
			return snmpFailure(err)
		}
		v := vals[0]
		if c.percentOf != "" && !v.Missing() {
			return c.percentResult(v, vals[1])
		}
		if v.Missing() {
			return Result{State: Critical, Output: fmt.Sprintf("SNMP CRITICAL - %s: %s (the agent has no such object)", c.label, v.Type)}
		}
		if !v.Numeric {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v.Text), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && v.Type == "OctetString" {
				// net-snmp's laLoad and many vendors' values are
				// numbers written as strings.
				v.Number, v.Numeric = f, true
			}
		}
		if !v.Numeric {
			st := OK
			if c.expect != "" && !strings.Contains(v.Text, c.expect) {
				st = Critical
			}
			out := fmt.Sprintf("SNMP %s - %s = %s", st, c.label, truncateStr(strings.TrimSpace(v.Text), 1024))
			if st != OK {
				out += fmt.Sprintf(" (expected %q)", c.expect)
			}
			return Result{State: st, Output: out}
		}
		if v.Counter() {
			var uptime float64
			if upAt > 0 && upAt < len(vals) {
				uptime = vals[upAt].Number
			}
			return c.counterResult(v, uptime)
		}
		val := v.Number
		unit := ""
		shown := v.Text
		if c.multiplier != 1 {
			val = roundTo(v.Number*c.multiplier, 6)
			shown = formatFloat(val)
		}
		if v.Type == "TimeTicks" {
			// Hundredths of a second: shown and thresholded in seconds.
			val, unit = v.Number/100, "s"
			shown = (time.Duration(v.Number) * 10 * time.Millisecond).String()
		} else if v.Type == "OctetString" {
			shown = strings.TrimSpace(v.Text)
		}
		st := stateOf(val, c.warn, c.crit)
		return Result{State: st, Output: fmt.Sprintf("SNMP %s - %s = %s", st, c.label, shown),
			Perfdata: []Perf{{Label: c.label, Value: val, Unit: unit, Warn: c.warn, Crit: c.crit}}}
	})
}

// percentResult shows a part of a whole (hrStorageUsed of hrStorageSize,
// memAvailReal of memTotalReal) as a percent, which thresholds apply to.
func (c *snmpCheck) percentResult(part, whole snmp.Value) Result {
	if whole.Missing() || !whole.Numeric || !part.Numeric {
		return Result{State: Unknown, Output: fmt.Sprintf("SNMP UNKNOWN - %s: no number for the part (%s) or the whole (%s)", c.label, part.Type, whole.Type)}
	}
	if whole.Number == 0 {
		return Result{State: OK, Output: fmt.Sprintf("SNMP OK - %s = %s of 0 (empty)", c.label, part.Text)}
	}
	pct := roundTo(100*part.Number/whole.Number, 3)
	st := stateOf(pct, c.warn, c.crit)
	return Result{State: st, Output: fmt.Sprintf("SNMP %s - %s = %.1f%% (%s of %s)", st, c.label, pct, part.Text, whole.Text),
		Perfdata: []Perf{{Label: c.label, Value: pct, Unit: "%", Warn: c.warn, Crit: c.crit, Min: ptr(0.0), Max: ptr(100.0)}}}
}

func (c *snmpCheck) hasCounterHistory() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.prev.ok
}

// counterMax tells the metrics store a counter's width through perfdata's
// max field: 2^32-1 for Counter32, 2^64-1 for Counter64.
func counterMax(width int) *float64 {
	if width == 32 {
		return ptr(float64(math.MaxUint32))
	}
	return ptr(float64(math.MaxUint64))
}

func (c *snmpCheck) counterResult(v snmp.Value, uptime float64) Result {
	now := time.Now()
	c.mu.Lock()
	prev := c.prev
	c.prev.ok, c.prev.raw, c.prev.uptime, c.prev.at = true, v.Uint, uptime, now
	if !prev.ok {
		// The first poll also learns whether sysUpTime is there.
		c.prev.uptime = -1
	}
	c.mu.Unlock()
	perf := []Perf{{Label: c.label, Value: v.Number, Unit: "c", Min: ptr(0.0), Max: counterMax(v.Width)}}
	secs := now.Sub(prev.at).Seconds()
	switch {
	case !prev.ok || secs <= 0:
		return Result{State: OK, Output: fmt.Sprintf("SNMP OK - %s = %s (%s; its rate from the next poll)", c.label, v.Text, v.Type), Perfdata: perf}
	case prev.uptime > 0 && uptime > 0 && uptime < prev.uptime:
		// Without its width the metrics store tells a reset from a wrap
		// by the values: a 32-bit width would make this reset a wrap.
		perf[0].Max = nil
		return Result{State: OK, Output: fmt.Sprintf("SNMP OK - %s = %s (the agent restarted: counters reset, rate from the next poll)", c.label, v.Text), Perfdata: perf}
	}
	rate := float64(snmp.CounterDelta(prev.raw, v.Uint, v.Width)) / secs
	st := stateOf(rate, c.warn, c.crit)
	perf = append(perf, Perf{Label: c.label + "_per_second", Value: roundTo(rate, 3), Warn: c.warn, Crit: c.crit, Min: ptr(0.0)})
	return Result{State: st, Output: fmt.Sprintf("SNMP %s - %s = %s, %s/s", st, c.label, v.Text, humanRate(rate, "")), Perfdata: perf}
}

// snmpFailure is the result of a poll that got no usable answer: wrong
// credentials are CRITICAL like a dead agent (nothing is being polled),
// but the output says which.
func snmpFailure(err error) Result {
	return Result{State: Critical, Output: "SNMP CRITICAL - " + err.Error()}
}

// humanRate writes 1234567 as "1.23 M".
func humanRate(v float64, unit string) string {
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for math.Abs(v) >= 1000 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	if i == 0 {
		s = strconv.FormatFloat(v, 'f', -1, 64)
		if len(s) > 8 {
			s = strconv.FormatFloat(v, 'f', 2, 64)
		}
	}
	if prefixes[i] == "" && unit == "" {
		return s
	}
	return s + " " + prefixes[i] + unit
}

// ifCheck polls one interface: status, traffic, errors and discards. Its
// rates come from the previous poll, kept here: the service's output shows
// bits per second, and thresholds apply to utilisation. The raw octet
// counters go out as counters too, for the graphs' rate().
type ifCheck struct {
	host       string
	cfg        snmp.Config
	name       string // ifName or ifDescr, to find the index again
	alias      string // ifAlias, shown beside the name
	warn, crit *Range // on utilisation %, the higher of in and out
	errWarn    *Range // on errors per second, in plus out
	errCrit    *Range
	timeout    time.Duration

	mu    sync.Mutex
	index int
	prev  snmp.IfSample
	seen  bool
}

func newSNMPInterface(p *params, o Options) (Checker, error) {
	c := &ifCheck{timeout: o.Timeout}
	c.host = target(p, o)
	c.cfg = snmpSettings(p, o)
	c.index = p.integer("index", 0, 0, math.MaxInt32)
	c.name = p.str("interface", "")
	c.alias = p.str("alias", "")
	if c.index == 0 && c.name == "" {
		p.fail("index", "is required (the ifIndex), or interface (its ifName or ifDescr)")
	}
	c.warn, c.crit = p.threshold("warning"), p.threshold("critical")
	c.errWarn, c.errCrit = p.threshold("errors_warning"), p.threshold("errors_critical")
	return c, p.err
}

func (c *ifCheck) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return timed(func() Result {
		cl := snmp.NewClient(c.host, c.cfg)
		defer cl.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.index == 0 {
			if r, ok := c.rediscover(ctx, cl, "first poll"); !ok {
				return r
			}
		}
		s, err := cl.PollInterface(ctx, c.index)
		if err != nil {
			return snmpFailure(err)
		}
		// A reboot may renumber interfaces; a vanished index too. Find
		// the interface by its name again, then poll once more.
		rebooted := c.seen && s.Uptime > 0 && s.Uptime < c.prev.Uptime
		if (!s.Present || rebooted) && c.name != "" {
			why := "interface index gone"
			if rebooted {
				why = "sysUpTime went backwards"
			}
			if r, ok := c.rediscover(ctx, cl, why); !ok {
				return r
			}
			if s, err = cl.PollInterface(ctx, c.index); err != nil {
				return snmpFailure(err)
			}
			c.seen = false // counters restarted: no rate from the old ones
		}
		if !s.Present {
			return Result{State: Critical, Output: fmt.Sprintf("IF CRITICAL - %s: the agent has no interface with index %d", c.display(), c.index)}
		}
		return c.result(s, rebooted)
	})
}

// rediscover finds the interface's index by its name.
func (c *ifCheck) rediscover(ctx context.Context, cl *snmp.Client, why string) (Result, bool) {
	ifs, err := cl.Interfaces(ctx)
	if err != nil {
		return snmpFailure(fmt.Errorf("finding interface %q (%s): %w", c.name, why, err)), false
	}
	for _, it := range ifs {
		if it.Name == c.name || it.Descr == c.name {
			c.index = it.Index
			return Result{}, true
		}
	}
	return Result{State: Critical, Output: fmt.Sprintf("IF CRITICAL - no interface named %q on the agent (%s)", c.name, why)}, false
}

func (c *ifCheck) display() string {
	n := "ifIndex " + strconv.Itoa(c.index)
	if c.name != "" {
		n = c.name
	}
	if c.alias != "" {
		n += " (" + c.alias + ")"
	}
	return n
}

// result turns a sample into a result; rebooted says the device restarted
// since the previous one (counters reset).
func (c *ifCheck) result(s snmp.IfSample, rebooted bool) Result {
	prev, had := c.prev, c.seen
	c.prev, c.seen = s, true
	name := c.display()
	reset := rebooted || (had && s.Uptime > 0 && s.Uptime < prev.Uptime)
	// Only the octet counters go out raw: in one graph of rates with the
	// error counters, those would be invisible. Errors and discards go
	// out as rates below.
	perf := []Perf{
		{Label: "in_octets", Value: float64(s.In), Unit: "c", Min: ptr(0.0), Max: counterMax(s.Width)},
		{Label: "out_octets", Value: float64(s.Out), Unit: "c", Min: ptr(0.0), Max: counterMax(s.Width)},
	}
	if reset {
		// Without their width the metrics store tells these resets from
		// wraps by the values; with 32 bits it would count a wrap.
		for i := range perf {
			perf[i].Max = nil
		}
	}
	if s.AdminStatus == 2 {
		// An interface shut down on purpose is not a problem.
		return Result{State: OK, Output: fmt.Sprintf("IF OK - %s is administratively down (ignored)", name), Perfdata: perf}
	}
	if s.OperStatus != 1 {
		return Result{State: Critical, Output: fmt.Sprintf("IF CRITICAL - %s is %s (admin %s)", name, snmp.StatusName(s.OperStatus), snmp.StatusName(s.AdminStatus)), Perfdata: perf}
	}
	secs := s.Time.Sub(prev.Time).Seconds()
	if !had || secs <= 0 || reset || s.Width != prev.Width {
		return Result{State: OK, Output: fmt.Sprintf("IF OK - %s is up, %s; rates from the next poll", name, speedText(s.SpeedBps)), Perfdata: perf}
	}
	inBps := float64(snmp.CounterDelta(prev.In, s.In, s.Width)) * 8 / secs
	outBps := float64(snmp.CounterDelta(prev.Out, s.Out, s.Width)) * 8 / secs
	errs := float64(snmp.CounterDelta(prev.InErrors, s.InErrors, 32)+snmp.CounterDelta(prev.OutErrors, s.OutErrors, 32)) / secs
	disc := float64(snmp.CounterDelta(prev.InDiscards, s.InDiscards, 32)+snmp.CounterDelta(prev.OutDiscards, s.OutDiscards, 32)) / secs
	perf = append(perf,
		// "b/s" keeps the traffic in a graph of its own, apart from the
		// errors per second, and scaled as bits per second.
		Perf{Label: "in_bps", Value: roundTo(inBps, 3), Unit: "b/s", Min: ptr(0.0)},
		Perf{Label: "out_bps", Value: roundTo(outBps, 3), Unit: "b/s", Min: ptr(0.0)},
		Perf{Label: "errors_per_second", Value: roundTo(errs, 6), Warn: c.errWarn, Crit: c.errCrit, Min: ptr(0.0)},
		Perf{Label: "discards_per_second", Value: roundTo(disc, 6), Min: ptr(0.0)},
	)
	st := stateOf(errs, c.errWarn, c.errCrit)
	util := ""
	if s.SpeedBps > 0 {
		inU, outU := 100*inBps/s.SpeedBps, 100*outBps/s.SpeedBps
		perf = append(perf,
			Perf{Label: "in_utilisation", Value: roundTo(inU, 3), Unit: "%", Warn: c.warn, Crit: c.crit, Min: ptr(0.0), Max: ptr(100.0)},
			Perf{Label: "out_utilisation", Value: roundTo(outU, 3), Unit: "%", Warn: c.warn, Crit: c.crit, Min: ptr(0.0), Max: ptr(100.0)})
		if u := stateOf(max(inU, outU), c.warn, c.crit); Worse(u, st) {
			st = u
		}
		util = fmt.Sprintf(" (%.1f%% / %.1f%% of %s)", inU, outU, speedText(s.SpeedBps))
	}
	out := fmt.Sprintf("IF %s - %s is up, in %s, out %s%s", st, name, humanRate(inBps, "b/s"), humanRate(outBps, "b/s"), util)
	if errs > 0 || disc > 0 {
		out += fmt.Sprintf(", %.2f errors/s, %.2f discards/s", errs, disc)
	}
	return Result{State: st, Output: out, Perfdata: perf}
}

func speedText(bps float64) string {
	if bps <= 0 {
		return "speed unknown"
	}
	return humanRate(bps, "b/s")
}
