package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/state"
)

// Hub fans live events out to the console's server-sent event streams.
// Publishing never blocks: the state engine calls it with its lock held, so
// events go through a buffered channel, and a subscriber too slow to keep up
// loses events and is told to reload ("resync").
type Hub struct {
	in chan hubEvent

	mu   sync.Mutex
	subs map[chan []byte][]string // subscriber -> its domains (nil: all)

	// domainOf tells the domain of a host or service, so that events reach
	// only the users allowed to see them.
	domainOf func(kind string, id int64) (string, bool)

	dropped prometheus.Counter
	clients prometheus.Gauge
}

type hubEvent struct {
	name string
	kind string
	id   int64
	data any
	// scoped events carry the domains they belong to (alarms); others
	// are looked up with domainOf.
	scoped  bool
	domains []string
}

// SetDomainOf installs the lookup of an object's domain; call it before
// serving.
func (h *Hub) SetDomainOf(f func(kind string, id int64) (string, bool)) { h.domainOf = f }

// NewHub starts a hub; its metrics are registered with reg when not nil.
func NewHub(reg prometheus.Registerer) *Hub {
	h := &Hub{
		in:   make(chan hubEvent, 8192),
		subs: map[chan []byte][]string{},
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_stream_events_dropped_total", Help: "Live events dropped because the hub or a client was behind.",
		}),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigie_stream_clients", Help: "Live event streams open.",
		}),
	}
	if reg != nil {
		reg.MustRegister(h.dropped, h.clients)
	}
	go h.loop()
	return h
}

func (h *Hub) loop() {
	for ev := range h.in {
		b, err := json.Marshal(ev.data)
		if err != nil {
			continue
		}
		msg := []byte(fmt.Sprintf("event: %s\ndata: %s\n\n", ev.name, b))
		domain, known := "", false
		if h.domainOf != nil && !ev.scoped {
			domain, known = h.domainOf(ev.kind, ev.id)
		}
		h.mu.Lock()
		for c, scope := range h.subs {
			if scope != nil {
				if ev.scoped && !slices.ContainsFunc(ev.domains, func(d string) bool { return slices.Contains(scope, d) }) {
					continue
				}
				if !ev.scoped && (!known || !slices.Contains(scope, domain)) {
					continue
				}
			}
			select {
			case c <- msg:
			default:
				h.dropped.Inc()
			}
		}
		h.mu.Unlock()
	}
}

func (h *Hub) publish(name, kind string, id int64, data any) {
	h.send(hubEvent{name: name, kind: kind, id: id, data: data})
}

func (h *Hub) send(ev hubEvent) {
	select {
	case h.in <- ev:
	default:
		h.dropped.Inc()
	}
}

// statusEvent is the data of a "status" event.
type statusEvent struct {
	Kind      string     `json:"kind"`
	ID        int64      `json:"id"`
	State     string     `json:"state"`
	StateType string     `json:"state_type"`
	Output    string     `json:"output"`
	LastCheck *time.Time `json:"last_check"`
	Changed   bool       `json:"changed"`
}

// Status publishes a check result.
func (h *Hub) Status(ev state.Event) {
	h.publish("status", ev.Kind, ev.ID, statusEvent{
		Kind: ev.Kind, ID: ev.ID, State: state.StateName(ev.Kind, ev.Status),
		StateType: ev.Status.StateType, Output: ev.Status.Output,
		LastCheck: timePtr(ev.Status.LastCheck), Changed: ev.Outcome.Changed,
	})
}

// alarmEvent is the data of an "alarm" event.
type alarmEvent struct {
	Op    string       `json:"op"`
	Alarm alarms.Alarm `json:"alarm"`
}

// Alarm publishes an alarm change to the users who see one of domains (an
// alarm belongs to its own domain and to its component's host's).
func (h *Hub) Alarm(ch alarms.Change, domains []string) {
	h.send(hubEvent{name: "alarm", kind: "alarm", id: ch.Alarm.ID, data: alarmEvent{ch.Op, ch.Alarm}, scoped: true, domains: domains})
}

// Inventory publishes an inventory change.
func (h *Hub) Inventory(kind string, id int64, op string) {
	h.publish("inventory", kind, id, map[string]any{"kind": kind, "id": id, "op": op})
}

func (h *Hub) subscribe(scope []string) chan []byte {
	c := make(chan []byte, 256)
	h.mu.Lock()
	h.subs[c] = scope
	h.mu.Unlock()
	h.clients.Inc()
	return c
}

func (h *Hub) unsubscribe(c chan []byte) {
	h.mu.Lock()
	delete(h.subs, c)
	h.mu.Unlock()
	h.clients.Dec()
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	c := s.opts.Hub.subscribe(scopeOf(r.Context()))
	defer s.opts.Hub.unsubscribe(c)
	fmt.Fprint(w, "retry: 3000\n: connected\n\n")
	rc.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg := <-c:
			rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := w.Write(msg); err != nil {
				return
			}
			// Drain what is queued before flushing, to write in bulk.
			for n := len(c); n > 0; n-- {
				if _, err := w.Write(<-c); err != nil {
					return
				}
			}
			if rc.Flush() != nil {
				return
			}
		case <-keepalive.C:
			rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
