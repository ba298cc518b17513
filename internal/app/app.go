// Package app is vigie's composition root: it builds every part from the
// configuration, starts them in order and stops them in reverse.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigie-monitoring/vigie/internal/agent"
	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/api"
	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/config"
	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/events/rules"
	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/metrics/remote"
	"github.com/vigie-monitoring/vigie/internal/snmp"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
	"github.com/vigie-monitoring/vigie/internal/web"
)

// Version is set at build time.
var Version = "dev"

// App is a running vigie server.
type App struct {
	cfg     *config.Config
	env     []string
	log     *slog.Logger
	st      store.Store
	tsdb    *metrics.DB
	auth    *auth.Service
	engine  *state.Engine
	mon     *monitor
	hub     *api.Hub
	alarms  *alarms.Engine
	rules   *rules.Engine
	ruleMgr *rules.Manager
	checkEv *checkEvents
	api     *api.Server
	redisc  rediscovery
	sync    *syncer
	ln      net.Listener
	reload  chan struct{}
	// Notice receives one-off messages for the operator at the terminal
	// (the generated admin password), never the log.
	notice io.Writer

	// sink stores samples and forwards them (remotewrite.go); receiver
	// takes remote-write pushes into it.
	sink *sampleSink
	// live is what agents said lately, for the "agent" check kind
	// (agent.go).
	live     *agent.Liveness
	receiver *remote.Receiver

	// reg holds vigie's own metrics; eventSink takes what the event
	// sources receive (sources.go), amHandler is the Alertmanager webhook.
	reg       *prometheus.Registry
	eventSink events.Sink
	amHandler http.Handler
}

