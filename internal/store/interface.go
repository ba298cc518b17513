// Package store is vigie's relational storage: one implementation over
// database/sql serving the embedded SQLite database (the default) and
// PostgreSQL, with the dialect differences kept small and versioned
// migrations for each.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/vigie-monitoring/vigie/internal/agent"
	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/events/rules"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/state"
)

// notFoundError is ErrNotFound's type. Its NotFound method lets packages that
// the store itself imports (auth) recognise it without importing the store.
type notFoundError struct{}

func (notFoundError) Error() string  { return "not found" }
func (notFoundError) NotFound() bool { return true }

var (
	// ErrNotFound is returned when the object asked for does not exist.
	ErrNotFound error = notFoundError{}
	// ErrConflict is returned when a write would break a uniqueness rule
	// (a second host with the same name, say).
	ErrConflict = errors.New("already exists")
)

// Page selects a window of a list ordered by id: rows with id > After, at most
// Limit of them (0 means the store's default of 100; the maximum is 1000).
type Page struct {
	Limit int
	After int64
}

// HostFilter narrows ListHosts; empty fields match everything.
type HostFilter struct {
	Name   string // exact name
	Search string // substring of name, address or notes (case-insensitive)
	Group  string // member of this host group
	Domain string
	// Domains, when not nil, keeps hosts of these domains only (a user's
	// scope); an empty non-nil list matches nothing.
	Domains []string
	Source  string
	State   *int // current host state
	Page
}

// HostGroupFilter narrows ListHostGroups.
type HostGroupFilter struct {
	Name string
	Page
}

// ServiceFilter narrows ListServices; empty fields match everything.
type ServiceFilter struct {
	HostID int64
	Name   string
	Kind   string // check kind
	Source string
	// Template is the group whose template made the service (Service.Template).
	Template string
	Enabled  *bool
	State    *int // current service state
	// Domains, when not nil, keeps services of hosts in these domains.
	Domains []string
	Page
}

// StatusUpdate records one check outcome: the object's new status and, when
// the state changed, the new state period to open (closing the open one at
// Change.Start). It is the state engine's Update, so that batches pass
// through without copying.
type StatusUpdate = state.Update

// Inventory stores hosts, host groups and services. Deleting a host deletes
// its services; deleting a host or service deletes its status and history.
type Inventory interface {
	CreateHostGroup(ctx context.Context, g *inventory.HostGroup) error
	UpdateHostGroup(ctx context.Context, g *inventory.HostGroup) error
	DeleteHostGroup(ctx context.Context, id int64) error
	GetHostGroup(ctx context.Context, id int64) (inventory.HostGroup, error)
	GetHostGroupByName(ctx context.Context, name string) (inventory.HostGroup, error)
	ListHostGroups(ctx context.Context, f HostGroupFilter) ([]inventory.HostGroup, error)

	CreateHost(ctx context.Context, h *inventory.Host) error
	UpdateHost(ctx context.Context, h *inventory.Host) error
	DeleteHost(ctx context.Context, id int64) error
	GetHost(ctx context.Context, id int64) (inventory.Host, error)
	GetHostByName(ctx context.Context, name string) (inventory.Host, error)
	ListHosts(ctx context.Context, f HostFilter) ([]inventory.Host, error)

	CreateService(ctx context.Context, s *inventory.Service) error
	UpdateService(ctx context.Context, s *inventory.Service) error
	DeleteService(ctx context.Context, id int64) error
	GetService(ctx context.Context, id int64) (inventory.Service, error)
	ListServices(ctx context.Context, f ServiceFilter) ([]inventory.Service, error)
}

// States stores the current status of every host and service and the
// history of their state periods.
type States interface {
	// ApplyStatus writes a batch of updates in one transaction.
	ApplyStatus(ctx context.Context, batch []StatusUpdate) error
	// LoadStatus returns the stored status of every object of a kind.
	LoadStatus(ctx context.Context, kind string) ([]state.Status, error)
	GetStatus(ctx context.Context, kind string, id int64) (state.Status, error)
	// ListChanges returns the state periods of one object that overlap
	// [from, to), newest first, at most limit of them.
	ListChanges(ctx context.Context, kind string, id int64, from, to time.Time, limit int) ([]state.Change, error)
	// CountStates returns, for a kind, how many objects are in each state
	// (objects never checked are counted under -1).
	CountStates(ctx context.Context, kind string) (map[int]int, error)
}

