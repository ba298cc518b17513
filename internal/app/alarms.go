package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/state"
)

// alarmDomains are the domains an alarm belongs to, for the live stream:
// its own (from its events) and its component's, when the component is a
// known host.
func (a *App) alarmDomains(al *alarms.Alarm) []string {
	out := make([]string, 0, 2)
	if al.Domain != "" {
		out = append(out, al.Domain)
	}
	if d, ok := a.mon.DomainOfHost(al.Component); ok && d != al.Domain {
		out = append(out, d)
	}
	return out
}

func (a *App) publishAlarm(ch alarms.Change) { a.hub.Alarm(ch, a.alarmDomains(&ch.Alarm)) }

// checkEvents turns HARD state changes of hosts and services into events
// for the alarm engine. The state engine publishes with its lock held, so
// changes are queued here and ingested by Run's goroutine.
type checkEvents struct {
	sink          events.Sink
	names         func(kind string, id int64) (host, service string, ok bool)
	domainOf      func(kind string, id int64) (string, bool)
	connectorName string
	limit         int

	mu      sync.Mutex
	queue   []events.Event
	wake    chan struct{}
	dropped prometheus.Counter
	failed  prometheus.Counter
	log     interface {
		Warn(msg string, args ...any)
	}
}

func newCheckEvents(sink events.Sink, connectorName string, reg prometheus.Registerer) *checkEvents {
	c := &checkEvents{sink: sink, connectorName: connectorName, limit: 100000, wake: make(chan struct{}, 1),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_check_events_dropped_total", Help: "HARD state changes not turned into events because the alarm engine was behind.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_check_events_failed_total", Help: "HARD state changes dropped after the alarm engine could not store them (the queue was full).",
		}),
	}
	reg.MustRegister(c.dropped, c.failed)
	return c
}

// event is the event of a state change: component the host, resource the
// service; a host DOWN is critical (3), UNREACHABLE major (2).
func (c *checkEvents) event(ev state.Event) (events.Event, bool) {
	host, svc, ok := c.names(ev.Kind, ev.ID)
	if !ok {
		return events.Event{}, false
	}
	st := ev.Status.State
	source := "resource"
	if ev.Kind == state.KindHost {
		source = "component"
		switch st {
		case state.HostDown:
			st = events.StateCritical
		case state.HostUnreachable:
			st = events.StateMajor
		}
	}
	st = min(max(st, events.StateOK), events.StateCritical)
	t := ev.Status.LastCheck
	if t.IsZero() {
		t = time.Now()
	}
	domain, _ := c.domainOf(ev.Kind, ev.ID)
	return events.Event{
		Connector: "vigie", ConnectorName: c.connectorName, EventType: events.TypeCheck, SourceType: source,
		Component: host, Resource: svc, State: st, Output: ev.Status.Output, LongOutput: ev.Status.LongOutput,
		Time: t.UTC(), Domain: domain,
	}, true
}

// publish queues the event of a HARD change; it never blocks.
func (c *checkEvents) publish(ev state.Event) {
	if !ev.Outcome.HardChange {
		return
	}
	e, ok := c.event(ev)
	if !ok {
		return
	}
	c.enqueue(e)
}

func (c *checkEvents) enqueue(e events.Event) {
	c.mu.Lock()
	if len(c.queue) >= c.limit {
		c.mu.Unlock()
		c.dropped.Inc()
		return
	}
	c.queue = append(c.queue, e)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// removed resolves the alarm of a deleted host or service: an OK event,
// which does nothing when no alarm is open.
func (c *checkEvents) removed(kind string, id int64) {
	e, ok := c.event(state.Event{Kind: kind, ID: id, Status: state.Status{Kind: kind, ObjectID: id, LastCheck: time.Now()}})
	if !ok {
		return
	}
	e.State, e.Output = events.StateOK, "removed from the inventory"
	c.enqueue(e)
}

// run ingests what is queued until ctx is done, then what is left. A
// batch the engine could not store goes back to the queue and is tried
// again every few seconds.
func (c *checkEvents) run(ctx context.Context) {
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			c.flush(context.Background())
			return
		case <-c.wake:
			c.flush(ctx)
		case <-retry.C:
			c.flush(ctx)
		}
	}
}

func (c *checkEvents) flush(ctx context.Context) {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		c.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		if err := c.sink.Ingest(ctx, batch); err != nil {
			c.log.Warn("turning state changes into alarms; trying again", "err", err, "events", len(batch))
			c.mu.Lock()
			// Older changes first; what does not fit is dropped, counted.
			keep := min(len(batch), c.limit)
			c.failed.Add(float64(len(batch) - keep))
			c.queue = append(batch[:keep:keep], c.queue...)
			if over := len(c.queue) - c.limit; over > 0 {
				c.queue = c.queue[:c.limit]
				c.failed.Add(float64(over))
			}
			c.mu.Unlock()
			return
		}
	}
}

// reconcile makes the alarms agree with the stored HARD states at start:
// a state change whose event was lost (the process died between writing
// the status and storing the event) is turned into its event now. An
// alarm that already saw the change, even one an operator closed or
// archived, is left as it is.
func (a *App) reconcile(ctx context.Context) error {
	var evs []events.Event
	for _, kind := range []string{state.KindHost, state.KindService} {
		for _, st := range a.mon.Snapshot(kind) {
			if !st.Checked || st.LastHardStateChange.IsZero() {
				continue
			}
			hard := st
			hard.State = st.LastHardState
			hard.LastCheck = st.LastHardStateChange
			hard.Output = st.Output
			ev, ok := a.checkEv.event(state.Event{Kind: kind, ID: st.ObjectID, Status: hard})
			if !ok {
				continue
			}
			// Qualified as the live event was, so that its key is the
			// alarm's; not counted again as a hit.
			ev, res := a.rules.Set().DryRun(ev)
			if res.Dropped {
				continue
			}
			k := ev.Key()
			if open, ok := a.alarms.OpenAlarm(k); ok {
				if open.State != ev.State && open.LastEvent.Before(ev.Time) {
					evs = append(evs, ev)
				}
				continue
			}
			if ev.State == events.StateOK {
				continue
			}
			last, err := a.st.ListAlarms(ctx, alarms.Filter{Key: &k, AllStatuses: true, Limit: 1})
			if err != nil {
				return fmt.Errorf("reading the alarms of %s/%s: %w", k.Component, k.Resource, err)
			}
			if len(last) == 0 || last[0].LastEvent.Before(ev.Time) {
				evs = append(evs, ev)
			}
		}
	}
	if len(evs) == 0 {
		return nil
	}
	if err := a.alarms.Ingest(ctx, evs); err != nil {
		return fmt.Errorf("storing the events of state changes missed before the restart: %w", err)
	}
	a.log.Info("alarms brought up to date with the stored states", "events", len(evs))
	return nil
}