// New opens storage and builds every part. env is the environment the
// configuration was loaded with, kept to reload it.
func New(ctx context.Context, cfg *config.Config, env []string, log *slog.Logger, notice io.Writer) (*App, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	opts := store.Options{Driver: cfg.Storage.Driver, DSN: cfg.Storage.DSN}
	if opts.Driver == "sqlite" && opts.DSN == "" {
		opts.DSN = filepath.Join(cfg.DataDir, "vigie.db")
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	// One server writes to a database; a restart waits a while for the
	// previous one's session to end.
	release, err := st.HoldWriterLock(ctx, cfg.Storage.LockWait.D())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	st = lockedStore{Store: st, release: release}
	a := &App{cfg: cfg, env: env, log: log, st: st, notice: notice, reload: make(chan struct{}, 1)}
	a.auth = auth.NewService(st, auth.Options{SessionTTL: cfg.HTTP.SessionTTL.D(), LDAP: ldapConfig(cfg.LDAP)})
	if err := a.auth.EnsureRoles(ctx); err != nil {
		st.Close()
		return nil, err
	}
	generated, err := a.auth.EnsureAdmin(ctx, cfg.AdminPassword)
	if err != nil {
		st.Close()
		return nil, err
	}
	if generated != "" {
		fmt.Fprintf(notice, "\n  vigie: created user \"admin\" with password %s\n  (shown once; set VIGIE_ADMIN_PASSWORD to choose it)\n\n", generated)
	}

	// MIB files load in the background: a service naming one of their
	// objects waits for them (snmp.Default loads once), others do not.
	snmp.SetMIBDirs(cfg.SNMP.MIBDirs)
	go func() {
		if err := snmp.DefaultLoadError(); err != nil {
			log.Warn("loading MIB files (their names will not resolve)", "err", err)
		}
		log.Debug("SNMP object names loaded", "names", snmp.Default().Len())
	}()

	reg := prometheus.NewRegistry()
	a.reg = reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.tsdb, err = metrics.Open(filepath.Join(cfg.DataDir, "tsdb"), metrics.Options{
		Logger: log, Registerer: reg, Retention: cfg.Metrics.Retention.D(), RetentionBytes: cfg.Metrics.RetentionBytes,
		Rollup5mRetention: cfg.Metrics.Rollup5mRetention.D(), Rollup1hRetention: cfg.Metrics.Rollup1hRetention.D(),
		PrecisionBits: cfg.Metrics.PrecisionBits, MinFreeBytes: cfg.Metrics.MinFreeBytes, OutOfOrderWindow: cfg.Metrics.OutOfOrderWindow.D(),
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			if a.sink != nil {
				a.sink.close()
			}
			a.tsdb.Close()
		}
	}()
	if err := a.openRemoteWrite(reg); err != nil {
		st.Close()
		return nil, err
	}
	a.hub = api.NewHub(reg)
	idle, err := idleRules(cfg.Alarms.IdleRules)
	if err == nil {
		a.alarms, err = alarms.New(ctx, alarms.Options{Store: st, ResolveDelay: cfg.Alarms.ResolveDelay.D(), Publish: a.publishAlarm, Logger: log, Registerer: reg,
			FlapChanges: cfg.Alarms.Flapping.Changes, FlapWindow: cfg.Alarms.Flapping.Window.D(), IdleRules: idle})
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("loading the open alarms: %w", err)
	}
	// Every event, whatever its source, is qualified by the rules before
	// the engine stores it: events.rules of the YAML first, then those
	// made through the API.
	a.rules = rules.NewEngine()
	var skipped []error
	a.ruleMgr, skipped, err = rules.NewManager(ctx, a.rules, st, cfg.Events.Rules)
	if err != nil {
		st.Close()
		return nil, err
	}
	for _, err := range skipped {
		log.Warn("event rule not applied", "err", err)
	}
	reg.MustRegister(a.rules)
	qualified := &rules.Sink{Rules: a.rules, Next: a.alarms}
	a.eventSink = qualified
	a.checkEv = newCheckEvents(qualified, cfg.Alarms.ConnectorName, reg)
	a.checkEv.log = log
	a.engine = state.NewEngine(state.EngineOptions{
		Concurrency: cfg.Scheduler.Concurrency,
		Writer:      writerFunc(a.writeResults),
		Publish: func(ev state.Event) {
			a.hub.Status(ev)
			a.checkEv.publish(ev)
		},
		Logger:     log,
		Metrics:    state.NewMetrics(reg),
		Thresholds: state.Thresholds{Low: cfg.Scheduler.FlapLowThreshold, High: cfg.Scheduler.FlapHighThreshold},
	})
	a.mon = newMonitor(a.engine, cfg.Scheduler)
	a.mon.self = a.selfCheck
	a.live = agent.NewLiveness(nil)
	if err := restoreAgents(ctx, st, a.live); err != nil {
		st.Close()
		return nil, err
	}
	a.mon.agent = agentCheck(a.live, time.Now())
	a.checkEv.names, a.checkEv.domainOf = a.mon.names, a.mon.DomainOf
	a.mon.removed = a.checkEv.removed
	a.hub.SetDomainOf(a.mon.DomainOf)
	a.sync = &syncer{st: st, mon: a.mon, sched: cfg.Scheduler, hub: a.hub}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigie_scheduled_checks", Help: "Hosts and services scheduled.",
	}, func() float64 { return float64(a.engine.Jobs()) }))

	if err := a.restore(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := a.reconcile(ctx); err != nil {
		st.Close()
		return nil, err
	}
	inv, err := cfg.LoadInventory()
	if err == nil {
		err = ValidateInventory(inv, cfg.Scheduler)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	if _, err := a.sync.sync(ctx, inv); err != nil {
		st.Close()
		return nil, fmt.Errorf("provisioning the inventory: %w", err)
	}

	a.api = api.New(api.Options{
		Store: st, Auth: a.auth, Monitor: a.mon, Hub: a.hub, Alarms: qualifiedAlarms{a.alarms, qualified}, Rules: a.ruleMgr, Alertmanager: http.HandlerFunc(a.alertmanager),
		Console: web.Handler(), Metrics: a.tsdb, Receiver: a.receiver, Samples: a.sink, Agents: a.live,
		Gatherer: reg, Registerer: reg, Logger: log, MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		PublicMetrics: cfg.HTTP.PublicMetrics, SecureCookies: cfg.HTTP.TLSCert != "",
		Version: Version,
		Defaults: api.Defaults{
			Interval: cfg.Scheduler.Interval.D(), RetryInterval: cfg.Scheduler.RetryInterval.D(),
			MaxAttempts: cfg.Scheduler.MaxAttempts, Timeout: cfg.Scheduler.Timeout.D(),
			PluginDirs: cfg.Scheduler.PluginDirs,
		},
	})
	ok = true
	return a, nil
}

type writerFunc func(context.Context, []state.Update) error

func (f writerFunc) WriteStatus(ctx context.Context, b []state.Update) error { return f(ctx, b) }

// restore loads stored statuses and schedules every stored host and
// service, so that a restart resumes where the last run stopped.
func (a *App) restore(ctx context.Context) error {
	// The groups' template settings first: checks are built with them.
	groups, err := store.AllHostGroups(ctx, a.st)
	if err != nil {
		return fmt.Errorf("loading host groups: %w", err)
	}
	for _, g := range groups {
		if g.SNMPTemplate != nil {
			a.mon.SetGroupSNMP(g.Name, g.SNMPTemplate.SNMP)
		}
	}
	for _, kind := range []string{state.KindHost, state.KindService} {
		sts, err := a.st.LoadStatus(ctx, kind)
		if err != nil {
			return fmt.Errorf("loading states: %w", err)
		}
		a.engine.Load(sts)
	}
	hosts, err := store.AllHosts(ctx, a.st, store.HostFilter{})
	if err != nil {
		return fmt.Errorf("loading hosts: %w", err)
	}
	byID := make(map[int64]int, len(hosts))
	for i, h := range hosts {
		byID[h.ID] = i
		a.mon.HostChanged(h, false)
	}
	svcs, err := store.AllServices(ctx, a.st, store.ServiceFilter{})
	if err != nil {
		return fmt.Errorf("loading services: %w", err)
	}
	for _, s := range svcs {
		if i, ok := byID[s.HostID]; ok {
			if err := a.mon.ServiceChanged(s, hosts[i], false); err != nil {
				a.log.Warn("service check does not build", "host", hosts[i].Name, "service", s.Name, "err", err)
			}
		}
	}
	a.log.Info("inventory loaded", "hosts", len(hosts), "services", len(svcs))
	return nil
}

// Listen binds the HTTP listener (separately from Run so that callers know
// the address before serving, and a busy port fails the start).
func (a *App) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s (http.listen / VIGIE_HTTP_LISTEN): %w", a.cfg.HTTP.Listen, err)
	}
	a.ln = ln
	return ln.Addr(), nil
}

