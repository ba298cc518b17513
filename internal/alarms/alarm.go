// Package alarms keeps the alarm of every open problem: events open,
// update and resolve alarms; operators acknowledge, snooze, transfer,
// qualify, cancel, archive and delete them; every change is a step of the
// alarm's history.
package alarms

import (
	"context"
	"errors"
	"time"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// Statuses of an alarm. An open alarm is the one problem of its key; a
// resolved one is history; an archived one is out of the live view, kept
// and searchable.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
	StatusArchived = "archived"
)

// Step types: what happened to an alarm.
const (
	StepOpen        = "open"      // the first non-OK event
	StepStateInc    = "stateinc"  // the state got worse
	StepStateDec    = "statedec"  // the state got better
	StepResolving   = "resolving" // an OK event; resolution after the delay
	StepResolve     = "resolve"
	StepAck         = "ack"
	StepUnack       = "unack"
	StepComment     = "comment"
	StepSnooze      = "snooze"
	StepCriticality = "criticality"
	StepCancel      = "cancel"
	StepArchive     = "archive"
	StepTransfer    = "transfer"
	// StepFlapping starts flapping: the state changed too often in the
	// window; StepFlappingEnd ends it, after a whole window without change.
	StepFlapping    = "flapping"
	StepFlappingEnd = "flappingend"
	// StepMaintenance: the alarm entered a maintenance window;
	// StepMaintenanceEnd: it left the last one.
	StepMaintenance    = "maintenance"
	StepMaintenanceEnd = "maintenanceend"
)

// StatusFlapping is no stored status: as a filter (status=flapping) it
// keeps the open alarms that flap.
const StatusFlapping = "flapping"

// Alarm is the problem of one (connector, connector_name, component,
// resource) while it lasts, and its record afterwards.
type Alarm struct {
	ID            int64  `json:"id"`
	Connector     string `json:"connector"`
	ConnectorName string `json:"connector_name"`
	Component     string `json:"component"`
	Resource      string `json:"resource"`
	Status        string `json:"status"`
	// State is the last event's state, WorstState the worst seen.
	State       int    `json:"state"`
	WorstState  int    `json:"worst_state"`
	Criticality string `json:"criticality"`
	// CriticalityLocked keeps a criticality set by hand: events no
	// longer change it.
	CriticalityLocked bool              `json:"criticality_locked"`
	Output            string            `json:"output"`
	LongOutput        string            `json:"long_output"`
	Count             int64             `json:"count"`
	Domain            string            `json:"domain"`
	Category          string            `json:"category"`
	Tags              map[string]string `json:"tags"`
	Opened            time.Time         `json:"opened"`
	LastEvent         time.Time         `json:"last_event"`
	Updated           time.Time         `json:"updated"`
	Resolved          time.Time         `json:"resolved,omitzero"`
	// ResolveAt is when a pending resolution (an OK event under a resolve
	// delay) takes effect, unless a non-OK event comes first.
	ResolveAt   time.Time `json:"resolve_at,omitzero"`
	Acked       bool      `json:"acked"`
	AckBy       string    `json:"ack_by,omitempty"`
	AckTime     time.Time `json:"ack_time,omitzero"`
	AckComment  string    `json:"ack_comment,omitempty"`
	SnoozeUntil time.Time `json:"snooze_until,omitzero"`
	Assignees   []string  `json:"assignees"`
	// Flapping tells an alarm whose state changed too often lately (see
	// Options.FlapChanges).
	Flapping bool `json:"flapping"`
	// InMaintenance tells an alarm in a maintenance window.
	InMaintenance bool   `json:"in_maintenance"`
	Steps         []Step `json:"steps,omitempty"`
}

// Key is the alarm's key.
func (a *Alarm) Key() events.Key {
	return events.Key{Connector: a.Connector, ConnectorName: a.ConnectorName, Component: a.Component, Resource: a.Resource}
}

