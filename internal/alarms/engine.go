package alarms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// Author of the steps the engine writes by itself.
const System = "vigie"

// Options configure an Engine.
type Options struct {
	Store Store
	// ResolveDelay is how long an alarm waits after an OK event before it
	// is resolved (0: at once); a non-OK event within it keeps it open.
	ResolveDelay time.Duration
	// FlapChanges state changes of one key (an opening, a state change,
	// an OK event's included) within FlapWindow make its open alarm flap, until a
	// whole FlapWindow passes without change; 0 never flaps.
	FlapChanges int
	FlapWindow  time.Duration
	// IdleRules raise an alarm for the components that send no events.
	IdleRules []IdleRule
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Publish, when set, gets every alarm after each committed change; it
	// must not block.
	Publish func(Change)
	Logger  *slog.Logger
	// Registerer, when set, gets the engine's metrics.
	Registerer prometheus.Registerer
}

// Change is an alarm as a committed change left it.
type Change struct {
	// Op is "opened", "updated", "resolved", "archived" or "deleted".
	Op    string
	Alarm Alarm
}

// Engine turns events into alarms and applies operators' actions. It keeps
// the open alarms in memory and writes every batch of changes in one
// transaction before answering, so that what it answered for is durable.
//
// Lock order: wmu (one batch at a time) before mu (the open alarms).
type Engine struct {
	st           Store
	resolveDelay time.Duration
	flapChanges  int
	flapWindow   time.Duration
	now          func() time.Time
	publish      func(Change)
	log          *slog.Logger

	// qmu guards queue: the Ingest calls waiting for the next commit.
	qmu   sync.Mutex
	queue []*pending

	// wmu is held by the one goroutine committing; it commits the events
	// of every Ingest queued meanwhile (group commit).
	wmu sync.Mutex

	mu   sync.Mutex
	open map[events.Key]*Alarm

	// flaps holds, under wmu, the recent state change times of each key
	// (within the flap window); started stands for the last change of the
	// keys whose changes were before the start.
	flaps     map[events.Key][]time.Time
	started   time.Time
	lastPrune time.Time

	// idleRules are fixed; seen, under wmu, the sources they watch.
	idleRules []IdleRule
	seen      map[Source]*seen

	// windows, under mu, are the maintenances not over.
	windows []*window

	events     *prometheus.CounterVec
	failures   prometheus.Counter
	commitTime prometheus.Histogram
}

var _ events.Sink = (*Engine)(nil)

type pending struct {
	evs  []events.Event
	done chan error
}

// New builds an engine over the store and loads the open alarms.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FlapWindow <= 0 {
		opts.FlapChanges = 0
	}
	e := &Engine{st: opts.Store, resolveDelay: opts.ResolveDelay, now: opts.Now, publish: opts.Publish, log: opts.Logger,
		flapChanges: opts.FlapChanges, flapWindow: opts.FlapWindow, idleRules: opts.IdleRules, seen: map[Source]*seen{},
		open: map[events.Key]*Alarm{}, flaps: map[events.Key][]time.Time{},
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_alarm_events_total", Help: "Events the alarm engine stored, by event type.",
		}, []string{"type"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_alarm_write_failures_total", Help: "Batches of alarm changes the store refused (their senders were told).",
		}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigie_alarm_commit_seconds", Help: "Time to write one batch of alarm changes.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(e.events, e.failures, e.commitTime, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigie_alarms_open", Help: "Alarms open.",
		}, func() float64 { return float64(e.Open()) }))
	}
	open, err := opts.Store.OpenAlarms(ctx)
	if err != nil {
		return nil, err
	}
	for i := range open {
		e.open[open[i].Key()] = &open[i]
	}
	e.started = opts.Now().UTC()
	e.lastPrune = e.started
	if e.flapChanges > 0 {
		// The change times are in the steps: a restart resumes the counts
		// rather than forgiving a key that flapped just before it.
		changes, err := opts.Store.StateChangesSince(ctx, e.started.Add(-e.flapWindow))
		if err != nil {
			return nil, err
		}
		for _, c := range changes {
			e.flaps[c.Key] = append(e.flaps[c.Key], c.Time)
		}
	}
	if err := e.loadIdle(ctx); err != nil {
		return nil, err
	}
	if err := e.LoadMaintenances(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Open is how many alarms are open.
func (e *Engine) Open() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.open)
}

// OpenAlarm returns the open alarm of a key.
func (e *Engine) OpenAlarm(k events.Key) (Alarm, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.open[k]
	if !ok {
		return Alarm{}, false
	}
	return *a, true
}

