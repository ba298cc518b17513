// Package events turns what every source says (vigie's own checks, syslog,
// SNMP traps, webhooks, AMQP and NATS buses) into one normalised form, the
// event, in the shape Canopsis gives its events, so that the alarm engine
// sees one kind of thing whatever sent it.
package events

import (
	"context"
	"time"
)

// States of an event, as Canopsis numbers them.
const (
	StateOK       = 0 // info / recovered
	StateMinor    = 1
	StateMajor    = 2
	StateCritical = 3
)

// Criticalities, as an operations centre qualifies alarms.
const (
	Green  = "green"
	Orange = "orange"
	Red    = "red"
)

// Event types. A "check" event opens, updates or resolves an alarm; a
// "log" event is kept and searchable but never opens one.
const (
	TypeCheck = "check"
	TypeLog   = "log"
)

// Event is one thing a source said about a component (a host, a device)
// or one of its resources (a service, an interface).
type Event struct {
	// Connector is the kind of source (vigie, syslog, alertmanager, nagios…),
	// ConnectorName the instance (which vigie, which syslog listener).
	Connector     string `json:"connector"`
	ConnectorName string `json:"connector_name"`
	EventType     string `json:"event_type"`
	// SourceType is "component" or "resource".
	SourceType string `json:"source_type"`
	Component  string `json:"component"`
	Resource   string `json:"resource,omitempty"`
	// State is 0 (ok) to 3 (critical).
	State      int               `json:"state"`
	Output     string            `json:"output"`
	LongOutput string            `json:"long_output,omitempty"`
	PerfData   string            `json:"perf_data,omitempty"`
	Time       time.Time         `json:"time"`
	Tags       map[string]string `json:"tags,omitempty"`

	// Qualification: set by the source's defaults and the rules.
	Criticality string `json:"criticality,omitempty"`
	Domain      string `json:"domain,omitempty"`
	Category    string `json:"category,omitempty"`
}

// Key is what identifies the alarm an event belongs to: one alarm per
// (connector, connector_name, component, resource) while a problem is open.
type Key struct {
	Connector, ConnectorName, Component, Resource string
}

// Key returns the alarm key of the event.
func (e Event) Key() Key {
	return Key{e.Connector, e.ConnectorName, e.Component, e.Resource}
}

// Sink takes events in. Ingest returns only once the events are durably
// stored: a source acknowledges its sender (HTTP 202, AMQP ack, a TCP
// syslog line read) only after Ingest returned nil, so that an
// acknowledged event is never lost.
type Sink interface {
	Ingest(ctx context.Context, evs []Event) error
}
