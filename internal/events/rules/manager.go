package rules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// Sources of a rule.
const (
	SourceConfig = "config" // events.rules in the YAML: read-only through the API
	SourceAPI    = "api"
)

// Errors of the Manager, for the API to answer with.
var (
	ErrNotFound        = errors.New("no such rule")
	ErrExists          = errors.New("a rule of that name exists")
	ErrManagedByConfig = errors.New("this rule comes from the configuration file (events.rules); edit the file instead")
)

// Store keeps the rules made through the API (internal/store).
type Store interface {
	ListEventRules(ctx context.Context) ([]Rule, error)
	ReplaceEventRules(ctx context.Context, rs []Rule) error
}

// Listed is a rule with where it comes from and its counters.
type Listed struct {
	Rule
	Source  string `json:"source"`
	Hits    uint64 `json:"hits"`
	Dropped uint64 `json:"dropped"`
}

// Manager keeps the engine's rules in step with the configuration's
// (first, read-only) and the stored ones (after, editable): every change
// is checked, stored, then put in force.
type Manager struct {
	eng    *Engine
	st     Store
	config []Rule

	mu     sync.Mutex // serialises changes
	stored []Rule
}

// NewManager loads the stored rules and puts them in force after the
// configuration's. A stored rule named like a configuration rule, or one
// that no longer compiles, is left out (kept in the store) and reported
// in skipped.
func NewManager(ctx context.Context, eng *Engine, st Store, config []Rule) (m *Manager, skipped []error, err error) {
	stored, err := st.ListEventRules(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the event rules: %w", err)
	}
	m = &Manager{eng: eng, st: st, config: config}
	for _, r := range stored {
		if slices.ContainsFunc(config, func(c Rule) bool { return c.Name == r.Name }) {
			skipped = append(skipped, fmt.Errorf("stored rule %q: left out, events.rules has a rule of that name", r.Name))
			continue
		}
		if err := CompileOne(r); err != nil {
			skipped = append(skipped, fmt.Errorf("stored rule left out: %w", err))
			continue
		}
		m.stored = append(m.stored, r)
	}
	if err := eng.Replace(m.all(m.stored)); err != nil {
		return nil, skipped, fmt.Errorf("putting the event rules in force: %w", err)
	}
	return m, skipped, nil
}

func (m *Manager) all(stored []Rule) []Rule {
	return append(slices.Clip(m.config), stored...)
}

// List returns every rule in force, in order, with its counters.
func (m *Manager) List() []Listed {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := m.eng.Rules()
	out := make([]Listed, len(rs))
	for i, r := range rs {
		src := SourceAPI
		if i < len(m.config) {
			src = SourceConfig
		}
		h, d := m.eng.Hits(r.Name)
		out[i] = Listed{Rule: r, Source: src, Hits: h, Dropped: d}
	}
	return out
}

// Get returns one rule.
func (m *Manager) Get(name string) (Listed, error) {
	for _, l := range m.List() {
		if l.Name == name {
			return l, nil
		}
	}
	return Listed{}, fmt.Errorf("rule %q: %w", name, ErrNotFound)
}

// Create adds r at position among the API's rules (0 first; nil or past
// the end: last).
func (m *Manager) Create(ctx context.Context, r Rule, position *int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.taken(r.Name, ""); err != nil {
		return err
	}
	next := slices.Clone(m.stored)
	at := len(next)
	if position != nil && *position >= 0 && *position < at {
		at = *position
	}
	next = slices.Insert(next, at, r)
	return m.commit(ctx, next)
}

// Update replaces the rule name with r (which may rename it), in place.
func (m *Manager) Update(ctx context.Context, name string, r Rule) error {
	return m.UpdateAt(ctx, name, r, nil)
}

// UpdateAt replaces the rule name with r and, with a position, moves it
// there among the API's rules (0 first; past the end: last); without one
// it stays where it is. One change, so that a rule is never missing from
// the rules in force while it moves.
func (m *Manager) UpdateAt(ctx context.Context, name string, r Rule, position *int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.index(name)
	if err != nil {
		return err
	}
	if err := m.taken(r.Name, name); err != nil {
		return err
	}
	next := slices.Clone(m.stored)
	next[i] = r
	if position != nil && *position >= 0 && *position != i {
		next = slices.Delete(next, i, i+1)
		next = slices.Insert(next, min(*position, len(next)), r)
	}
	return m.commit(ctx, next)
}

// Delete removes a rule.
func (m *Manager) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.index(name)
	if err != nil {
		return err
	}
	return m.commit(ctx, slices.Delete(slices.Clone(m.stored), i, i+1))
}

func (m *Manager) index(name string) (int, error) {
	if slices.ContainsFunc(m.config, func(c Rule) bool { return c.Name == name }) {
		return 0, fmt.Errorf("rule %q: %w", name, ErrManagedByConfig)
	}
	i := slices.IndexFunc(m.stored, func(r Rule) bool { return r.Name == name })
	if i < 0 {
		return 0, fmt.Errorf("rule %q: %w", name, ErrNotFound)
	}
	return i, nil
}

// taken refuses a name another rule has (but the one being replaced).
func (m *Manager) taken(name, replacing string) error {
	if name == replacing {
		return nil
	}
	if slices.ContainsFunc(m.config, func(c Rule) bool { return c.Name == name }) {
		return fmt.Errorf("rule %q: %w", name, ErrManagedByConfig)
	}
	if slices.ContainsFunc(m.stored, func(c Rule) bool { return c.Name == name }) {
		return fmt.Errorf("rule %q: %w", name, ErrExists)
	}
	return nil
}

// commit checks the new list, stores it, then puts it in force.
func (m *Manager) commit(ctx context.Context, next []Rule) error {
	all := m.all(next)
	if _, err := Compile(all); err != nil {
		return err
	}
	if err := m.st.ReplaceEventRules(ctx, next); err != nil {
		return fmt.Errorf("storing the event rules: %w", err)
	}
	if err := m.eng.Replace(all); err != nil {
		return err
	}
	m.stored = next
	return nil
}

// DryRun applies the rules in force to a copy of e, counting nothing.
func (m *Manager) DryRun(e events.Event) (events.Event, Result) { return m.eng.Set().DryRun(e) }

// SetConfig puts new configuration rules in force (the YAML was reloaded).
// Stored rules named like one of them are left out, and returned.
func (m *Manager) SetConfig(rs []Rule) (skipped []string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var stored []Rule
	for _, r := range m.stored {
		if slices.ContainsFunc(rs, func(c Rule) bool { return c.Name == r.Name }) {
			skipped = append(skipped, r.Name)
			continue
		}
		stored = append(stored, r)
	}
	if err := m.eng.Replace(append(slices.Clip(rs), stored...)); err != nil {
		return nil, err
	}
	m.config, m.stored = rs, stored
	return skipped, nil
}