// Validate checks an event as the engine takes it, naming the field at
// fault.
func Validate(ev *events.Event) error {
	switch {
	case ev.Connector == "":
		return &FieldError{"connector", "is required"}
	case ev.ConnectorName == "":
		return &FieldError{"connector_name", "is required"}
	case ev.Component == "":
		return &FieldError{"component", "is required"}
	case ev.State < events.StateOK || ev.State > events.StateCritical:
		return &FieldError{"state", "must be 0..3"}
	case ev.EventType != "" && ev.EventType != events.TypeCheck && ev.EventType != events.TypeLog:
		return &FieldError{"event_type", `must be "check" or "log"`}
	case ev.Criticality != "" && !ValidCriticality(ev.Criticality):
		return &FieldError{"criticality", "must be green, orange or red"}
	}
	return nil
}

// FieldError is an invalid event field.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Ingest applies events to the alarms and returns once their effects are
// committed. Concurrent calls share one transaction.
func (e *Engine) Ingest(ctx context.Context, evs []events.Event) error {
	for i := range evs {
		if err := Validate(&evs[i]); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	if len(evs) == 0 {
		return nil
	}
	p := &pending{evs: evs, done: make(chan error, 1)}
	e.qmu.Lock()
	e.queue = append(e.queue, p)
	e.qmu.Unlock()

	e.wmu.Lock()
	select {
	case err := <-p.done: // a previous committer took ours
		e.wmu.Unlock()
		return err
	default:
	}
	e.qmu.Lock()
	batch := e.queue
	e.queue = nil
	e.qmu.Unlock()
	// The commit serves other callers too: one caller going away must
	// not fail theirs.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	var all []events.Event
	if len(batch) == 1 {
		all = batch[0].evs
	} else {
		for _, q := range batch {
			all = append(all, q.evs...)
		}
	}
	err := e.commit(cctx, func(b *batchState) { b.events(all) })
	cancel()
	for _, q := range batch {
		q.done <- err
	}
	e.wmu.Unlock()
	return <-p.done
}

// batchState is one transaction's worth of changes over copies of the
// open alarms; the copies replace the originals once committed.
type batchState struct {
	e       *Engine
	now     time.Time
	overlay map[events.Key]*Alarm
	touched map[*Alarm]string // alarm -> op
	w       Write
	checks  int // check events applied
	// flaps are the keys' change times as this batch leaves them.
	flaps map[events.Key][]time.Time
	// idleOK resolve the idle alarms of sources seen again.
	idleOK []events.Event
	// windows are the maintenances active as the batch began.
	windows []*window
}

// lookup returns the open alarm of a key as this batch sees it, as a copy
// the batch may change.
func (b *batchState) lookup(k events.Key) *Alarm {
	if a, ok := b.overlay[k]; ok {
		if a.Status != StatusOpen {
			return nil
		}
		return a
	}
	b.e.mu.Lock()
	cur := b.e.open[k]
	b.e.mu.Unlock()
	if cur == nil {
		return nil
	}
	c := *cur
	b.overlay[k] = &c
	return &c
}

func (b *batchState) touch(a *Alarm, op string) {
	if _, ok := b.touched[a]; !ok {
		b.w.Alarms = append(b.w.Alarms, a)
	}
	// "updated" never hides what else happened in the batch.
	if prev := b.touched[a]; prev != "" && op == "updated" {
		op = prev
	}
	b.touched[a] = op
	a.Updated = b.now
}

func (b *batchState) step(a *Alarm, typ, author, comment, value string) {
	b.w.Steps = append(b.w.Steps, NewStep{Alarm: a, Step: Step{Type: typ, Author: author, Time: b.now, Comment: comment, State: a.State, Value: value}})
}

// commit runs f over a fresh batch, writes what it changed and, once
// written, makes it the engine's state and publishes it. The caller holds
// wmu.
func (e *Engine) commit(ctx context.Context, f func(*batchState)) error {
	b := &batchState{e: e, now: e.now().UTC(), overlay: map[events.Key]*Alarm{}, touched: map[*Alarm]string{}}
	e.mu.Lock()
	ws := e.windows
	e.mu.Unlock()
	for _, w := range ws {
		if w.active(b.now) {
			b.windows = append(b.windows, w)
		}
	}
	f(b)
	if len(b.w.Alarms) == 0 && len(b.w.Logs) == 0 {
		maps.Copy(e.flaps, b.flaps)
		e.events.WithLabelValues(events.TypeCheck).Add(float64(b.checks))
		return nil
	}
	start := time.Now()
	if err := e.st.WriteAlarms(ctx, &b.w); err != nil {
		e.failures.Inc()
		return fmt.Errorf("storing alarm changes: %w", err)
	}
	e.commitTime.Observe(time.Since(start).Seconds())
	if n := len(b.w.Logs); n > 0 {
		e.events.WithLabelValues(events.TypeLog).Add(float64(n))
	}
	if b.checks > 0 {
		e.events.WithLabelValues(events.TypeCheck).Add(float64(b.checks))
	}
	maps.Copy(e.flaps, b.flaps)
	e.mu.Lock()
	for k, a := range b.overlay {
		if a.Status == StatusOpen {
			e.open[k] = a
		} else if cur := e.open[k]; cur != nil && cur.ID == a.ID {
			delete(e.open, k)
		}
	}
	e.mu.Unlock()
	if e.publish != nil {
		for _, a := range b.w.Alarms {
			e.publish(Change{Op: b.touched[a], Alarm: *a})
		}
	}
	return nil
}

// events applies a batch of events in order.
func (b *batchState) events(evs []events.Event) {
	for i := range evs {
		ev := &evs[i]
		if ev.EventType == events.TypeLog {
			b.w.Logs = append(b.w.Logs, *ev)
			continue
		}
		b.checks++
		if ev.Time.IsZero() {
			ev.Time = b.now
		}
		b.noteSeen(ev)
		k := ev.Key()
		a := b.lookup(k)
		if ev.State == events.StateOK {
			if a == nil {
				continue // nothing to resolve
			}
			b.update(a, ev)
			if a.State != events.StateOK {
				a.State = events.StateOK
				b.step(a, StepStateDec, System, "", "")
				b.changed(a)
			}
			if b.e.resolveDelay <= 0 {
				b.resolve(a, StepResolve, System, "")
			} else if a.ResolveAt.IsZero() {
				a.ResolveAt = b.now.Add(b.e.resolveDelay)
				b.step(a, StepResolving, System, "", a.ResolveAt.Format(time.RFC3339))
			}
			b.touch(a, "updated")
			continue
		}
		if a == nil {
			a = &Alarm{Connector: ev.Connector, ConnectorName: ev.ConnectorName, Component: ev.Component, Resource: ev.Resource,
				Status: StatusOpen, State: ev.State, WorstState: ev.State, Opened: ev.Time, Assignees: []string{}}
			b.overlay[k] = a
			b.update(a, ev)
			b.qualify(a, ev)
			b.touch(a, "opened")
			b.markMaintenance(a)
			b.step(a, StepOpen, System, ev.Output, "")
			b.changed(a)
			continue
		}
		b.update(a, ev)
		b.qualify(a, ev)
		a.ResolveAt = time.Time{}
		if ev.State != a.State {
			typ := StepStateInc
			if ev.State < a.State {
				typ = StepStateDec
			}
			a.State = ev.State
			a.WorstState = max(a.WorstState, ev.State)
			b.step(a, typ, System, ev.Output, "")
			b.changed(a)
		}
		b.touch(a, "updated")
		b.markMaintenance(a)
	}
	if ok := b.idleOK; len(ok) > 0 {
		b.idleOK = nil
		b.events(ok)
	}
}

// update takes what every event of an alarm brings.
func (b *batchState) update(a *Alarm, ev *events.Event) {
	a.Count++
	if ev.Time.After(a.LastEvent) {
		a.LastEvent = ev.Time
	}
	a.Output, a.LongOutput = ev.Output, ev.LongOutput
	if ev.Domain != "" {
		a.Domain = ev.Domain
	}
	if ev.Category != "" {
		a.Category = ev.Category
	}
	if len(ev.Tags) > 0 {
		t := maps.Clone(a.Tags)
		if t == nil {
			t = map[string]string{}
		}
		maps.Copy(t, ev.Tags)
		a.Tags = t
	}
}

// qualify sets the criticality of a non-OK event: the event's own, else
// its state's, unless an operator locked it.
func (b *batchState) qualify(a *Alarm, ev *events.Event) {
	if a.CriticalityLocked {
		return
	}
	if ev.Criticality != "" {
		a.Criticality = ev.Criticality
	} else {
		a.Criticality = CriticalityOf(ev.State)
	}
}

func (b *batchState) resolve(a *Alarm, typ, author, comment string) {
	a.Status, a.Resolved, a.ResolveAt = StatusResolved, b.now, time.Time{}
	b.step(a, typ, author, comment, "")
	b.touch(a, "resolved")
}

// changes returns the key's change times as the batch sees them, within
// the flap window.
func (b *batchState) changes(k events.Key) []time.Time {
	if c, ok := b.flaps[k]; ok {
		return c
	}
	return b.e.flaps[k]
}

// changed records a state change of an alarm's key; the change that
// makes FlapChanges within the window makes the open alarm flap.
func (b *batchState) changed(a *Alarm) {
	if b.e.flapChanges <= 0 {
		return
	}
	k := a.Key()
	old := b.changes(k)
	from := b.now.Add(-b.e.flapWindow)
	i := 0
	for i < len(old) && old[i].Before(from) {
		i++
	}
	// A fresh slice: the engine's, and the overlay copies' of other
	// batches, stay as they were until this batch commits.
	c := make([]time.Time, 0, len(old)-i+1)
	c = append(append(c, old[i:]...), b.now)
	if b.flaps == nil {
		b.flaps = map[events.Key][]time.Time{}
	}
	b.flaps[k] = c
	if a.Status == StatusOpen && !a.Flapping && len(c) >= b.e.flapChanges {
		a.Flapping = true
		b.step(a, StepFlapping, System, "", fmt.Sprintf("%d changes in %s", len(c), b.e.flapWindow))
		b.touch(a, "updated")
	}
}

// lastChange is the time of a key's last state change, or the engine's
// start when none is known.
func (b *batchState) lastChange(k events.Key) time.Time {
	if c := b.changes(k); len(c) > 0 {
		return c[len(c)-1]
	}
	return b.e.started
}

// Tick resolves the alarms whose resolve delay has passed; Run calls it
// every second.
func (e *Engine) Tick(ctx context.Context) error {
	now := e.now()
	e.mu.Lock()
	var due, flapping []events.Key
	for k, a := range e.open {
		if !a.ResolveAt.IsZero() && !a.ResolveAt.After(now) {
			due = append(due, k)
		}
		if a.Flapping {
			flapping = append(flapping, k)
		}
	}
	e.mu.Unlock()
	prune := e.flapChanges > 0 && now.Sub(e.lastPrune) >= e.flapWindow
	if len(due) == 0 && len(flapping) == 0 && !prune {
		return nil
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if prune {
		e.pruneFlaps(now)
	}
	return e.commit(ctx, func(b *batchState) {
		for _, k := range due {
			// Checked again: an event may have come meanwhile.
			if a := b.lookup(k); a != nil && !a.ResolveAt.IsZero() && !a.ResolveAt.After(b.now) {
				b.resolve(a, StepResolve, System, "")
			}
		}
		for _, k := range flapping {
			if a := b.lookup(k); a != nil && a.Flapping && b.now.Sub(b.lastChange(k)) >= b.e.flapWindow {
				a.Flapping = false
				b.step(a, StepFlappingEnd, System, "", "")
				b.touch(a, "updated")
			}
		}
	})
}

// pruneFlaps forgets the change times out of the flap window. The caller
// holds wmu.
func (e *Engine) pruneFlaps(now time.Time) {
	e.lastPrune = now
	from := now.Add(-e.flapWindow)
	for k, c := range e.flaps {
		if len(c) == 0 || c[len(c)-1].Before(from) {
			delete(e.flaps, k)
		}
	}
}

// Run resolves due alarms every second, and looks for idle sources
// every IdleCheckEvery, until ctx is done.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("resolving alarms", "err", err)
			}
			if n++; n%int(IdleCheckEvery/time.Second) == 0 {
				if err := e.CheckIdle(ctx); err != nil && ctx.Err() == nil {
					e.log.Warn("checking idle sources", "err", err)
				}
				if err := e.LoadMaintenances(ctx); err != nil && ctx.Err() == nil {
					e.log.Warn("applying maintenances", "err", err)
				}
			}
		}
	}
}

