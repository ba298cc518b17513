// Package rules qualifies events before the alarm engine stores them: an
// ordered list of rules, each a set of conditions on the event's fields
// and the actions to take when they all hold (set the criticality, the
// domain or the category, rewrite or rename fields, add tags, drop the
// event). The first matching rule wins unless it says continue.
package rules

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// Rule is a rule as written in YAML or sent to the API.
type Rule struct {
	Name    string      `yaml:"name" json:"name"`
	Match   []Condition `yaml:"match" json:"match"`
	Actions Actions     `yaml:"actions" json:"actions"`
}

// Condition is one test on a field; exactly one operator is set.
// Numeric operators compare the field read as a number (state is one).
type Condition struct {
	Field  string   `yaml:"field" json:"field"`
	Equals *string  `yaml:"equals,omitempty" json:"equals,omitempty"`
	Regex  *string  `yaml:"regex,omitempty" json:"regex,omitempty"`
	In     []string `yaml:"in,omitempty" json:"in,omitempty"`
	Gt     *float64 `yaml:"gt,omitempty" json:"gt,omitempty"`
	Gte    *float64 `yaml:"gte,omitempty" json:"gte,omitempty"`
	Lt     *float64 `yaml:"lt,omitempty" json:"lt,omitempty"`
	Lte    *float64 `yaml:"lte,omitempty" json:"lte,omitempty"`
	Exists *bool    `yaml:"exists,omitempty" json:"exists,omitempty"`
}

// Actions is what a matching rule does, in this order: set, rename,
// add_tags, then the qualification (criticality, domain, category).
type Actions struct {
	SetCriticality string `yaml:"set_criticality,omitempty" json:"set_criticality,omitempty"`
	SetDomain      string `yaml:"set_domain,omitempty" json:"set_domain,omitempty"`
	SetCategory    string `yaml:"set_category,omitempty" json:"set_category,omitempty"`
	// Set gives fields a value (component, tags.site…).
	Set map[string]string `yaml:"set,omitempty" json:"set,omitempty"`
	// Rename moves a field's value to another (from: to), emptying the
	// first: tags.host: resource. An empty or absent field moves nothing.
	Rename  map[string]string `yaml:"rename,omitempty" json:"rename,omitempty"`
	AddTags map[string]string `yaml:"add_tags,omitempty" json:"add_tags,omitempty"`
	// Drop discards the event: it never reaches the alarms.
	Drop bool `yaml:"drop,omitempty" json:"drop,omitempty"`
	// Continue lets the next rules apply too; by default the first
	// matching rule is the last.
	Continue bool `yaml:"continue,omitempty" json:"continue,omitempty"`
}

// Error is an invalid rule, naming the rule and the key at fault
// ("match[1].regex", "actions.set.state").
type Error struct {
	Rule string
	// Index is the rule's place in its list, -1 when unknown.
	Index int
	Key   string
	Msg   string
}

func (e *Error) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("rule %q: %s: %s", e.Rule, e.Key, e.Msg)
	}
	return e.Key + ": " + e.Msg
}

// Fields an event is matched on and written to, besides tags.<name>.
var Fields = []string{"connector", "connector_name", "event_type", "source_type", "component", "resource",
	"state", "output", "long_output", "perf_data", "criticality", "domain", "category"}

var ruleName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// field reads and writes one field of an event.
type field struct {
	name string
	tag  string // for tags.<name>
}

func parseField(name string) (field, bool) {
	if t, ok := strings.CutPrefix(name, "tags."); ok {
		return field{name: name, tag: t}, t != ""
	}
	return field{name: name}, slices.Contains(Fields, name)
}

// str points at the event's string field f names (nil for state and
// tags, which are not plain strings): one table for reading and writing.
func (f field) str(e *events.Event) *string {
	switch f.name {
	case "connector":
		return &e.Connector
	case "connector_name":
		return &e.ConnectorName
	case "event_type":
		return &e.EventType
	case "source_type":
		return &e.SourceType
	case "component":
		return &e.Component
	case "resource":
		return &e.Resource
	case "output":
		return &e.Output
	case "long_output":
		return &e.LongOutput
	case "perf_data":
		return &e.PerfData
	case "criticality":
		return &e.Criticality
	case "domain":
		return &e.Domain
	case "category":
		return &e.Category
	}
	return nil
}

func (f field) get(e *events.Event) (string, bool) {
	switch {
	case f.tag != "":
		v, ok := e.Tags[f.tag]
		return v, ok
	case f.name == "state":
		return strconv.Itoa(e.State), true
	}
	if p := f.str(e); p != nil {
		return *p, *p != ""
	}
	return "", false
}

