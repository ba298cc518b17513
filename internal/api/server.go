// Package api serves vigie's REST API under /api/v1, the live event stream,
// the OpenAPI document, health and metrics endpoints, and the console.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigie-monitoring/vigie/internal/agent"
	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/events/rules"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// Monitor is the part of the state engine the API drives: it learns about
// inventory changes at once, so no change ever needs a restart.
type Monitor interface {
	HostChanged(h inventory.Host, runNow bool) error
	HostRemoved(id int64, services []int64)
	ServiceChanged(s inventory.Service, h inventory.Host, runNow bool) error
	ServiceRemoved(id int64)
	RunNow(kind string, id int64) bool
	Status(kind string, id int64) (state.Status, bool)
	Snapshot(kind string) []state.Status
	ServiceStatesByHost() map[int64]map[string]int
	// SetGroupSNMP records a host group template's SNMP settings (nil:
	// none), the defaults under its members' own.
	SetGroupSNMP(group string, settings checks.Spec)
	// EffectiveSNMP is a host's settings over its groups' template
	// settings: what its snmp services use.
	EffectiveSNMP(h inventory.Host) checks.Spec
}

// Defaults are the scheduling values of objects that do not give theirs.
type Defaults struct {
	Interval      time.Duration
	RetryInterval time.Duration
	MaxAttempts   int
	Timeout       time.Duration
	PluginDirs    []string
}

// Options configure a Server.
type Options struct {
	Store   store.Store
	Auth    *auth.Service
	Monitor Monitor
	Hub     *Hub
	Metrics Metrics
	// Alarms takes events and operators' actions (503 when nil).
	Alarms Alarms
	// Rules are the qualification rules (503 when nil).
	Rules *rules.Manager
	// Alertmanager serves the Alertmanager webhook (503 when nil).
	Alertmanager http.Handler
	// Receiver stores Prometheus remote-write pushes (503 when nil).
	Receiver Receiver
	// Samples stores what agents push (503 when nil); Agents keeps their
	// liveness and last results for the "agent" check kind.
	Samples  SampleAppender
	Agents   *agent.Liveness
	Console  http.Handler
	Gatherer prometheus.Gatherer
	// Registerer, when set, gets the API's own metrics.
	Registerer    prometheus.Registerer
	Logger        *slog.Logger
	MaxBodyBytes  int64
	PublicMetrics bool
	SecureCookies bool
	Defaults      Defaults
	Version       string
}

// Server is the HTTP API.
type Server struct {
	opts Options
	// eventsIn counts events taken by POST /api/v1/events, eventsRefused
	// those refused, by reason.
	eventsIn      prometheus.Counter
	eventsRefused *prometheus.CounterVec
	st            store.Store
	auth          *auth.Service
	mon           Monitor
	tmpl          templates
	log           *slog.Logger
	mux           *http.ServeMux
	agents        agentState
	// agentSamples counts agent samples by outcome (stored, refused),
	// agentBatchesIn agent batches (stored, duplicate).
	agentSamples, agentBatchesIn *prometheus.CounterVec
}

// route is one API endpoint; the table is also what the OpenAPI test
// compares the published document with.
type route struct {
	method, pattern string
	handler         func(*Server, http.ResponseWriter, *http.Request)
	// public routes answer without authentication; self routes are open to
	// every signed-in user for their own things (sessions, tokens); every
	// other route needs its permission.
	public, self bool
	perm         auth.Permission
	// agent routes authenticate an agent by its agent token instead of a
	// user.
	agent bool
	// bulk routes take large binary bodies (bounded by the receiver, not
	// http.max_body_bytes) and are not audited: a Prometheus pushes every
	// few seconds.
	bulk bool
	// body, when set, bounds the route's body instead of
	// http.max_body_bytes; quiet routes are not audited (sources post
	// events by the thousand).
	body  func(*Server) int64
	quiet bool
	// accepted routes answer 202.
	accepted bool
	// summary, in and out document the route in the OpenAPI document: in
	// and out name schemas ("Host", "[]Host" for a list page).
	summary, in, out string
}

// routes is filled in init: the OpenAPI handler, one of the routes, is
// built from the table, which would otherwise be an initialisation cycle.
var routes []route