// Action is what an operator does to an alarm.
type Action struct {
	// Type is ack, unack, comment, snooze, criticality, cancel, archive or
	// transfer.
	Type    string
	Author  string
	Comment string
	// Until is a snooze's end.
	Until time.Time
	// Criticality and Lock are a criticality change.
	Criticality string
	Lock        bool
	// Users are a transfer's recipients; Teams, the teams they were
	// chosen through, are named in its step.
	Users []string
	Teams []string
}

// ErrInvalidAction is an action that does not apply.
var ErrInvalidAction = errors.New("invalid action")

// Act applies an action to an alarm and returns it as stored.
func (e *Engine) Act(ctx context.Context, id int64, act Action) (Alarm, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	cur, err := e.st.GetAlarm(ctx, id)
	if err != nil {
		return Alarm{}, err
	}
	var out *Alarm
	var actErr error
	err = e.commit(ctx, func(b *batchState) {
		// An open alarm is changed through the engine's copy, which holds
		// what the last batch left; a closed one as stored.
		a := &cur
		if cur.Status == StatusOpen {
			if o := b.lookup(cur.Key()); o != nil && o.ID == cur.ID {
				a = o
			}
		}
		out = a
		actErr = b.act(a, act)
	})
	if actErr != nil {
		return Alarm{}, actErr
	}
	if err != nil {
		return Alarm{}, err
	}
	return *out, nil
}

