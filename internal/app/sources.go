package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/events/sources"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// SetEventSink sets where the event sources (syslog, SNMP traps, AMQP,
// NATS, the Alertmanager webhook) deliver. Call it before Run; without a sink no
// source starts, whatever the configuration says. New sets the alarm
// engine.
func (a *App) SetEventSink(s events.Sink) {
	a.eventSink = s
	a.amHandler = nil
}

// alertmanager serves the webhook route of the API, through whatever sink
// is set when the request comes.
func (a *App) alertmanager(w http.ResponseWriter, r *http.Request) {
	h := a.AlertmanagerHandler()
	if h == nil {
		http.Error(w, "no event sink", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// AlertmanagerHandler is the webhook handler for
// sources.AlertmanagerPath, nil without an event sink. Routing and
// authentication are the API's.
func (a *App) AlertmanagerHandler() http.Handler {
	if a.eventSink == nil {
		return nil
	}
	if a.amHandler == nil {
		a.amHandler = sources.NewAlertmanager(sources.AlertmanagerOptions{
			MaxBodyBytes: a.cfg.HTTP.MaxBodyBytes, Logger: a.log, Registerer: a.reg,
		}, a.eventSink)
	}
	return a.amHandler
}

// startSources binds and starts the configured sources. They run until
// ctx ends; wait returns once they stopped (after storing what they hold).
// A syslog address that cannot be bound fails the start.
func (a *App) startSources(ctx context.Context) (wait func(), err error) {
	c := a.cfg
	configured := c.Syslog.Listen != "" || c.AMQP.URL != "" || c.NATS.URL != "" || c.SNMPTrap.Listen != ""
	if a.eventSink == nil {
		if configured {
			a.log.Warn("event sources configured but no event sink yet: not started")
		}
		return func() {}, nil
	}
	var runs []sources.Source
	if c.Syslog.Listen != "" {
		s, err := sources.ListenSyslog(sources.SyslogOptions{
			Listen: c.Syslog.Listen, ConnectorName: c.Syslog.ConnectorName,
			MaxMessageBytes: c.Syslog.MaxMessageBytes, MaxConns: c.Syslog.MaxConns,
			Logger: a.log, Registerer: a.reg,
		}, a.eventSink)
		if err != nil {
			return nil, err
		}
		runs = append(runs, s)
	}
	if st := c.SNMPTrap; st.Listen != "" {
		users := make([]sources.SNMPv3User, 0, len(st.Users))
		for _, u := range st.Users {
			users = append(users, sources.SNMPv3User{Name: u.User, AuthProtocol: u.AuthProtocol, AuthPassword: u.AuthPassword,
				PrivProtocol: u.PrivProtocol, PrivPassword: u.PrivPassword})
		}
		names := &hostNames{st: a.st, log: a.log, every: 30 * time.Second}
		s, err := sources.ListenSNMPTrap(sources.SNMPTrapOptions{
			Listen: st.Listen, ConnectorName: st.ConnectorName, Communities: st.Communities, Users: users,
			MaxPacketBytes: st.MaxPacketBytes, RatePerSource: st.RatePerSource, HostName: names.name,
			Logger: a.log, Registerer: a.reg,
		}, a.eventSink)
		if err != nil {
			return nil, err
		}
		runs = append(runs, s)
	}
	if c.AMQP.URL != "" {
		s, err := sources.NewAMQP(sources.AMQPOptions{
			URL: c.AMQP.URL, Exchange: c.AMQP.Exchange, Queue: c.AMQP.Queue, DeadLetterQueue: c.AMQP.DeadLetterQueue,
			Prefetch: c.AMQP.Prefetch, Logger: a.log, Registerer: a.reg,
		}, a.eventSink)
		if err != nil {
			return nil, err
		}
		runs = append(runs, s)
	}
	if c.NATS.URL != "" {
		s, err := sources.NewNATS(sources.NATSOptions{
			URL: c.NATS.URL, Subject: c.NATS.Subject, Stream: c.NATS.Stream, Durable: c.NATS.Durable,
			MaxAckPending: c.NATS.MaxAckPending, Logger: a.log, Registerer: a.reg,
		}, a.eventSink)
		if err != nil {
			return nil, err
		}
		runs = append(runs, s)
	}
	var wg sync.WaitGroup
	for _, src := range runs {
		wg.Go(func() {
			if err := src.Run(ctx); err != nil {
				a.log.Error("event source stopped", "err", err)
			}
		})
	}
	return wg.Wait, nil
}

// hostNames names a trap's agent after the inventory host with that
// address, so that its alarms sit beside the host's own. Hosts given by a
// DNS name are not resolved. The table is read again at most every
// `every`, so that a storm of traps costs no query each.
type hostNames struct {
	st    store.Inventory
	log   *slog.Logger
	every time.Duration

	mu     sync.Mutex
	read   time.Time
	byAddr map[netip.Addr]string
}

func (h *hostNames) name(addr netip.Addr) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now := time.Now(); now.Sub(h.read) >= h.every {
		h.read = now // a failure is tried again only after `every`
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		hosts, err := store.AllHosts(ctx, h.st, store.HostFilter{})
		cancel()
		if err != nil {
			h.log.Warn("reading hosts to name snmp trap agents; keeping the last table", "err", err)
		} else {
			m := make(map[netip.Addr]string, len(hosts))
			for _, host := range hosts {
				if a, err := netip.ParseAddr(host.Address); err == nil {
					m[a.Unmap()] = host.Name
				}
			}
			h.byAddr = m
		}
	}
	return h.byAddr[addr.Unmap()]
}