func init() {
	routes = []route{
		{method: "POST", pattern: "/api/v1/login", handler: (*Server).login, public: true, summary: "Sign in to the console; sets the session cookie", in: "Login", out: "Me"},
		{method: "POST", pattern: "/api/v1/logout", handler: (*Server).logout, self: true, summary: "End this console session"},
		{method: "GET", pattern: "/api/v1/me", handler: (*Server).me, self: true, summary: "Who is signed in, with the CSRF token", out: "Me"},
		{method: "GET", pattern: "/api/v1/overview", handler: (*Server).overview, perm: auth.PermOverviewRead, summary: "Counts per state and current problems", out: "Overview"},

		{method: "GET", pattern: "/api/v1/hosts", handler: (*Server).listHosts, perm: auth.PermHostsRead, summary: "List hosts (filters: search, group, domain, state, name)", out: "[]Host"},
		{method: "POST", pattern: "/api/v1/hosts", handler: (*Server).createHost, perm: auth.PermHostsWrite, summary: "Create a host", in: "HostInput", out: "Host"},
		{method: "GET", pattern: "/api/v1/hosts/{id}", handler: (*Server).getHost, perm: auth.PermHostsRead, summary: "Get a host by id or name", out: "Host"},
		{method: "PUT", pattern: "/api/v1/hosts/{id}", handler: (*Server).updateHost, perm: auth.PermHostsWrite, summary: "Update a host (fields given replace the stored ones)", in: "HostInput", out: "Host"},
		{method: "PATCH", pattern: "/api/v1/hosts/{id}", handler: (*Server).updateHost, perm: auth.PermHostsWrite, summary: "Update some fields of a host", in: "HostInput", out: "Host"},
		{method: "DELETE", pattern: "/api/v1/hosts/{id}", handler: (*Server).deleteHost, perm: auth.PermHostsWrite, summary: "Delete a host and its services"},
		{method: "GET", pattern: "/api/v1/hosts/{id}/services", handler: (*Server).hostServices, perm: auth.PermServicesRead, summary: "List a host's services", out: "[]Service"},
		{method: "GET", pattern: "/api/v1/hosts/{id}/history", handler: (*Server).hostHistory, perm: auth.PermHostsRead, summary: "A host's state periods, newest first (from, to, limit)", out: "[]StateChange"},
		{method: "GET", pattern: "/api/v1/hosts/{id}/dashboard", handler: (*Server).hostDashboard, perm: auth.PermMetricsRead, summary: "A host's dashboard: one panel per metric family the time-series store holds for the host, grouped by service (range 1h…1y, or start and end)", out: "Dashboard"},
		{method: "POST", pattern: "/api/v1/hosts/{id}/check", handler: (*Server).checkHostNow, perm: auth.PermChecksRun, summary: "Check a host now"},
		{method: "POST", pattern: "/api/v1/hosts/{id}/snmp/discover", handler: (*Server).discoverInterfaces, perm: auth.PermServicesWrite, summary: "Walk the host's ifTable/ifXTable and create one snmp_interface service per interface passing the filters (name regex, types, oper_status, admin_status; dry_run lists only)", in: "SNMPDiscoverInput", out: "SNMPDiscovery"},
		{method: "GET", pattern: "/api/v1/hosts/{id}/snmp/walk", handler: (*Server).walkHost, perm: auth.PermHostsRead, summary: "Walk the host's SNMP agent under oid (numeric or name, default system), at most max values (200, up to 2000)", out: "SNMPWalk"},
		{method: "POST", pattern: "/api/v1/snmp/test", handler: (*Server).testSNMP, perm: auth.PermHostsWrite, summary: "Try SNMP settings (a host's, the body's, or both) by reading the system group; ok false with the reason when the device refuses or does not answer", in: "SNMPTestInput", out: "SNMPTestResult"},

		{method: "GET", pattern: "/api/v1/hostgroups", handler: (*Server).listHostGroups, perm: auth.PermHostsRead, summary: "List host groups", out: "[]HostGroup"},
		{method: "POST", pattern: "/api/v1/hostgroups", handler: (*Server).createHostGroup, perm: auth.PermHostsWrite, summary: "Create a host group", in: "HostGroupInput", out: "HostGroup"},
		{method: "GET", pattern: "/api/v1/hostgroups/{id}", handler: (*Server).getHostGroup, perm: auth.PermHostsRead, summary: "Get a host group by id or name", out: "HostGroup"},
		{method: "PUT", pattern: "/api/v1/hostgroups/{id}", handler: (*Server).updateHostGroup, perm: auth.PermHostsWrite, summary: "Update a host group", in: "HostGroupInput", out: "HostGroup"},
		{method: "PATCH", pattern: "/api/v1/hostgroups/{id}", handler: (*Server).updateHostGroup, perm: auth.PermHostsWrite, summary: "Update a host group", in: "HostGroupInput", out: "HostGroup"},
		{method: "DELETE", pattern: "/api/v1/hostgroups/{id}", handler: (*Server).deleteHostGroup, perm: auth.PermHostsWrite, summary: "Delete an empty host group"},

		{method: "GET", pattern: "/api/v1/services", handler: (*Server).listServices, perm: auth.PermServicesRead, summary: "List services (filters: host, kind, state, name)", out: "[]Service"},
		{method: "POST", pattern: "/api/v1/services", handler: (*Server).createService, perm: auth.PermServicesWrite, summary: "Create a service on a host", in: "ServiceInput", out: "Service"},
		{method: "GET", pattern: "/api/v1/services/{id}", handler: (*Server).getService, perm: auth.PermServicesRead, summary: "Get a service with its state", out: "Service"},
		{method: "PUT", pattern: "/api/v1/services/{id}", handler: (*Server).updateService, perm: auth.PermServicesWrite, summary: "Update a service", in: "ServiceInput", out: "Service"},
		{method: "PATCH", pattern: "/api/v1/services/{id}", handler: (*Server).updateService, perm: auth.PermServicesWrite, summary: "Update some fields of a service", in: "ServiceInput", out: "Service"},
		{method: "DELETE", pattern: "/api/v1/services/{id}", handler: (*Server).deleteService, perm: auth.PermServicesWrite, summary: "Delete a service"},
		{method: "GET", pattern: "/api/v1/services/{id}/history", handler: (*Server).serviceHistory, perm: auth.PermServicesRead, summary: "A service's state periods, newest first (from, to, limit)", out: "[]StateChange"},
		{method: "POST", pattern: "/api/v1/services/{id}/check", handler: (*Server).checkServiceNow, perm: auth.PermChecksRun, summary: "Check a service now"},

		{method: "POST", pattern: "/api/v1/events", handler: (*Server).postEvents, perm: auth.PermEventsWrite, body: (*Server).eventsBody, quiet: true, accepted: true, summary: "Send one event or an array of at most 1000 events in the Canopsis form (1 MiB); 202 once stored", in: "EventInput", out: "EventsAccepted"},
		{method: "GET", pattern: "/api/v1/events", handler: (*Server).listLogs, perm: auth.PermAlarmsRead, summary: "Log events (kept, never alarms), newest first (filters: component, connector, search, since, until)", out: "[]LogEvent"},
		{method: "POST", pattern: "/api/v1/integrations/alertmanager", handler: (*Server).alertmanager, perm: auth.PermEventsWrite, quiet: true, summary: "Prometheus Alertmanager webhook (version 4): each alert an event; 200 once stored"},
		{method: "GET", pattern: "/api/v1/rules", handler: (*Server).listRules, perm: auth.PermAlarmsRead, summary: "Qualification rules in the order they apply (events.rules of the YAML first, source config), with their hit counts", out: "RuleList"},
		{method: "POST", pattern: "/api/v1/rules", handler: (*Server).createRule, perm: auth.PermRulesManage, summary: "Create a rule, last or at position among the API's rules (0 first)", in: "RuleInput", out: "Rule"},
		{method: "GET", pattern: "/api/v1/rules/{id}", handler: (*Server).getRule, perm: auth.PermAlarmsRead, summary: "Get a rule by name, with its hit counts", out: "Rule"},
		{method: "PUT", pattern: "/api/v1/rules/{id}", handler: (*Server).updateRule, perm: auth.PermRulesManage, summary: "Replace a rule, by name, in place or at position (409 managed_by_config for YAML rules)", in: "RuleInput", out: "Rule"},
		{method: "DELETE", pattern: "/api/v1/rules/{id}", handler: (*Server).deleteRule, perm: auth.PermRulesManage, summary: "Delete a rule, by name (409 managed_by_config for YAML rules)"},
		{method: "POST", pattern: "/api/v1/rules/dry-run", handler: (*Server).dryRun, perm: auth.PermRulesManage, summary: "What a rule (rule, or name of one), or every rule in force (neither), would do to a sample event; counts no hit", in: "RuleDryRun", out: "RuleDryRunResult"},
		{method: "GET", pattern: "/api/v1/alarms", handler: (*Server).listAlarms, perm: auth.PermAlarmsRead, summary: "List alarms, newest first or in sort= order (filters: component, resource, connector, state, criticality, ack, snoozed, flapping, domain, group, status, search, since, until)", out: "[]Alarm"},
		{method: "GET", pattern: "/api/v1/alarms/count", handler: (*Server).countAlarms, perm: auth.PermAlarmsRead, summary: "Count the alarms the list gives for the same filters, in all and by criticality", out: "AlarmCounts"},
		{method: "GET", pattern: "/api/v1/alarms/{id}", handler: (*Server).getAlarm, perm: auth.PermAlarmsRead, summary: "Get an alarm with its steps", out: "Alarm"},
		{method: "POST", pattern: "/api/v1/alarms/{id}/ack", handler: alarmAction(alarms.StepAck), perm: auth.PermAlarmsAck, summary: "Acknowledge an alarm (comment)", in: "AlarmAction", out: "Alarm"},
		{method: "POST", pattern: "/api/v1/alarms/{id}/unack", handler: alarmAction(alarms.StepUnack), perm: auth.PermAlarmsAck, summary: "Remove an alarm's acknowledgement (comment)", in: "AlarmAction", out: "Alarm"},
		{method: "POST", pattern: "/api/v1/alarms/{id}/comment", handler: alarmAction(alarms.StepComment), perm: auth.PermAlarmsAck, summary: "Comment on an alarm (comment)", in: "AlarmAction", out: "Alarm"},
		{method: "POST", pattern: "/api/v1/alarms/{id}/criticality", handler: alarmAction(alarms.StepCriticality), perm: auth.PermAlarmsAck, summary: "Set an alarm's criticality by hand (criticality, lock, comment)", in: "AlarmAction", out: "Alarm"},
		{method: "POST", pattern: "/api/v1/alarms/{id}/cancel", handler: alarmAction(alarms.StepCancel), perm: auth.PermAlarmsAck, summary: "Cancel an open alarm: it is resolved by hand (comment)", in: "AlarmAction", out: "Alarm"},
		{method: "POST", pattern: "/api/v1/alarms/{id}/snooze", handler: alarmAction(alarms.StepSnooze), perm: auth.PermAlarmsSnooze, summary: "Snooze an open alarm until a time (until, comment)", in: "AlarmAction", out: "Alarm"},
		{method: "POST", pattern: "/api/v1/alarms/{id}/transfer", handler: alarmAction(alarms.StepTransfer), perm: auth.PermAlarmsTransfer, summary: "Transfer an alarm to users (users, comment); recorded", in: "AlarmAction", out: "Alarm"},
		{method: "POST", pattern: "/api/v1/alarms/{id}/archive", handler: alarmAction(alarms.StepArchive), perm: auth.PermAlarmsArchive, summary: "Archive an alarm: out of the live view, kept and searchable (comment)", in: "AlarmAction", out: "Alarm"},
		{method: "DELETE", pattern: "/api/v1/alarms/{id}", handler: (*Server).deleteAlarm, perm: auth.PermAlarmsDelete, summary: "Purge an alarm and its steps; with archive=true archive it instead (needs alarms.archive)"},
		{method: "GET", pattern: "/api/v1/maintenances", handler: (*Server).listMaintenances, perm: auth.PermAlarmsRead, summary: "List maintenance windows, oldest first", out: "[]Maintenance"},
		{method: "POST", pattern: "/api/v1/maintenances", handler: (*Server).createMaintenance, perm: auth.PermMaintenance, summary: "Create a maintenance window: start and end, or weekly; hosts, groups or match", in: "MaintenanceInput", out: "Maintenance"},
		{method: "DELETE", pattern: "/api/v1/maintenances/{id}", handler: (*Server).deleteMaintenance, perm: auth.PermMaintenance, summary: "Delete a maintenance window; its alarms leave it"},
		{method: "POST", pattern: "/api/v1/alarms/bulk", handler: (*Server).bulkAlarms, perm: auth.PermAlarmsRead, summary: "Apply one action to many alarms (ids, action and its fields); each action needs its own permission", in: "AlarmBulk", out: "AlarmBulkResults"},

		{method: "GET", pattern: "/api/v1/stream", handler: (*Server).stream, perm: auth.PermOverviewRead, summary: "Live events (server-sent events: status, inventory, alarm)"},

		{method: "GET", pattern: "/api/v1/users", handler: (*Server).listUsers, perm: auth.PermUsersManage, summary: "List users (admin)", out: "[]User"},
		{method: "POST", pattern: "/api/v1/users", handler: (*Server).createUser, perm: auth.PermUsersManage, summary: "Create a user (admin)", in: "UserInput", out: "User"},
		{method: "GET", pattern: "/api/v1/users/{id}", handler: (*Server).getUser, perm: auth.PermUsersManage, summary: "Get a user by id or login", out: "User"},
		{method: "PATCH", pattern: "/api/v1/users/{id}", handler: (*Server).updateUser, perm: auth.PermUsersManage, summary: "Change a user's role, teams, domains, password or disable them", in: "UserInput", out: "User"},
		{method: "DELETE", pattern: "/api/v1/users/{id}", handler: (*Server).deleteUser, perm: auth.PermUsersManage, summary: "Delete a user"},
		{method: "POST", pattern: "/api/v1/activate", handler: (*Server).activate, public: true, summary: "Choose a password with an activation link's token", in: "Activation"},
		{method: "POST", pattern: "/api/v1/me/password", handler: (*Server).changePassword, self: true, summary: "Change your own password; your other sessions end", in: "PasswordChange"},
		{method: "GET", pattern: "/api/v1/tokens", handler: (*Server).listTokens, self: true, summary: "List your API tokens", out: "[]Token"},
		{method: "POST", pattern: "/api/v1/tokens", handler: (*Server).createToken, self: true, summary: "Create an API token; the secret is shown once", in: "TokenInput", out: "Token"},
		{method: "DELETE", pattern: "/api/v1/tokens/{id}", handler: (*Server).deleteToken, self: true, summary: "Revoke one of your API tokens"},
		{method: "GET", pattern: "/api/v1/sessions", handler: (*Server).listSessions, self: true, summary: "List your console sessions", out: "[]Session"},
		{method: "DELETE", pattern: "/api/v1/sessions/{id}", handler: (*Server).deleteSession, self: true, summary: "End one of your sessions"},

		{method: "GET", pattern: "/api/v1/roles", handler: (*Server).listRoles, perm: auth.PermUsersManage, summary: "List roles with their permissions", out: "[]Role"},
		{method: "PUT", pattern: "/api/v1/roles/{id}", handler: (*Server).putRole, perm: auth.PermRolesManage, summary: "Create or change a role's permissions", in: "RoleInput", out: "Role"},
		{method: "GET", pattern: "/api/v1/audit", handler: (*Server).listAudit, perm: auth.PermAuditRead, summary: "Sign-ins and writes, newest first (filters: user, action, since)", out: "[]AuditEntry"},
		{method: "GET", pattern: "/api/v1/lockouts", handler: (*Server).listLockouts, perm: auth.PermUsersManage, summary: "Logins and addresses locked out after failed sign-ins", out: "[]Lockout"},
		{method: "DELETE", pattern: "/api/v1/lockouts/{id}", handler: (*Server).liftLockout, perm: auth.PermUsersManage, summary: "Lift a lock-out (login:NAME or addr:ADDRESS)"},
		{method: "GET", pattern: "/api/v1/graph.png", handler: (*Server).graphPNG, perm: auth.PermMetricsRead, summary: "A PromQL range query drawn as a PNG, with title, unit, legend and threshold lines"},
		{method: "POST", pattern: "/prometheus/api/v1/write", handler: (*Server).promWrite, perm: auth.PermMetricsWrite, bulk: true, summary: "Prometheus remote write 1.0: a snappy-compressed protobuf WriteRequest pushed by a Prometheus or an agent; 204 once stored"},
		{method: "GET", pattern: "/api/v1/agent-tokens", handler: (*Server).listAgentTokens, perm: auth.PermAgentsManage, summary: "List agent tokens with the host each reports as, its last contact and desired configuration (admin)", out: "[]AgentToken"},
		{method: "POST", pattern: "/api/v1/agent-tokens", handler: (*Server).createAgentToken, perm: auth.PermAgentsManage, summary: "Create an agent token (name, config); the secret is shown once, only its hash is kept", in: "AgentTokenInput", out: "AgentToken"},
		{method: "GET", pattern: "/api/v1/agent-tokens/{id}", handler: (*Server).getAgentToken, perm: auth.PermAgentsManage, summary: "Get an agent token (never its secret)", out: "AgentToken"},
		{method: "PUT", pattern: "/api/v1/agent-tokens/{id}/config", handler: (*Server).putAgentConfig, perm: auth.PermAgentsManage, summary: "Set the configuration an agent runs (interval, collect); it applies it on its next contact", in: "AgentConfig", out: "AgentToken"},
		{method: "DELETE", pattern: "/api/v1/agent-tokens/{id}", handler: (*Server).deleteAgentToken, perm: auth.PermAgentsManage, summary: "Revoke an agent token: the agent is refused from its next request"},
		{method: "POST", pattern: "/api/v1/agent/enrol", handler: (*Server).agentEnrol, agent: true, quiet: true, summary: "An agent (agent token) enrols: its host is created or attached by name, with its services; answers the desired configuration", in: "AgentEnrolment", out: "AgentEnrolAnswer"},
		{method: "POST", pattern: "/api/v1/agent/batches", handler: (*Server).agentBatches, agent: true, bulk: true, body: agentBody, summary: "An agent (agent token) pushes batches, gzip or zstd JSON, oldest first (8 MiB, 100 batches); 200 once stored, naming the batches stored; replays are not stored twice", in: "AgentPush", out: "AgentPushAnswer"},
		{method: "GET", pattern: "/api/v1/openapi.json", handler: (*Server).openapi, public: true, summary: "This document"},
	}
}