func (b *batchState) act(a *Alarm, act Action) error {
	openOnly := func() error {
		if a.Status != StatusOpen {
			return fmt.Errorf("%s: %w", act.Type, ErrNotOpen)
		}
		return nil
	}
	switch act.Type {
	case StepAck:
		if err := openOnly(); err != nil {
			return err
		}
		a.Acked, a.AckBy, a.AckTime, a.AckComment = true, act.Author, b.now, act.Comment
		b.step(a, StepAck, act.Author, act.Comment, "")
	case StepUnack:
		if !a.Acked {
			return fmt.Errorf("unack: the alarm is not acknowledged: %w", ErrInvalidAction)
		}
		a.Acked, a.AckBy, a.AckTime, a.AckComment = false, "", time.Time{}, ""
		b.step(a, StepUnack, act.Author, act.Comment, "")
	case StepComment:
		b.step(a, StepComment, act.Author, act.Comment, "")
	case StepSnooze:
		if err := openOnly(); err != nil {
			return err
		}
		if !act.Until.After(b.now) {
			return fmt.Errorf("snooze: until must be in the future: %w", ErrInvalidAction)
		}
		a.SnoozeUntil = act.Until.UTC()
		b.step(a, StepSnooze, act.Author, act.Comment, a.SnoozeUntil.Format(time.RFC3339))
	case StepCriticality:
		if !ValidCriticality(act.Criticality) {
			return fmt.Errorf("criticality: must be green, orange or red: %w", ErrInvalidAction)
		}
		a.Criticality, a.CriticalityLocked = act.Criticality, act.Lock
		v := act.Criticality
		if act.Lock {
			v += " (locked)"
		}
		b.step(a, StepCriticality, act.Author, act.Comment, v)
	case StepTransfer:
		if len(act.Users) == 0 {
			return fmt.Errorf("transfer: no users: %w", ErrInvalidAction)
		}
		a.Assignees = slices.Clone(act.Users)
		v := strings.Join(act.Users, ", ")
		if len(act.Teams) > 0 {
			v += " (teams " + strings.Join(act.Teams, ", ") + ")"
		}
		b.step(a, StepTransfer, act.Author, act.Comment, v)
	case StepCancel:
		if err := openOnly(); err != nil {
			return err
		}
		b.resolve(a, StepCancel, act.Author, act.Comment)
		return nil
	case StepArchive:
		if a.Status == StatusArchived {
			return fmt.Errorf("archive: the alarm is archived already: %w", ErrInvalidAction)
		}
		if a.Resolved.IsZero() {
			a.Resolved = b.now
		}
		a.Status, a.ResolveAt = StatusArchived, time.Time{}
		b.step(a, StepArchive, act.Author, act.Comment, "")
		b.touch(a, "archived")
		return nil
	default:
		return fmt.Errorf("unknown action %q: %w", act.Type, ErrInvalidAction)
	}
	b.touch(a, "updated")
	return nil
}

// Delete purges an alarm and its steps.
func (e *Engine) Delete(ctx context.Context, id int64) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	a, err := e.st.GetAlarm(ctx, id)
	if err != nil {
		return err
	}
	if err := e.st.DeleteAlarm(ctx, id); err != nil {
		return err
	}
	e.mu.Lock()
	if cur := e.open[a.Key()]; cur != nil && cur.ID == id {
		delete(e.open, a.Key())
	}
	e.mu.Unlock()
	if e.publish != nil {
		e.publish(Change{Op: "deleted", Alarm: a})
	}
	return nil
}