// Step is one entry of an alarm's history.
type Step struct {
	ID      int64     `json:"id"`
	AlarmID int64     `json:"alarm_id"`
	Type    string    `json:"type"`
	Author  string    `json:"author"`
	Time    time.Time `json:"time"`
	Comment string    `json:"comment,omitempty"`
	// State is the alarm's state after the step.
	State int `json:"state"`
	// Value is what the action set: a criticality, a snooze time, the
	// users of a transfer.
	Value string `json:"value,omitempty"`
}

// Filter narrows ListAlarms; empty fields match everything.
type Filter struct {
	Component, Resource, Connector string
	State                          *int
	Criticality                    string
	Acked                          *bool
	Flapping                       *bool
	// Snoozed keeps alarms snoozed (true) or not (false) at SnoozedAt.
	Snoozed   *bool
	SnoozedAt time.Time
	// Domain keeps alarms of this domain or whose component is a host of
	// it; Group those whose component is a host of this host group.
	Domain, Group string
	// Status is open, resolved or archived; empty means open or resolved
	// (archived alarms are out of the live view), unless AllStatuses.
	Status      string
	AllStatuses bool
	// Key, when set, keeps the alarms of one key.
	Key *events.Key
	// Search is a substring of component, resource, output or connector
	// name (case-insensitive).
	Search string
	// Since and Until keep alarms active in [Since, Until): last event at
	// or after Since, opened before Until.
	Since, Until time.Time
	// Domains, when not nil, keeps alarms whose domain is one of these or
	// whose component is a host of one of them; empty matches nothing.
	Domains []string
	// Sort orders the list; the zero Sort is newest first by id.
	Sort Sort
	// Before is the cursor of the default order: alarms with id < Before
	// (newest first); 0 starts at the newest. After is the cursor of a
	// Sort: alarms after that row in its order. Limit is 100 when 0, at
	// most 1000.
	Before int64
	After  *Cursor
	Limit  int
}

// Sort keys: what an alarm list may be sorted by. Ties are broken by id,
// in the same direction, so that a keyset cursor is exact.
const (
	SortOpened      = "opened"      // opening time
	SortLast        = "last"        // time of the last event
	SortCriticality = "criticality" // green < orange < red
	SortState       = "state"
	SortComponent   = "component"
	SortCount       = "count" // events seen
)

// SortKeys lists the sort keys, for validation and documentation.
var SortKeys = []string{SortOpened, SortLast, SortCriticality, SortState, SortComponent, SortCount}

// Sort orders ListAlarms by Key (one of SortKeys), ascending unless Desc.
// An empty Key keeps the default: newest first by id.
type Sort struct {
	Key  string
	Desc bool
}

// Cursor is where a sorted page ends: the last row's sort value (Int, or
// Str for the component) and id. The next page starts after it.
type Cursor struct {
	Int int64  `json:"i,omitempty"`
	Str string `json:"s,omitempty"`
	ID  int64  `json:"id"`
}

// CursorOf is the cursor just after alarm a in sort s.
func (s Sort) CursorOf(a *Alarm) Cursor {
	c := Cursor{ID: a.ID}
	switch s.Key {
	case SortOpened:
		c.Int = unixMS(a.Opened)
	case SortLast:
		c.Int = unixMS(a.LastEvent)
	case SortCriticality:
		c.Int = int64(CriticalityRank(a.Criticality))
	case SortState:
		c.Int = int64(a.State)
	case SortComponent:
		c.Str = a.Component
	case SortCount:
		c.Int = a.Count
	}
	return c
}

// unixMS is a time as the store keeps it: Unix milliseconds, 0 for none.
func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// CriticalityRank orders criticalities: green 1, orange 2, red 3 (and an
// unknown one 1, as green). The store sorts by the same ranks.
func CriticalityRank(c string) int {
	switch c {
	case events.Red:
		return 3
	case events.Orange:
		return 2
	}
	return 1
}