// New builds the server and its routes.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Hub == nil {
		opts.Hub = NewHub(nil)
	}
	s := &Server{agents: agentState{ingest: make(chan struct{}, agentIngestSlots)}, opts: opts, st: opts.Store, auth: opts.Auth, mon: opts.Monitor, log: opts.Logger, mux: http.NewServeMux(),
		eventsIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_api_events_received_total", Help: "Events accepted by POST /api/v1/events (answered 202).",
		}),
		eventsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_api_events_refused_total", Help: "Requests to POST /api/v1/events refused, by reason (invalid, too_large, unavailable).",
		}, []string{"reason"}),
	}
	s.agentSamples = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigie_agent_samples_total", Help: "Samples pushed by agents, by outcome (stored; refused by the time-series store: too old, out of order).",
	}, []string{"outcome"})
	s.agentBatchesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigie_agent_batches_total", Help: "Batches pushed by agents, by outcome (stored; duplicate: a replay already stored; out_of_order: stored after a later one of the same agent, which the agent's design excludes).",
	}, []string{"outcome"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.eventsIn, s.eventsRefused, s.agentSamples, s.agentBatchesIn)
	}
	for _, rt := range routes {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	if opts.Metrics != nil {
		// Prometheus' query API, for Grafana; same authentication and
		// permission rules as the rest of the API.
		for _, pr := range []struct {
			pattern string
			h       func(*Server, http.ResponseWriter, *http.Request)
		}{
			{"/prometheus/api/v1/query", (*Server).promQuery},
			{"/prometheus/api/v1/query_range", (*Server).promQueryRange},
			{"/prometheus/api/v1/series", (*Server).promSeries},
			{"/prometheus/api/v1/labels", (*Server).promLabels},
			{"/prometheus/api/v1/label/{id}/values", (*Server).promLabelValues},
			{"/prometheus/api/v1/status/buildinfo", (*Server).promBuildInfo},
			{"/prometheus/api/v1/metadata", (*Server).promMetadata},
			{"/prometheus/api/v1/query_exemplars", (*Server).promExemplars},
		} {
			for _, m := range []string{"GET", "POST"} {
				s.mux.Handle(m+" "+pr.pattern, s.wrap(route{method: "GET", pattern: pr.pattern, handler: pr.h, perm: auth.PermMetricsRead}))
			}
		}
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Gatherer != nil {
		metrics := promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{})
		if !opts.PublicMetrics {
			metrics = s.requireAuth(metrics)
		}
		s.mux.Handle("GET /metrics", metrics)
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no API endpoint %s %s", r.Method, r.URL.Path))
	})
	if opts.Console != nil {
		s.mux.Handle("/", opts.Console)
	}
	return s
}

