// Package inventory holds what vigie monitors: hosts, host groups and the
// services (checks) attached to hosts, whether they came from the API or from
// YAML provisioning.
package inventory

import (
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// Source says who owns an object. Objects owned by the configuration file are
// replaced when the file changes, so the API refuses to edit them.
const (
	SourceAPI    = "api"
	SourceConfig = "config"
)

// Host is a monitored thing with an address.
type Host struct {
	ID       int64             `json:"id"`
	Name     string            `json:"name"`
	Address  string            `json:"address"`
	Groups   []string          `json:"groups"`
	Tags     map[string]string `json:"tags"`
	Domain   string            `json:"domain"`
	Location string            `json:"location"`
	Notes    string            `json:"notes"`
	// Check is the host check deciding UP/DOWN. Nil means the default
	// (icmp to Address when there is one); {"kind": "none"} disables it.
	Check checks.Spec `json:"check,omitempty"`
	// SNMP holds how to reach the host's SNMP agent (version, community,
	// port, v3 user and keys…): the defaults of its snmp services.
	SNMP          checks.Spec `json:"snmp,omitempty"`
	Interval      Duration    `json:"interval"`
	RetryInterval Duration    `json:"retry_interval"`
	MaxAttempts   int         `json:"max_attempts"`
	Enabled       bool        `json:"enabled"`
	Source        string      `json:"source"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

// HostGroup is a named set of hosts; membership is on the host (Host.Groups).
type HostGroup struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// SNMPTemplate, when set, is what every member polls (see
	// SNMPTemplate).
	SNMPTemplate *SNMPTemplate `json:"snmp_template,omitempty"`
	Source       string        `json:"source"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// Service is one check attached to a host.
type Service struct {
	ID            int64       `json:"id"`
	HostID        int64       `json:"host_id"`
	HostName      string      `json:"host_name"`
	Name          string      `json:"name"`
	Check         checks.Spec `json:"check"`
	Interval      Duration    `json:"interval"`
	RetryInterval Duration    `json:"retry_interval"`
	MaxAttempts   int         `json:"max_attempts"`
	Timeout       Duration    `json:"timeout"`
	Enabled       bool        `json:"enabled"`
	Source        string      `json:"source"`
	// Template is the host group whose SNMP template made the service
	// (Source is then "template"); the services of its interface
	// discovery end in DiscoverySuffix.
	Template  string    `json:"template,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
