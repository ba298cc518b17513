package app

import (
	"context"
	"net/http"
	"sync"

	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/events/sources"
)

// SetEventSink sets where the event sources (syslog, AMQP, NATS, the
// Alertmanager webhook) deliver. Call it before Run; without a sink no
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
// A syslog or RELP address that cannot be bound fails the start.
func (a *App) startSources(ctx context.Context) (wait func(), err error) {
	c := a.cfg
	configured := c.Syslog.Listen != "" || c.Syslog.RELPListen != "" || c.AMQP.URL != "" || c.NATS.URL != ""
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
	if c.Syslog.RELPListen != "" {
		s, err := sources.ListenRELP(sources.RELPOptions{
			Listen: c.Syslog.RELPListen, ConnectorName: c.Syslog.ConnectorName,
			MaxFrameBytes: c.Syslog.RELPMaxFrameBytes, Window: c.Syslog.RELPWindow, MaxConns: c.Syslog.MaxConns,
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
			MaxAckPending: c.NATS.MaxAckPending, AckWait: c.NATS.AckWait.D(), Logger: a.log, Registerer: a.reg,
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