// ServeHTTP logs, recovers and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: 200}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rw.wrote {
				writeError(rw, http.StatusInternalServerError, "internal", "internal error")
			}
		}
		if strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/api/v1/stream" {
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "duration", time.Since(start))
		}
	}()
	s.mux.ServeHTTP(rw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type ctxKey struct{}

// scopeOf returns the domains the caller may see, or nil for all: a user
// with domains (a manager, an on-call engineer) sees only their hosts and
// services, in lists, by id and in the live stream.
func scopeOf(ctx context.Context) []string {
	p, _ := ctx.Value(ctxKey{}).(auth.Principal)
	if len(p.User.Domains) == 0 {
		return nil
	}
	return p.User.Domains
}

func inScope(scope []string, domain string) bool {
	return scope == nil || slices.Contains(scope, domain)
}

// principal returns who the request acts as.
func principal(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(ctxKey{}).(auth.Principal)
	return p
}

// wrap applies authentication, CSRF, role and body-size rules to a route.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		limit := s.opts.MaxBodyBytes
		if rt.bulk && s.opts.Receiver != nil {
			limit = s.opts.Receiver.MaxBodyBytes() + 1 // the receiver reads one more to tell oversize
		}
		if rt.body != nil {
			if n := rt.body(s); n > 0 {
				limit = n
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if rt.agent {
			a, ok := s.authAgent(r)
			if !ok {
				writeError(w, http.StatusUnauthorized, "unauthenticated", "unknown or revoked agent token: send Authorization: Bearer vga_…")
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), agentKey{}, a))
		} else if !rt.public {
			p, err := s.auth.Authenticate(r)
			if err != nil {
				// No WWW-Authenticate challenge: browsers would answer it
				// with their own password dialog on the console's fetches.
				// Scripts send Basic credentials up front (curl -u).
				writeError(w, http.StatusUnauthorized, "unauthenticated", "authentication required: sign in, or send a bearer token or Basic credentials")
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead && !auth.CheckCSRF(p, r.Header.Get("X-CSRF-Token")) {
				writeError(w, http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token header")
				return
			}
			if !rt.self && !p.Can(rt.perm) {
				writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("role %q lacks permission %s", p.User.Role, rt.perm))
				if r.Method != http.MethodGet {
					s.audit(r, p, rt, http.StatusForbidden, nil, nil, nil)
				}
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, p))
		}
		if r.Method == http.MethodGet || rt.method == http.MethodGet || rt.pattern == "/api/v1/login" || rt.bulk || rt.quiet {
			rt.handler(s, w, r)
			return
		}
		// Writes are audited with their body, which is read here once.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", mbe.Limit))
				return
			}
			writeError(w, http.StatusBadRequest, "invalid_body", "reading the request body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		before := s.snapshot(r, rt)
		tw := &teeWriter{statusWriter: statusWriter{ResponseWriter: w, status: http.StatusOK}}
		rt.handler(s, tw, r)
		var after []byte
		if tw.status < 300 && !tw.over {
			after = tw.buf.Bytes()
		}
		s.audit(r, principal(r), rt, tw.status, body, before, after)
	})
}

