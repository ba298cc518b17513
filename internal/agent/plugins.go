package agent

import (
	"bufio"
	"bytes"
	"context"

	"fmt"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// runner runs one local plugin and turns what it printed into samples and
// a result for its service.
type runner interface {
	run(ctx context.Context) ([]Sample, Result)
}

// nagiosPlugin runs a Nagios plugin through the server's own exec check:
// the same timeout handling, output bound and perfdata parser.
type nagiosPlugin struct {
	name string
	c    checks.Checker
}

func newNagios(p Plugin, dirs []string) (*nagiosPlugin, error) {
	c, err := checks.New(checks.Spec{"kind": "exec", "command": p.Command}, checks.Options{Timeout: p.Timeout.D(), PluginDirs: dirs})
	if err != nil {
		return nil, fmt.Errorf("nagios plugin %s: %w", p.Name, err)
	}
	return &nagiosPlugin{name: p.Name, c: c}, nil
}

func (n *nagiosPlugin) run(ctx context.Context) ([]Sample, Result) {
	r := n.c.Run(ctx)
	out := make([]Sample, 0, len(r.Perfdata))
	for _, p := range r.Perfdata {
		if p.Label == "" || len(p.Label) > MaxNameLen || math.IsNaN(p.Value) {
			continue
		}
		out = append(out, Sample{Service: n.name, Metric: p.Label, Unit: p.Unit, Value: p.Value})
	}
	return out, Result{Service: n.name, State: int(r.State), Output: truncate(r.Output, MaxOutputLen)}
}

// muninPlugin runs a munin-node plugin as munin-node does: "plugin config"
// once for the field types, then "plugin" for "field.value N" lines.
type muninPlugin struct {
	name    string
	path    string
	timeout time.Duration
	config  map[string]MuninField // nil until read
}

// MuninField is what "config" says of one field.
type MuninField struct {
	Label string
	// Type is GAUGE (the default), COUNTER, DERIVE or ABSOLUTE.
	Type string
}

func (m *muninPlugin) run(ctx context.Context) ([]Sample, Result) {
	res := Result{Service: m.name}
	if m.config == nil {
		b, err := m.exec(ctx, "config")
		if err != nil {
			res.State, res.Output = int(checks.Unknown), truncate("munin plugin config: "+err.Error(), MaxOutputLen)
			return nil, res
		}
		if m.config, err = ParseMuninConfig(b); err != nil {
			res.State, res.Output = int(checks.Unknown), truncate("munin plugin config: "+err.Error(), MaxOutputLen)
			return nil, res
		}
	}
	b, err := m.exec(ctx, "")
	if err != nil {
		res.State, res.Output = int(checks.Unknown), truncate("munin plugin: "+err.Error(), MaxOutputLen)
		return nil, res
	}
	vals, err := ParseMuninValues(b)
	out := make([]Sample, 0, len(vals))
	for _, f := range sortedKeys(vals) {
		s := Sample{Service: m.name, Metric: f, Value: vals[f]}
		switch m.config[f].Type {
		case "COUNTER", "DERIVE":
			s.Unit = "c"
		}
		out = append(out, s)
	}
	res.Output = fmt.Sprintf("%d values", len(out))
	if err != nil {
		// Values that parsed are kept; the bad line is said.
		res.State, res.Output = int(checks.Warning), truncate(err.Error(), MaxOutputLen)
	}
	return out, res
}

// exec runs the plugin with one optional argument, bounded in time and
// output (munin plugins are shell scripts that can hang or babble).
func (m *muninPlugin) exec(ctx context.Context, arg string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	var args []string
	if arg != "" {
		args = []string{arg}
	}
	cmd := exec.CommandContext(ctx, m.path, args...)
	cmd.WaitDelay = time.Second
	var out limitedBuffer
	out.max = 256 << 10
	cmd.Stdout = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("timed out after %s", m.timeout)
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// ParseMuninValues reads "field.value N" lines. Values that parse are
// returned; "U" (unknown) is skipped; the first bad line is the error.
func ParseMuninValues(b []byte) (map[string]float64, error) {
	out := map[string]float64{}
	var firstErr error
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, " ")
		field, attr, ok2 := strings.Cut(key, ".")
		if !ok || !ok2 || attr != "value" || !validMuninField(field) {
			if firstErr == nil {
				firstErr = fmt.Errorf("line %d: expected \"field.value N\", got %q", n, truncate(line, 80))
			}
			continue
		}
		val = strings.TrimSpace(val)
		if val == "U" {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			if firstErr == nil {
				firstErr = fmt.Errorf("line %d: %s: %q is not a number", n, field, truncate(val, 40))
			}
			continue
		}
		out[field] = v
	}
	if err := sc.Err(); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("reading the plugin's output: %w", err)
	}
	return out, firstErr
}

// ParseMuninConfig reads the field attributes of "plugin config" (label,
// type); graph_* lines and other attributes are ignored.
func ParseMuninConfig(b []byte) (map[string]MuninField, error) {
	out := map[string]MuninField{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, val, _ := strings.Cut(line, " ")
		field, attr, ok := strings.Cut(key, ".")
		if !ok || strings.HasPrefix(field, "graph_") || !validMuninField(field) {
			continue
		}
		f := out[field]
		switch attr {
		case "label":
			f.Label = truncate(strings.TrimSpace(val), MaxNameLen)
		case "type":
			t := strings.ToUpper(strings.TrimSpace(val))
			switch t {
			case "GAUGE", "COUNTER", "DERIVE", "ABSOLUTE":
				f.Type = t
			default:
				return out, fmt.Errorf("%s.type: unknown type %q (GAUGE, COUNTER, DERIVE, ABSOLUTE)", field, truncate(t, 40))
			}
		default:
			continue
		}
		out[field] = f
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading the plugin's config: %w", err)
	}
	return out, nil
}

// validMuninField: munin field names are [a-zA-Z_][a-zA-Z0-9_]*.
func validMuninField(f string) bool {
	if f == "" || len(f) > MaxNameLen {
		return false
	}
	for i, c := range f {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