func (f field) number(e *events.Event) (float64, bool) {
	if f.name == "state" {
		return float64(e.State), true
	}
	v, ok := f.get(e)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return n, err == nil && !math.IsNaN(n)
}

// set writes v; the event's tags are copied before the first change so
// that the caller's map is never modified.
func (f field) set(e *events.Event, v string, owned *bool) {
	if f.tag != "" {
		if !*owned {
			e.Tags = maps.Clone(e.Tags)
			*owned = true
		}
		if e.Tags == nil {
			e.Tags = map[string]string{}
		}
		if v == "" {
			delete(e.Tags, f.tag)
		} else {
			e.Tags[f.tag] = v
		}
		return
	}
	if f.name == "state" {
		n, _ := strconv.Atoi(v) // checked at compile time, or by the caller
		e.State = n
		return
	}
	if p := f.str(e); p != nil {
		*p = v
	}
}

type cond struct {
	f    field
	test func(e *events.Event) bool
}

type assign struct {
	f field
	v string
}

type move struct{ from, to field }

// compiled is a rule ready to apply.
type compiled struct {
	Rule
	conds   []cond
	sets    []assign
	renames []move
	hits    *counts
}

type counts struct{ hits, dropped atomic.Uint64 }

// compile checks a rule and prepares it: regexes compiled, fields
// resolved, maps put in a stable order.
func compile(r Rule, index int) (*compiled, error) {
	bad := func(key, format string, a ...any) error {
		return &Error{Rule: r.Name, Index: index, Key: key, Msg: fmt.Sprintf(format, a...)}
	}
	if !ruleName.MatchString(r.Name) {
		return nil, bad("name", "must be 1 to 100 letters, digits, '_', '.', ':', '-'")
	}
	c := &compiled{Rule: r}
	for i, m := range r.Match {
		key := fmt.Sprintf("match[%d]", i)
		f, ok := parseField(m.Field)
		if !ok {
			if m.Field == "" {
				return nil, bad(key+".field", "is required")
			}
			return nil, bad(key+".field", "unknown field %q (want one of %s or tags.<name>)", m.Field, strings.Join(Fields, ", "))
		}
		var (
			ops  []string
			test func(*events.Event) bool
		)
		if m.Equals != nil {
			ops = append(ops, "equals")
			want := *m.Equals
			test = func(e *events.Event) bool { v, _ := f.get(e); return v == want }
		}
		if m.Regex != nil {
			ops = append(ops, "regex")
			re, err := regexp.Compile(`^(?:` + *m.Regex + `)$`)
			if err != nil {
				// Name the fault, not the anchored expression the writer never
				// wrote (the console shows this beside the field).
				msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
				var se *syntax.Error
				if _, err := regexp.Compile(*m.Regex); errors.As(err, &se) {
					msg = string(se.Code)
				}
				return nil, bad(key+".regex", "compiling %q: %s", *m.Regex, msg)
			}
			test = func(e *events.Event) bool { v, _ := f.get(e); return re.MatchString(v) }
		}
		if m.In != nil {
			ops = append(ops, "in")
			if len(m.In) == 0 {
				return nil, bad(key+".in", "must list at least one value")
			}
			set := make(map[string]struct{}, len(m.In))
			for _, v := range m.In {
				set[v] = struct{}{}
			}
			test = func(e *events.Event) bool { v, _ := f.get(e); _, ok := set[v]; return ok }
		}
		for _, n := range []struct {
			op  string
			v   *float64
			cmp func(a, b float64) bool
		}{
			{"gt", m.Gt, func(a, b float64) bool { return a > b }},
			{"gte", m.Gte, func(a, b float64) bool { return a >= b }},
			{"lt", m.Lt, func(a, b float64) bool { return a < b }},
			{"lte", m.Lte, func(a, b float64) bool { return a <= b }},
		} {
			if n.v == nil {
				continue
			}
			ops = append(ops, n.op)
			want, cmp := *n.v, n.cmp
			test = func(e *events.Event) bool { v, ok := f.number(e); return ok && cmp(v, want) }
		}
		if m.Exists != nil {
			ops = append(ops, "exists")
			want := *m.Exists
			test = func(e *events.Event) bool { _, ok := f.get(e); return ok == want }
		}
		switch len(ops) {
		case 0:
			return nil, bad(key, "needs one of equals, regex, in, gt, gte, lt, lte, exists")
		case 1:
		default:
			return nil, bad(key, "has %s: one operator per condition", strings.Join(ops, " and "))
		}
		c.conds = append(c.conds, cond{f, test})
	}
	a := r.Actions
	switch a.SetCriticality {
	case "", events.Green, events.Orange, events.Red:
	default:
		return nil, bad("actions.set_criticality", "must be green, orange or red, not %q", a.SetCriticality)
	}
	for _, k := range slices.Sorted(maps.Keys(a.Set)) {
		f, ok := parseField(k)
		if !ok {
			return nil, bad("actions.set."+k, "unknown field (want one of %s or tags.<name>)", strings.Join(Fields, ", "))
		}
		if err := checkValue(f, a.Set[k]); err != "" {
			return nil, bad("actions.set."+k, "%s", err)
		}
		c.sets = append(c.sets, assign{f, a.Set[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(a.Rename)) {
		from, ok := parseField(k)
		if !ok || from.name == "state" {
			return nil, bad("actions.rename."+k, "unknown field or not a text field")
		}
		if required(from.name) {
			return nil, bad("actions.rename."+k, "is required in every event and cannot be emptied; copy it with set instead")
		}
		to, ok := parseField(a.Rename[k])
		if !ok || to.name == "state" {
			return nil, bad("actions.rename."+k, "%q is an unknown field or not a text field", a.Rename[k])
		}
		c.renames = append(c.renames, move{from, to})
	}
	for k := range a.AddTags {
		if k == "" || len(k) > events.MaxTagKeyBytes {
			return nil, bad("actions.add_tags", "key %q must be 1 to %d bytes", k, events.MaxTagKeyBytes)
		}
	}
	if a.Drop && (a.Continue || a.SetCriticality != "" || a.SetDomain != "" || a.SetCategory != "" || len(a.Set)+len(a.Rename)+len(a.AddTags) > 0) {
		return nil, bad("actions.drop", "a dropping rule takes no other action")
	}
	if !a.Drop && !a.Continue && a.SetCriticality == "" && a.SetDomain == "" && a.SetCategory == "" && len(a.Set)+len(a.Rename)+len(a.AddTags) == 0 {
		return nil, bad("actions", "must do something: set_criticality, set_domain, set_category, set, rename, add_tags or drop")
	}
	return c, nil
}

func checkValue(f field, v string) string {
	switch f.name {
	case "state":
		n, err := strconv.Atoi(v)
		if err != nil || n < events.StateOK || n > events.StateCritical {
			return fmt.Sprintf("must be 0 to 3, not %q", v)
		}
	case "criticality":
		if v != "" && v != events.Green && v != events.Orange && v != events.Red {
			return fmt.Sprintf("must be green, orange or red, not %q", v)
		}
	case "event_type":
		if v != events.TypeCheck && v != events.TypeLog {
			return fmt.Sprintf("must be %q or %q, not %q", events.TypeCheck, events.TypeLog, v)
		}
	case "source_type":
		if v != "component" && v != "resource" {
			return fmt.Sprintf(`must be "component" or "resource", not %q`, v)
		}
	case "connector", "connector_name", "component":
		if v == "" {
			return "must not be empty"
		}
	}
	return ""
}

// required fields are in every event: a rule may rewrite them, never
// empty them.
func required(name string) bool {
	switch name {
	case "connector", "connector_name", "event_type", "source_type", "component":
		return true
	}
	return false
}

func (c *compiled) matches(e *events.Event) bool {
	for i := range c.conds {
		if !c.conds[i].test(e) {
			return false
		}
	}
	return true
}

// apply runs the actions on e; it reports whether e is dropped.
func (c *compiled) apply(e *events.Event, owned *bool) bool {
	a := &c.Actions
	if a.Drop {
		return true
	}
	for _, s := range c.sets {
		s.f.set(e, s.v, owned)
	}
	for _, m := range c.renames {
		v, ok := m.from.get(e)
		if !ok {
			continue // nothing to move: the target keeps its value
		}
		m.from.set(e, "", owned)
		m.to.set(e, v, owned)
	}
	if len(a.AddTags) > 0 {
		if !*owned {
			e.Tags = maps.Clone(e.Tags)
			*owned = true
		}
		if e.Tags == nil {
			e.Tags = make(map[string]string, len(a.AddTags))
		}
		maps.Copy(e.Tags, a.AddTags)
	}
	if a.SetCriticality != "" {
		e.Criticality = a.SetCriticality
	}
	if a.SetDomain != "" {
		e.Domain = a.SetDomain
	}
	if a.SetCategory != "" {
		e.Category = a.SetCategory
	}
	return false
}