// snapshot reads the object a PUT, PATCH or DELETE is about to change,
// through the route that reads it, for the audit's "before".
func (s *Server) snapshot(r *http.Request, rt route) []byte {
	if r.Method == http.MethodPost || !strings.Contains(rt.pattern, "{id}") {
		return nil
	}
	get, ok := readers[rt.pattern]
	if !ok {
		return nil
	}
	gr := r.Clone(r.Context())
	gr.Method, gr.Body = http.MethodGet, http.NoBody
	cw := &captureWriter{h: http.Header{}, status: http.StatusOK}
	get(s, cw, gr)
	if cw.status != http.StatusOK {
		return nil
	}
	return cw.buf.Bytes()
}

// readers are the GET handlers by pattern, for snapshots.
var readers = map[string]func(*Server, http.ResponseWriter, *http.Request){}

func init() {
	for _, rt := range routes {
		if rt.method == http.MethodGet {
			readers[rt.pattern] = rt.handler
		}
	}
}

// captureWriter keeps an internal answer.
type captureWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (c *captureWriter) Header() http.Header         { return c.h }
func (c *captureWriter) WriteHeader(code int)        { c.status = code }
func (c *captureWriter) Write(b []byte) (int, error) { return c.buf.Write(b) }

// teeWriter answers the client and keeps the first maxAuditDetail bytes of
// the answer for the audit's "after".
type teeWriter struct {
	statusWriter
	buf  bytes.Buffer
	over bool
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if !t.over {
		if t.buf.Len()+len(b) > maxAuditDetail {
			t.over = true
			t.buf.Reset()
		} else {
			t.buf.Write(b)
		}
	}
	return t.statusWriter.Write(b)
}