// Counts are the numbers of alarms matching a filter: in all and by
// criticality (every criticality present, 0 when none).
type Counts struct {
	Total         int64            `json:"total"`
	ByCriticality map[string]int64 `json:"by_criticality"`
}

// Write is what one batch changes, written in one transaction.
type Write struct {
	// Alarms are new (ID 0, given their id by the write) or changed.
	Alarms []*Alarm
	// Steps to add; each names its alarm by pointer, so that the steps of
	// a new alarm get its id.
	Steps []NewStep
	// Logs are log events, kept without opening alarms.
	Logs []events.Event
}

// NewStep is a step of a Write.
type NewStep struct {
	Alarm *Alarm
	Step  Step
}

// Store is the storage the engine needs; internal/store implements it on
// SQLite and PostgreSQL.
type Store interface {
	// OpenAlarms returns every alarm whose status is open.
	OpenAlarms(ctx context.Context) ([]Alarm, error)
	// WriteAlarms writes a batch in one transaction: all or nothing.
	WriteAlarms(ctx context.Context, w *Write) error
	GetAlarm(ctx context.Context, id int64) (Alarm, error)
	ListAlarms(ctx context.Context, f Filter) ([]Alarm, error)
	// CountAlarms counts the alarms ListAlarms would return for f, all
	// pages together (Sort, cursors and Limit are ignored).
	CountAlarms(ctx context.Context, f Filter) (Counts, error)
	// ListSteps returns an alarm's steps, oldest first.
	ListSteps(ctx context.Context, alarmID int64) ([]Step, error)
	// DeleteAlarm purges an alarm and its steps.
	DeleteAlarm(ctx context.Context, id int64) error
	// ListLogs returns log events, newest first.
	ListLogs(ctx context.Context, f LogFilter) ([]LogEvent, error)
	// DeleteLogsBefore drops the log events older than t.
	DeleteLogsBefore(ctx context.Context, t time.Time) (int, error)
	// StateChangesSince returns the state changes (open, stateinc,
	// statedec steps) of every key from since on, oldest first: the
	// flapping counts a restart resumes.
	StateChangesSince(ctx context.Context, since time.Time) ([]KeyTime, error)
	// LastSeenTimes returns the saved last-seen times of the sources idle
	// rules watch; SaveLastSeen adds or updates some.
	LastSeenTimes(ctx context.Context) ([]LastSeen, error)
	SaveLastSeen(ctx context.Context, l []LastSeen) error
	// Maintenances: GroupHosts returns the hosts of a host group (none
	// for an unknown group).
	ListMaintenances(ctx context.Context) ([]Maintenance, error)
	CreateMaintenance(ctx context.Context, m *Maintenance) error
	DeleteMaintenance(ctx context.Context, id int64) error
	GroupHosts(ctx context.Context, group string) ([]string, error)
}

// KeyTime is a time something happened to an alarm key.
type KeyTime struct {
	Key  events.Key
	Time time.Time
}

// LogEvent is a kept log event.
type LogEvent struct {
	ID int64 `json:"id"`
	events.Event
}

// LogFilter narrows ListLogs; empty fields match everything.
type LogFilter struct {
	Component, Connector string
	// Search is a substring of the output or component.
	Search       string
	Since, Until time.Time
	// Domains, when not nil, keeps the events of hosts of these domains
	// or of these domains.
	Domains []string
	// Before is the cursor (ids below it); Limit is 100 when 0, at most
	// 1000.
	Before int64
	Limit  int
}

// ErrNotOpen refuses an action that only an open alarm takes.
var ErrNotOpen = errors.New("the alarm is not open")

// CriticalityOf is the default qualification of a state: 3 red, 2
// orange, 1 (and 0) green.
func CriticalityOf(state int) string {
	switch {
	case state >= events.StateCritical:
		return events.Red
	case state == events.StateMajor:
		return events.Orange
	}
	return events.Green
}

// ValidCriticality tells a known criticality.
func ValidCriticality(c string) bool {
	return c == events.Green || c == events.Orange || c == events.Red
}
