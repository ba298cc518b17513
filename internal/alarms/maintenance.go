package alarms

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// Maintenance is a window during which the alarms of its scope are marked
// in_maintenance: one-off (Start, End) or Weekly. Its scope is Hosts,
// the hosts of Groups, and the components Match selects.
type Maintenance struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Start   time.Time `json:"start,omitzero"`
	End     time.Time `json:"end,omitzero"`
	Weekly  *Weekly   `json:"weekly,omitempty"`
	Hosts   []string  `json:"hosts,omitempty"`
	Groups  []string  `json:"groups,omitempty"`
	Match   *Match    `json:"match,omitempty"`
	Author  string    `json:"author"`
	Created time.Time `json:"created"`
}

// Weekly recurs on Days (mon..sun) at Start ("HH:MM" in TimeZone, UTC
// when empty) for Duration (Go syntax, "2h", at most 7 days).
type Weekly struct {
	Days     []string `json:"days"`
	Start    string   `json:"start"`
	Duration string   `json:"duration"`
	TimeZone string   `json:"timezone,omitempty"`
}

// Match selects sources by whole-value regular expressions; empty fields
// match everything.
type Match struct {
	Connector     string `json:"connector,omitempty"`
	ConnectorName string `json:"connector_name,omitempty"`
	Component     string `json:"component,omitempty"`
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// window is a maintenance compiled for the engine.
type window struct {
	m          Maintenance
	days       [7]bool
	at         time.Duration // after midnight
	dur        time.Duration
	loc        *time.Location
	hosts      map[string]bool
	conn, name *regexp.Regexp
	comp       *regexp.Regexp
	match      bool
}

// compile validates a maintenance, naming the field at fault.
func compile(m Maintenance) (*window, error) {
	w := &window{m: m, hosts: map[string]bool{}}
	switch {
	case m.Name == "":
		return nil, &FieldError{"name", "is required"}
	case m.Weekly == nil && (m.Start.IsZero() || m.End.IsZero()):
		return nil, &FieldError{"start", "start and end, or weekly, are required"}
	case m.Weekly != nil && (!m.Start.IsZero() || !m.End.IsZero()):
		return nil, &FieldError{"weekly", "excludes start and end"}
	case m.Weekly == nil && !m.End.After(m.Start):
		return nil, &FieldError{"end", "must be after start"}
	case len(m.Hosts) == 0 && len(m.Groups) == 0 && m.Match == nil:
		return nil, &FieldError{"hosts", "hosts, groups or match is required"}
	}
	if wk := m.Weekly; wk != nil {
		if len(wk.Days) == 0 {
			return nil, &FieldError{"weekly.days", "is required: mon..sun"}
		}
		for _, d := range wk.Days {
			wd, ok := weekdays[strings.ToLower(d)]
			if !ok {
				return nil, &FieldError{"weekly.days", fmt.Sprintf("%q is not mon..sun", d)}
			}
			w.days[wd] = true
		}
		t, err := time.Parse("15:04", wk.Start)
		if err != nil {
			return nil, &FieldError{"weekly.start", "must be HH:MM"}
		}
		w.at = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		if w.dur, err = time.ParseDuration(wk.Duration); err != nil || w.dur <= 0 || w.dur > 7*24*time.Hour {
			return nil, &FieldError{"weekly.duration", "must be a duration up to 168h"}
		}
		if w.loc, err = time.LoadLocation(wk.TimeZone); err != nil {
			return nil, &FieldError{"weekly.timezone", "is not a known time zone"}
		}
	}
	for _, h := range m.Hosts {
		w.hosts[h] = true
	}
	if mt := m.Match; mt != nil {
		w.match = true
		for _, f := range []struct {
			field, v string
			dst      **regexp.Regexp
		}{{"match.connector", mt.Connector, &w.conn}, {"match.connector_name", mt.ConnectorName, &w.name}, {"match.component", mt.Component, &w.comp}} {
			if f.v == "" {
				continue
			}
			re, err := regexp.Compile("^(?:" + f.v + ")$")
			if err != nil {
				return nil, &FieldError{f.field, "is not a regular expression: " + err.Error()}
			}
			*f.dst = re
		}
	}
	return w, nil
}

// ValidateMaintenance checks a maintenance as the engine takes it.
func ValidateMaintenance(m Maintenance) error {
	_, err := compile(m)
	return err
}

// active tells whether the window covers t.
func (w *window) active(t time.Time) bool {
	if w.m.Weekly == nil {
		return !t.Before(w.m.Start) && t.Before(w.m.End)
	}
	lt := t.In(w.loc)
	y, mo, d := lt.Date()
	// The occurrences that may cover t began at most dur ago.
	for back := 0; back <= int(w.dur/(24*time.Hour))+1; back++ {
		day := time.Date(y, mo, d-back, 0, 0, 0, 0, w.loc)
		if !w.days[day.Weekday()] {
			continue
		}
		s := day.Add(w.at)
		if !t.Before(s) && t.Before(s.Add(w.dur)) {
			return true
		}
	}
	return false
}

// covers tells whether the window's scope holds an alarm's source.
func (w *window) covers(a *Alarm) bool {
	if w.hosts[a.Component] {
		return true
	}
	return w.match && (w.conn == nil || w.conn.MatchString(a.Connector)) &&
		(w.name == nil || w.name.MatchString(a.ConnectorName)) && (w.comp == nil || w.comp.MatchString(a.Component))
}

// inMaintenance tells whether an alarm is in one of the batch's active
// maintenances.
func (b *batchState) inMaintenance(a *Alarm) bool {
	for _, w := range b.windows {
		if w.covers(a) {
			return true
		}
	}
	return false
}

// markMaintenance sets an alarm's in_maintenance, with a step when it
// changes.
func (b *batchState) markMaintenance(a *Alarm) {
	in := len(b.windows) > 0 && b.inMaintenance(a)
	if in == a.InMaintenance {
		return
	}
	a.InMaintenance = in
	typ := StepMaintenance
	if !in {
		typ = StepMaintenanceEnd
	}
	b.step(a, typ, System, "", "")
	b.touch(a, "updated")
}

// LoadMaintenances reads the maintenances, resolves their host groups and
// marks the open alarms entering or leaving one; Run calls it every
// IdleCheckEvery, the API after each change.
func (e *Engine) LoadMaintenances(ctx context.Context) error {
	ms, err := e.st.ListMaintenances(ctx)
	if err != nil {
		return fmt.Errorf("loading maintenances: %w", err)
	}
	now := e.now()
	ws := make([]*window, 0, len(ms))
	for _, m := range ms {
		if m.Weekly == nil && !m.End.After(now) {
			continue // over
		}
		w, err := compile(m)
		if err != nil {
			e.log.Warn("skipping an invalid maintenance", "id", m.ID, "err", err)
			continue
		}
		for _, g := range m.Groups {
			hosts, err := e.st.GroupHosts(ctx, g)
			if err != nil {
				return fmt.Errorf("loading the hosts of group %q of maintenance %d: %w", g, m.ID, err)
			}
			for _, h := range hosts {
				w.hosts[h] = true
			}
		}
		ws = append(ws, w)
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.Lock()
	had := len(e.windows) > 0
	e.windows = ws
	var keys []events.Key
	if had || len(ws) > 0 {
		for k, a := range e.open {
			if a.InMaintenance || len(ws) > 0 {
				keys = append(keys, k)
			}
		}
	}
	e.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	return e.commit(ctx, func(b *batchState) {
		for _, k := range keys {
			b.e.mu.Lock()
			a := b.e.open[k]
			b.e.mu.Unlock()
			// Only the alarms that change get a copy in the batch.
			if a != nil && (a.InMaintenance != (len(b.windows) > 0 && b.inMaintenance(a))) {
				if a := b.lookup(k); a != nil {
					b.markMaintenance(a)
				}
			}
		}
	})
}

// CreateMaintenance validates and stores a maintenance, and applies it.
func (e *Engine) CreateMaintenance(ctx context.Context, m *Maintenance) error {
	if err := ValidateMaintenance(*m); err != nil {
		return err
	}
	m.Created = e.now().UTC()
	if err := e.st.CreateMaintenance(ctx, m); err != nil {
		return err
	}
	return e.LoadMaintenances(ctx)
}

// DeleteMaintenance deletes a maintenance; its alarms leave it.
func (e *Engine) DeleteMaintenance(ctx context.Context, id int64) error {
	if err := e.st.DeleteMaintenance(ctx, id); err != nil {
		return err
	}
	return e.LoadMaintenances(ctx)
}