func (s *Server) requireAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.auth.Authenticate(r); err != nil {
			writeError(w, http.StatusUnauthorized, "unauthenticated", "authentication required")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "database unavailable")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ready\n")
}

// apiError is the body of every error answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeFieldError(w, status, code, "", msg)
}

func writeFieldError(w http.ResponseWriter, status int, code, field, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message, e.Error.Field = code, msg, field
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// fieldError is a validation error naming the field at fault.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func badField(field, format string, a ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, a...)}
}

// writeStoreError maps store and validation errors to HTTP answers.
func (s *Server) writeErr(w http.ResponseWriter, err error) {
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		writeFieldError(w, http.StatusBadRequest, "invalid", fe.field, fe.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, errManagedByConfig):
		writeError(w, http.StatusConflict, "managed_by_config", err.Error())
	case errors.Is(err, errManagedByTemplate):
		writeError(w, http.StatusConflict, "managed_by_template", err.Error())
	default:
		s.log.Error("serving a request", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

var errManagedByConfig = errors.New("this object comes from the configuration file; edit the file instead (vigie reloads it by itself)")

// editable refuses writes to objects the configuration files own.
func editable(source string) error {
	switch source {
	case inventory.SourceConfig:
		return errManagedByConfig
	case inventory.SourceTemplate:
		return errManagedByTemplate
	}
	return nil
}

var errManagedByTemplate = errors.New("this service comes from a host group's SNMP template; edit the template instead (PUT /api/v1/hostgroups/{id})")

// decodeBody reads a JSON body strictly: unknown fields and trailing data
// are errors that name what is wrong.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		return true
	}
	var (
		mbe *http.MaxBytesError
		te  *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", mbe.Limit))
	case errors.As(err, &te):
		writeFieldError(w, http.StatusBadRequest, "invalid_body", te.Field, fmt.Sprintf("%s: expected %s, got %s", te.Field, te.Type, te.Value))
	case errors.As(err, &se):
		writeError(w, http.StatusBadRequest, "invalid_json", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid_body", "request body is empty")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeFieldError(w, http.StatusBadRequest, "invalid_body", f, fmt.Sprintf("%s: unknown field", f))
	default:
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
	}
	return false
}

// page reads limit and cursor.
func page(r *http.Request) (store.Page, error) {
	var p store.Page
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return p, badField("limit", "must be an integer between 1 and 1000")
		}
		p.Limit = n
	} else {
		p.Limit = 100
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, badField("cursor", "is not a cursor from a previous answer")
		}
		p.After = n
	}
	return p, nil
}

