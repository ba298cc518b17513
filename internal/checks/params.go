package checks

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// params reads a Spec's parameters, accepting the forms they arrive in:
// strings from command-line flags, float64 from JSON, int from YAML. The
// first error is kept and names the parameter as the user wrote it.
type params struct {
	spec Spec
	// defaults are read when spec lacks a key (a host's SNMP settings
	// under its services' own).
	defaults Spec
	used     map[string]bool
	err      error
}

func newParams(spec Spec) *params {
	return &params{spec: spec, used: map[string]bool{"kind": true}}
}

func (p *params) fail(key, format string, a ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("check.%s: %s", key, fmt.Sprintf(format, a...))
	}
}

func (p *params) get(key string) (any, bool) {
	p.used[key] = true
	v, ok := p.spec[key]
	if !ok && p.defaults != nil {
		v, ok = p.defaults[key]
	}
	if ok && v == nil {
		return nil, false
	}
	return v, ok
}

func (p *params) str(key, def string) string {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	switch t := v.(type) {
	case string:
		return t
	case float64, int, int64, bool:
		return fmt.Sprint(t)
	}
	p.fail(key, "must be a string")
	return def
}

func (p *params) num(key string, def float64) float64 {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	switch t := v.(type) {
	case float64:
		return t
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
	p.fail(key, "must be a number")
	return def
}

func (p *params) integer(key string, def, min, max int) int {
	f := p.num(key, float64(def))
	if f != math.Trunc(f) || f < float64(min) || f > float64(max) {
		p.fail(key, "must be an integer between %d and %d", min, max)
		return def
	}
	return int(f)
}

func (p *params) boolean(key string, def bool) bool {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	switch t := v.(type) {
	case bool:
		return t
	case string:
		b, err := strconv.ParseBool(t)
		if err == nil {
			return b
		}
	}
	p.fail(key, "must be true or false")
	return def
}

func (p *params) duration(key string, def time.Duration) time.Duration {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	var d time.Duration
	var err error
	switch t := v.(type) {
	case string:
		d, err = time.ParseDuration(t)
		if err != nil {
			var f float64
			if f, err = strconv.ParseFloat(t, 64); err == nil {
				d = time.Duration(f * float64(time.Second))
			}
		}
	case float64:
		d = time.Duration(t * float64(time.Second))
	case int:
		d = time.Duration(t) * time.Second
	default:
		err = fmt.Errorf("bad type")
	}
	if err != nil || d < 0 {
		p.fail(key, "must be a duration such as \"500ms\" or \"2s\"")
		return def
	}
	return d
}

// strings reads a list of strings, or one string.
func (p *params) strs(key string) []string {
	v, ok := p.get(key)
	if !ok {
		return nil
	}
	switch t := v.(type) {
	case string:
		return []string{t}
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			switch s := e.(type) {
			case string:
				out = append(out, s)
			case float64, int, bool:
				out = append(out, fmt.Sprint(s))
			default:
				p.fail(key, "must be a list of strings")
				return nil
			}
		}
		return out
	}
	p.fail(key, "must be a string or a list of strings")
	return nil
}

func (p *params) stringMap(key string) map[string]string {
	v, ok := p.get(key)
	if !ok {
		return nil
	}
	out := map[string]string{}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			out[k] = fmt.Sprint(e)
		}
	case map[string]string:
		return t
	default:
		p.fail(key, "must be a mapping of names to values")
	}
	return out
}

// threshold reads a Nagios range parameter.
func (p *params) threshold(key string) *Range {
	v, ok := p.get(key)
	if !ok {
		return nil
	}
	s := fmt.Sprint(v)
	if f, isNum := v.(float64); isNum {
		s = formatFloat(f)
	}
	r, err := ParseRange(s)
	if err != nil {
		p.fail(key, "%v", err)
		return nil
	}
	return &r
}

// done reports the first error, or an unknown parameter.
func (p *params) done(kind string) error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	for k := range p.spec {
		if !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("check.%s: unknown parameter for kind %s", unknown[0], kind)
	}
	return nil
}
