package auth

import (
	"fmt"
	"slices"
	"sort"
)

// Permission names one thing a role allows. Every API endpoint is guarded
// by exactly one.
type Permission string

// The permissions. Some guard parts that later versions add (alarms,
// incidents, on-call, reports); they are named now so that roles are
// complete from the start.
const (
	PermOverviewRead   Permission = "overview.read"
	PermMetricsRead    Permission = "metrics.read"
	PermMetricsWrite   Permission = "metrics.write"
	PermHostsRead      Permission = "hosts.read"
	PermHostsWrite     Permission = "hosts.write"
	PermServicesRead   Permission = "services.read"
	PermServicesWrite  Permission = "services.write"
	PermChecksRun      Permission = "checks.run"
	PermUsersManage    Permission = "users.manage"
	PermRolesManage    Permission = "roles.manage"
	PermAuditRead      Permission = "audit.read"
	PermAlarmsRead     Permission = "alarms.read"
	PermAlarmsAck      Permission = "alarms.ack"
	PermAlarmsTransfer Permission = "alarms.transfer"
	PermAlarmsSnooze   Permission = "alarms.snooze"
	PermAlarmsArchive  Permission = "alarms.archive"
	PermAlarmsDelete   Permission = "alarms.delete"
	PermMaintenance    Permission = "maintenance.manage"
	PermEventsWrite    Permission = "events.write"
	PermIncidentsOpen  Permission = "incidents.open"
	PermIncidentsQual  Permission = "incidents.qualify"
	PermIncidentsRes   Permission = "incidents.resolve"
	PermIncidentsXfer  Permission = "incidents.transfer"
	PermIncidentsClose Permission = "incidents.close"
	PermKBRead         Permission = "kb.read"
	PermOncallRead     Permission = "oncall.read"
	PermOncallManage   Permission = "oncall.manage"
	PermReports        Permission = "reports.generate"
	PermSettings       Permission = "settings.manage"
	PermRulesManage    Permission = "rules.manage"
	PermAgentsManage   Permission = "agents.manage"
)

// AllPermissions lists every permission, sorted.
func AllPermissions() []Permission {
	all := []Permission{
		PermOverviewRead, PermMetricsRead, PermMetricsWrite, PermHostsRead, PermHostsWrite, PermServicesRead, PermServicesWrite, PermChecksRun,
		PermUsersManage, PermRolesManage, PermAuditRead,
		PermAlarmsRead, PermAlarmsAck, PermAlarmsTransfer, PermAlarmsSnooze, PermAlarmsArchive, PermAlarmsDelete, PermEventsWrite, PermMaintenance,
		PermIncidentsOpen, PermIncidentsQual, PermIncidentsRes, PermIncidentsXfer, PermIncidentsClose,
		PermKBRead, PermOncallRead, PermOncallManage, PermReports, PermSettings, PermRulesManage, PermAgentsManage,
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all
}

// Role names.
const (
	RoleOperator = "operator"
	RoleManager  = "manager"
	RoleOnCall   = "on-call"
)

// Role is a named set of permissions.
type Role struct {
	Name        string       `json:"name"`
	Permissions []Permission `json:"permissions"`
	// Builtin roles cannot be deleted; their permissions can be adjusted.
	Builtin bool `json:"builtin"`
	// Known lists the permissions that existed when the role was last
	// brought up to date (see EnsureRoles).
	Known []Permission `json:"-"`
}

// Has reports whether the role grants p.
func (r Role) Has(p Permission) bool { return slices.Contains(r.Permissions, p) }

var read = []Permission{PermOverviewRead, PermMetricsRead, PermHostsRead, PermServicesRead, PermAlarmsRead, PermKBRead, PermOncallRead}

// DefaultRoles is the role matrix of an operations centre: administrators
// do everything; operators watch and act on everything; managers answer for
// their domains and never close an incident; on-call engineers fix what is
// transferred to them; viewers look, open and qualify incidents.
func DefaultRoles() []Role {
	with := func(extra ...Permission) []Permission {
		out := append(slices.Clone(read), extra...)
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	return []Role{
		{Name: RoleAdmin, Permissions: AllPermissions(), Builtin: true},
		{Name: RoleOperator, Builtin: true, Permissions: with(PermHostsWrite, PermServicesWrite, PermChecksRun, PermReports,
			PermAlarmsAck, PermAlarmsTransfer, PermAlarmsSnooze, PermAlarmsArchive, PermAlarmsDelete, PermMaintenance,
			PermIncidentsOpen, PermIncidentsQual, PermIncidentsRes, PermIncidentsXfer, PermIncidentsClose)},
		{Name: RoleManager, Builtin: true, Permissions: with(PermHostsWrite, PermServicesWrite, PermChecksRun, PermReports,
			PermIncidentsOpen, PermIncidentsQual, PermIncidentsRes)},
		{Name: RoleOnCall, Builtin: true, Permissions: with(PermIncidentsOpen, PermIncidentsQual, PermIncidentsRes)},
		{Name: RoleViewer, Builtin: true, Permissions: with(PermIncidentsOpen, PermIncidentsQual)},
	}
}

// ValidPermissions checks a list of permission names.
func ValidPermissions(ps []Permission) error {
	all := AllPermissions()
	for _, p := range ps {
		if !slices.Contains(all, p) {
			return fmt.Errorf("unknown permission %q", p)
		}
	}
	return nil
}