// list is a page of items.
type list struct {
	Items      any    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// pageOf trims rows read with a limit one above the page's to the page,
// and gives the next page's cursor only when a row beyond it exists: a
// last page that happens to be full says it is the last.
func pageOf[T any](rows []T, limit int, id func(T) int64) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, strconv.FormatInt(id(rows[limit-1]), 10)
}

// validateCheck validates a check spec as the scheduler will build it, so
// that a bad parameter is refused when written, naming it.
func (s *Server) validateCheck(spec checks.Spec, h inventory.Host, hostCheck bool) error {
	const field = "check"
	if spec == nil {
		return badField(field, "is required")
	}
	if hostCheck && spec.Kind() == "none" {
		return nil
	}
	_, err := checks.New(spec, checks.Options{Address: h.Address, HostName: h.Name, PluginDirs: s.opts.Defaults.PluginDirs, SNMP: s.mon.EffectiveSNMP(h)})
	if err != nil {
		msg := err.Error()
		f := field
		if strings.HasPrefix(msg, "check.") {
			f, _, _ = strings.Cut(msg, ":")
		}
		return badField(f, "%s", strings.TrimPrefix(strings.TrimPrefix(msg, f), ": "))
	}
	return nil
}

// RouteRule describes how one endpoint is guarded, for the permission
// matrix test.
type RouteRule struct {
	Method, Pattern string
	Public, Self    bool
	// Agent routes take an agent token, not a user.
	Agent bool
	Perm  auth.Permission
}

// RouteRules lists every endpoint with its guard.
func RouteRules() []RouteRule {
	out := make([]RouteRule, len(routes))
	for i, rt := range routes {
		out[i] = RouteRule{Method: rt.method, Pattern: rt.pattern, Public: rt.public, Self: rt.self, Agent: rt.agent, Perm: rt.perm}
	}
	return out
}
