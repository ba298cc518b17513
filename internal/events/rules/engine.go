package rules

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// Set is a compiled, ordered list of rules. It never changes once built.
type Set struct {
	rules []*compiled
}

// Compile checks every rule and builds the set. Names must be unique; the
// error names the rule and the key at fault.
func Compile(rs []Rule) (*Set, error) {
	s := &Set{rules: make([]*compiled, 0, len(rs))}
	seen := make(map[string]bool, len(rs))
	for i, r := range rs {
		c, err := compile(r, i)
		if err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, &Error{Rule: r.Name, Index: i, Key: "name", Msg: "is defined twice"}
		}
		seen[r.Name] = true
		c.hits = new(counts)
		s.rules = append(s.rules, c)
	}
	return s, nil
}

// CompileOne checks one rule, for a dry run or before storing it.
func CompileOne(r Rule) error {
	_, err := compile(r, -1)
	return err
}

// Len is the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// Result is what the rules did to one event.
type Result struct {
	// Matched lists the names of the rules that matched, in order.
	Matched []string
	// Dropped is set when a rule dropped the event (the last matched).
	Dropped bool
}

// apply runs the rules on e in order and counts each match on its
// rule's counters when count is set.
func (s *Set) apply(e *events.Event, count bool, matched *[]string) (dropped bool) {
	owned := false
	for _, c := range s.rules {
		if !c.matches(e) {
			continue
		}
		if matched != nil {
			*matched = append(*matched, c.Name)
		}
		drop := c.apply(e, &owned)
		if count {
			c.hits.hits.Add(1)
			if drop {
				c.hits.dropped.Add(1)
			}
		}
		if drop {
			return true
		}
		if !c.Actions.Continue {
			return false
		}
	}
	return false
}

// Apply qualifies e in place, counting hits; it reports whether the
// event is dropped. e's tags map is copied before any change.
func (s *Set) Apply(e *events.Event) bool { return s.apply(e, true, nil) }

// DryRun applies the rules to a copy of e without counting anything.
func (s *Set) DryRun(e events.Event) (events.Event, Result) {
	var r Result
	r.Dropped = s.apply(&e, false, &r.Matched)
	return e, r
}

// DryRunRule applies one rule, alone, to a copy of e.
func DryRunRule(r Rule, e events.Event) (events.Event, Result, error) {
	c, err := compile(r, -1)
	if err != nil {
		return e, Result{}, err
	}
	c.hits = new(counts)
	out, res := (&Set{rules: []*compiled{c}}).DryRun(e)
	return out, res, nil
}

// Engine holds the rules in force, replaced as a whole, and the counters
// of each rule by name (kept across replacements).
type Engine struct {
	set atomic.Pointer[Set]

	mu     sync.Mutex
	counts map[string]*counts
}

// NewEngine returns an engine with no rules.
func NewEngine() *Engine {
	e := &Engine{counts: map[string]*counts{}}
	e.set.Store(&Set{})
	return e
}

// Replace puts rs in force, after compiling them.
func (e *Engine) Replace(rs []Rule) error {
	s, err := Compile(rs)
	if err != nil {
		return err
	}
	e.mu.Lock()
	for _, c := range s.rules {
		n, ok := e.counts[c.Name]
		if !ok {
			n = new(counts)
			e.counts[c.Name] = n
		}
		c.hits = n
	}
	e.mu.Unlock()
	e.set.Store(s)
	return nil
}

// Set returns the rules in force.
func (e *Engine) Set() *Set { return e.set.Load() }

// Rules returns the rules in force, in order.
func (e *Engine) Rules() []Rule {
	s := e.set.Load()
	out := make([]Rule, len(s.rules))
	for i, c := range s.rules {
		out[i] = c.Rule
	}
	return out
}

// Hits returns how many events matched the named rule, and how many of
// them it dropped.
func (e *Engine) Hits(name string) (hits, dropped uint64) {
	e.mu.Lock()
	n, ok := e.counts[name]
	e.mu.Unlock()
	if !ok {
		return 0, 0
	}
	return n.hits.Load(), n.dropped.Load()
}

var (
	hitsDesc = prometheus.NewDesc("vigie_event_rule_hits_total",
		"Events a qualification rule matched.", []string{"rule"}, nil)
	droppedDesc = prometheus.NewDesc("vigie_events_dropped_by_rule_total",
		"Events a qualification rule dropped before the alarm engine.", []string{"rule"}, nil)
)

// Describe implements prometheus.Collector.
func (e *Engine) Describe(ch chan<- *prometheus.Desc) {
	ch <- hitsDesc
	ch <- droppedDesc
}

// Collect implements prometheus.Collector: the counters of every rule
// seen since the start, including removed ones (a counter never goes
// back).
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, n := range e.counts {
		ch <- prometheus.MustNewConstMetric(hitsDesc, prometheus.CounterValue, float64(n.hits.Load()), name)
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(n.dropped.Load()), name)
	}
}

var _ prometheus.Collector = (*Engine)(nil)

// Sink applies the rules in force to every event, then hands the ones
// not dropped to Next. The caller's events are not modified.
type Sink struct {
	Rules *Engine
	Next  events.Sink
}

var _ events.Sink = (*Sink)(nil)

// Ingest implements events.Sink: it returns once Next stored the events
// that are kept; a batch entirely dropped returns nil at once.
func (s *Sink) Ingest(ctx context.Context, evs []events.Event) error {
	set := s.Rules.Set()
	if set.Len() == 0 {
		return s.Next.Ingest(ctx, evs)
	}
	kept := make([]events.Event, 0, len(evs))
	for _, ev := range evs {
		if !set.Apply(&ev) {
			kept = append(kept, ev)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	// Next's errors go back as they are: a field error is the sender's.
	return s.Next.Ingest(ctx, kept)
}