// Handler is the HTTP handler (for tests).
func (a *App) Handler() http.Handler { return a.api }

// Run serves until ctx is done, then stops everything in reverse order.
func (a *App) Run(ctx context.Context) error {
	if a.ln == nil {
		if _, err := a.Listen(); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           a.api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	srcCtx, stopSources := context.WithCancel(context.Background())
	defer stopSources()
	sourcesDone, err := a.startSources(srcCtx)
	if err != nil {
		return err
	}
	engineCtx, stopEngine := context.WithCancel(context.Background())
	engineDone := make(chan error, 1)
	go func() { engineDone <- a.engine.Run(engineCtx) }()
	rollupDone := make(chan struct{})
	go func() { a.tsdb.Run(engineCtx); close(rollupDone) }()
	// Check events and alarm resolution stop after the state engine, so
	// that its last changes still become events.
	alarmsCtx, stopAlarms := context.WithCancel(context.Background())
	alarmsDone := make(chan struct{}, 2)
	go func() { a.checkEv.run(alarmsCtx); alarmsDone <- struct{}{} }()
	go func() { a.alarms.Run(alarmsCtx); alarmsDone <- struct{}{} }()

	httpDone := make(chan error, 1)
	go func() {
		var err error
		if a.cfg.HTTP.TLSCert != "" {
			err = srv.ServeTLS(a.ln, a.cfg.HTTP.TLSCert, a.cfg.HTTP.TLSKey)
		} else {
			err = srv.Serve(a.ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		httpDone <- err
	}()
	a.log.Info("vigie started", "version", Version, "listen", a.ln.Addr().String(), "storage", a.cfg.Storage.Driver, "data_dir", a.cfg.DataDir)

	go a.watchConfig(ctx)
	go a.housekeeping(ctx)
	go a.rediscoverLoop(ctx)

	select {
	case <-ctx.Done():
	case err = <-httpDone:
	}
	a.log.Info("vigie stopping")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutCtx)
	stopSources()
	sourcesDone()
	stopEngine()
	<-engineDone
	stopAlarms()
	<-alarmsDone
	<-alarmsDone
	<-rollupDone
	a.sink.close()
	if cerr := a.tsdb.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := a.st.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// watchConfig reloads the YAML inventory when its files change: edits
// reach the scheduler without a restart. A file that no longer validates is
// reported and the running inventory kept.
func (a *App) watchConfig(ctx context.Context) {
	last := a.cfg.Fingerprint()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if fp := a.cfg.Fingerprint(); fp != last {
				last = fp
				a.reloadNow(ctx)
			}
		case <-a.reload:
			last = a.cfg.Fingerprint()
			a.reloadNow(ctx)
		}
	}
}

// Reload asks for the configuration's inventory to be re-read now (on
// SIGHUP); the reload runs in the watcher, never concurrently.
func (a *App) Reload() {
	select {
	case a.reload <- struct{}{}:
	default:
	}
}

func (a *App) reloadNow(ctx context.Context) {
	cfg, err := config.Load(a.cfg.Path(), a.env)
	if err != nil {
		a.log.Error("configuration not reloaded", "err", err)
		return
	}
	inv, err := cfg.LoadInventory()
	if err == nil {
		err = ValidateInventory(inv, a.cfg.Scheduler)
	}
	if err != nil {
		a.log.Error("inventory not reloaded", "err", err)
		return
	}
	// Only the inventory and events.rules are reloaded live; other
	// settings need a restart.
	a.cfg.Inventory, a.cfg.InventoryDir = cfg.Inventory, cfg.InventoryDir
	if !slices.EqualFunc(a.cfg.Events.Rules, cfg.Events.Rules, sameRule) {
		if skipped, err := a.ruleMgr.SetConfig(cfg.Events.Rules); err != nil {
			a.log.Error("events.rules not reloaded", "err", err)
		} else {
			a.cfg.Events.Rules = cfg.Events.Rules
			a.log.Info("events.rules reloaded", "rules", len(cfg.Events.Rules), "api_rules_left_out", skipped)
		}
	}
	n, err := a.sync.sync(ctx, inv)
	if err != nil {
		a.log.Error("applying the reloaded inventory", "err", err)
		return
	}
	// Groups' templates may have changed, and hosts joined or left them.
	a.syncTemplates(ctx)
	a.log.Info("inventory reloaded", "changes", n)
}

func (a *App) housekeeping(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.st.DeleteAuditBefore(ctx, time.Now().Add(-a.cfg.Audit.Retention.D())); err != nil {
				a.log.Warn("pruning the audit trail", "err", err)
			} else if n > 0 {
				a.log.Debug("old audit entries deleted", "count", n)
			}
			if n, err := a.st.DeleteLogsBefore(ctx, time.Now().Add(-a.cfg.Alarms.LogRetention.D())); err != nil {
				a.log.Warn("pruning log events", "err", err)
			} else if n > 0 {
				a.log.Debug("old log events deleted", "count", n)
			}
			if n, err := a.st.DeleteExpiredSessions(ctx, time.Now().UTC()); err != nil {
				a.log.Warn("deleting expired sessions", "err", err)
			} else if n > 0 {
				a.log.Debug("expired sessions deleted", "count", n)
			}
		}
	}
}

func ldapConfig(c config.LDAP) *auth.LDAPConfig {
	if c.URL == "" {
		return nil
	}
	l := &auth.LDAPConfig{
		URL: c.URL, StartTLS: c.StartTLS, SkipVerify: c.SkipVerify, BindDN: c.BindDN, BindPassword: c.BindPassword,
		BaseDN: c.BaseDN, UserFilter: c.UserFilter, GroupBaseDN: c.GroupBaseDN, GroupFilter: c.GroupFilter,
		GroupAttr: c.GroupAttr, DefaultRole: c.DefaultRole, Timeout: c.Timeout.D(),
	}
	for _, g := range c.GroupRoles {
		l.GroupRoles = append(l.GroupRoles, auth.GroupRole{Group: g.Group, Role: g.Role})
	}
	return l
}

// lockedStore releases the writer lock when the store closes, on every
// path out of New and at the end of Run.
type lockedStore struct {
	store.Store
	release func() error
}

func (l lockedStore) Close() error {
	return errors.Join(l.release(), l.Store.Close())
}
