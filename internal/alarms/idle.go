package alarms

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// Idle alarms: a component that an idle rule watches and that sent no
// event for the rule's After gets an alarm of connector "vigie",
// connector_name "idle", resource the rule's name; its next event
// resolves it.
const (
	IdleConnector     = "vigie"
	IdleConnectorName = "idle"
	// IdleCheckEvery is how often Run looks for idle components.
	IdleCheckEvery = 30 * time.Second
	// IdleSinceTag is the tag of an idle alarm that says, in RFC 3339, when
	// its component's last event came: the output only says for how long
	// the rule waits, and the engine looks only every IdleCheckEvery.
	IdleSinceTag = "silent_since"
)

// IdleRule watches the components its patterns match (nil matches all).
type IdleRule struct {
	Name                                string
	Connector, ConnectorName, Component *regexp.Regexp
	After                               time.Duration
}

func (r *IdleRule) matches(k Source) bool {
	return (r.Connector == nil || r.Connector.MatchString(k.Connector)) &&
		(r.ConnectorName == nil || r.ConnectorName.MatchString(k.ConnectorName)) &&
		(r.Component == nil || r.Component.MatchString(k.Component))
}

// Source is what idle rules watch: one component as one connector sees it.
type Source struct {
	Connector, ConnectorName, Component string
}

// LastSeen is when a source sent its last event, as the store keeps it.
type LastSeen struct {
	Source
	Time time.Time
}

// seen is a source's last event and the idle rules that watch it.
type seen struct {
	last  time.Time
	rules []int // indexes in Engine.idleRules
	dirty bool  // changed since last saved
	// idle holds the rules whose alarm this source has open.
	idle []int
}

// noteSeen records a check event's source. The caller holds wmu.
func (b *batchState) noteSeen(ev *events.Event) {
	e := b.e
	if len(e.idleRules) == 0 || (ev.Connector == IdleConnector && ev.ConnectorName == IdleConnectorName) {
		return
	}
	k := Source{ev.Connector, ev.ConnectorName, ev.Component}
	s := e.seen[k]
	if s == nil {
		s = &seen{rules: e.rulesOf(k)}
		e.seen[k] = s
	}
	if len(s.rules) == 0 {
		return
	}
	if b.now.After(s.last) {
		s.last, s.dirty = b.now, true
	}
	for _, r := range s.idle {
		b.idleOK = append(b.idleOK, idleEvent(k, e.idleRules[r], events.StateOK, b.now, time.Time{}))
	}
	s.idle = nil
}

func (e *Engine) rulesOf(k Source) []int {
	var out []int
	for i := range e.idleRules {
		if e.idleRules[i].matches(k) {
			out = append(out, i)
		}
	}
	return out
}

// idleEvent is the event of an idle rule's alarm; since, when known, is the
// source's last event.
func idleEvent(k Source, r IdleRule, state int, now, since time.Time) events.Event {
	ev := events.Event{Connector: IdleConnector, ConnectorName: IdleConnectorName, EventType: events.TypeCheck, SourceType: "resource",
		Component: k.Component, Resource: r.Name, State: state, Time: now}
	if !since.IsZero() {
		ev.Tags = map[string]string{IdleSinceTag: since.UTC().Format(time.RFC3339)}
	}
	if state != events.StateOK {
		ev.Output = fmt.Sprintf("no events from %s for %s", k.Component, shortDuration(r.After))
	} else {
		ev.Output = fmt.Sprintf("events from %s again", k.Component)
	}
	return ev
}

// CheckIdle raises the alarms of the sources idle for their rules'
// After, and saves the last-seen times changed since the last check; Run
// calls it every IdleCheckEvery. A source last seen before the engine
// started counts from the start.
func (e *Engine) CheckIdle(ctx context.Context) error {
	if len(e.idleRules) == 0 {
		return nil
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	now := e.now().UTC()
	var (
		save   []LastSeen
		raised []*seen
		evs    []events.Event
	)
	for k, s := range e.seen {
		if s.dirty {
			save = append(save, LastSeen{Source: k, Time: s.last})
		}
		last := s.last
		if last.Before(e.started) {
			last = e.started
		}
		for _, r := range s.rules {
			rule := e.idleRules[r]
			if now.Sub(last) < rule.After || contains(s.idle, r) {
				continue
			}
			evs = append(evs, idleEvent(k, rule, events.StateCritical, now, s.last))
			s.idle = append(s.idle, r)
			raised = append(raised, s)
		}
	}
	if len(save) > 0 {
		if err := e.st.SaveLastSeen(ctx, save); err != nil {
			return fmt.Errorf("saving last-seen times: %w", err)
		}
		for _, l := range save {
			if s := e.seen[l.Source]; s != nil && s.last.Equal(l.Time) {
				s.dirty = false
			}
		}
	}
	if len(evs) == 0 {
		return nil
	}
	err := e.commit(ctx, func(b *batchState) { b.events(evs) })
	if err != nil {
		// Raised again at the next check.
		for _, s := range raised {
			s.idle = nil
		}
		return fmt.Errorf("raising idle alarms: %w", err)
	}
	return nil
}

func contains(l []int, v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// loadIdle restores the last-seen times and which sources have an idle
// alarm open.
func (e *Engine) loadIdle(ctx context.Context) error {
	if len(e.idleRules) == 0 {
		return nil
	}
	l, err := e.st.LastSeenTimes(ctx)
	if err != nil {
		return fmt.Errorf("loading last-seen times: %w", err)
	}
	for _, ls := range l {
		e.seen[ls.Source] = &seen{last: ls.Time, rules: e.rulesOf(ls.Source)}
	}
	byName := map[string]int{}
	for i, r := range e.idleRules {
		byName[r.Name] = i
	}
	for k, a := range e.open {
		if k.Connector != IdleConnector || k.ConnectorName != IdleConnectorName {
			continue
		}
		r, ok := byName[k.Resource]
		if !ok {
			continue
		}
		// Sources are known by component only here: the alarm is marked
		// on every source of that component the rule watches.
		for src, s := range e.seen {
			if src.Component == a.Component && contains(s.rules, r) {
				s.idle = append(s.idle, r)
			}
		}
	}
	return nil
}

// shortDuration writes 10m, 1h, 1h30m rather than 10m0s, 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