// Users stores users, console sessions and API tokens.
type Users interface {
	CreateUser(ctx context.Context, u *auth.User) error
	UpdateUser(ctx context.Context, u *auth.User) error
	DeleteUser(ctx context.Context, id int64) error
	GetUser(ctx context.Context, id int64) (auth.User, error)
	GetUserByLogin(ctx context.Context, login string) (auth.User, error)
	GetUserByActivation(ctx context.Context, hash string) (auth.User, error)
	ListUsers(ctx context.Context) ([]auth.User, error)

	CreateSession(ctx context.Context, s *auth.Session) error
	GetSessionByHash(ctx context.Context, hash string) (auth.Session, error)
	TouchSession(ctx context.Context, id int64, lastSeen, expiresAt time.Time) error
	DeleteSession(ctx context.Context, id int64) error
	DeleteUserSessions(ctx context.Context, userID int64) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	ListSessions(ctx context.Context, userID int64) ([]auth.Session, error)

	CreateToken(ctx context.Context, t *auth.Token) error
	GetTokenByHash(ctx context.Context, hash string) (auth.Token, error)
	TouchToken(ctx context.Context, id int64, used time.Time) error
	DeleteToken(ctx context.Context, id int64) error
	ListTokens(ctx context.Context, userID int64) ([]auth.Token, error)
}

// Access stores roles and the audit trail.
type Access interface {
	ListRoles(ctx context.Context) ([]auth.Role, error)
	GetRole(ctx context.Context, name string) (auth.Role, error)
	PutRole(ctx context.Context, r auth.Role) error
	DeleteRole(ctx context.Context, name string) error
	AddAudit(ctx context.Context, e *auth.AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]auth.AuditEntry, error)
	DeleteAuditBefore(ctx context.Context, t time.Time) (int, error)
}

// EventRules stores the qualification rules made through the API.
type EventRules interface {
	// ListEventRules returns them in the order they apply.
	ListEventRules(ctx context.Context) ([]rules.Rule, error)
	// ReplaceEventRules stores the whole ordered list at once.
	ReplaceEventRules(ctx context.Context, rs []rules.Rule) error
}

// Agents stores agent tokens (hashed), the hosts they report as, their
// desired configuration, and the batch ids each has stored.
type Agents interface {
	CreateAgent(ctx context.Context, a *agent.Registration) error
	UpdateAgent(ctx context.Context, a *agent.Registration) error
	DeleteAgent(ctx context.Context, id int64) error
	GetAgent(ctx context.Context, id int64) (agent.Registration, error)
	GetAgentByHash(ctx context.Context, hash string) (agent.Registration, error)
	ListAgents(ctx context.Context) ([]agent.Registration, error)
	SeenAgentBatches(ctx context.Context, agentID int64, ids []string) (map[string]bool, error)
	AddAgentBatches(ctx context.Context, agentID int64, ids []string, at time.Time, interval time.Duration, results []agent.TimedResult) error
	ListAgentResults(ctx context.Context) ([]agent.HostResult, error)
	PruneAgentBatches(ctx context.Context, before time.Time) (int, error)
}

// Store is everything vigie keeps in its relational database.
type Store interface {
	Inventory
	Agents
	States
	Users
	Access
	EventRules
	alarms.Store
	// Ping checks that the database answers (for /readyz).
	Ping(ctx context.Context) error
	// HoldWriterLock makes this process the database's one writer.
	HoldWriterLock(ctx context.Context, wait time.Duration) (release func() error, err error)
	Close() error
}

// Options selects and configures a database.
type Options struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string
	// DSN is the PostgreSQL connection string, or the SQLite file path.
	DSN string
}
