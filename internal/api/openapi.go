package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// The OpenAPI document is built from the route table, so that it cannot
// forget an endpoint; the golden file in testdata makes every change to the
// contract visible in review.

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func str(desc string) obj     { return obj{"type": "string", "description": desc} }
func integer(desc string) obj { return obj{"type": "integer", "description": desc} }
func boolean(desc string) obj { return obj{"type": "boolean", "description": desc} }
func dateTime(desc string) obj {
	return obj{"type": "string", "format": "date-time", "nullable": true, "description": desc}
}
func strList(desc string) obj {
	return obj{"type": "array", "items": obj{"type": "string"}, "description": desc}
}
func enum(desc string, values ...string) obj {
	return obj{"type": "string", "enum": values, "description": desc}
}

func object(required []string, props obj) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func merge(props ...obj) obj {
	out := obj{}
	for _, p := range props {
		for k, v := range p {
			out[k] = v
		}
	}
	return out
}

var statusProps = obj{
	"state_type":           enum("SOFT while a problem is being confirmed, HARD after max_attempts", "SOFT", "HARD"),
	"attempt":              integer("Attempt within the SOFT cycle"),
	"output":               str("First line of the last check's output"),
	"long_output":          str("The rest of the output"),
	"perfdata":             obj{"type": "array", "items": ref("Perf")},
	"duration_seconds":     obj{"type": "number"},
	"last_check":           dateTime("Time of the last check; null while PENDING"),
	"next_check":           dateTime("Time of the next scheduled check"),
	"last_state_change":    dateTime("Start of the current state"),
	"flapping":             boolean("Percent state change over the last 21 results above the threshold"),
	"percent_state_change": obj{"type": "number"},
	"unreachable":          boolean("A service that failed while its host was DOWN (shown as UNKNOWN)"),
}

var scheduleProps = obj{
	"interval":       str(`Check interval ("30s", "5m")`),
	"retry_interval": str("Interval between attempts while SOFT"),
	"max_attempts":   integer("Results needed to turn a problem HARD"),
	"enabled":        boolean("Disabled objects are not checked"),
}

var checkSpec = obj{"type": "object", "additionalProperties": true, "required": []string{"kind"},
	"description": `Check: {"kind": "tcp", "port": 22}; kinds icmp, tcp, http, dns, exec, snmp ({"kind": "snmp", "oid": "ifHCInOctets.2"} plus SNMP settings), snmp_interface (hosts also "none")`,
	"properties":  obj{"kind": enum("Check kind", "icmp", "tcp", "http", "dns", "exec", "self", "snmp", "snmp_interface", "none")}}

var snmpSettings = obj{"type": "object", "additionalProperties": false,
	"description": "How to reach the SNMP agent: the defaults of the host's snmp services. Secrets (community, auth_password, priv_password) read back as ********; sent back unchanged they keep their value.",
	"properties": obj{
		"version": enum("SNMP version", "1", "2c", "3"), "community": str("v1/v2c community (public)"),
		"port": integer("UDP port (161)"), "timeout": str("Per-request timeout (\"2s\")"), "retries": integer("Retries after a timeout (1)"),
		"max_repetitions": integer("GETBULK max-repetitions (10)"), "user": str("v3 user"),
		"auth_protocol": enum("v3 authentication", "MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"), "auth_password": str("v3, 8 characters or more"),
		"priv_protocol": enum("v3 privacy", "DES", "AES", "AES192", "AES256", "AES192C", "AES256C"), "priv_password": str("v3, 8 characters or more"),
		"context": str("v3 context name"),
	}}

// snmpTemplate is a host group's SNMP template.
var snmpTemplate = obj{"type": []string{"object", "null"}, "additionalProperties": false,
	"description": "What every member of the group polls: its services are created on each member (source template, template the group's name) and follow the template; null removes it and them. Settings precedence: a service's own > the host's > the group template's.",
	"properties": obj{
		"snmp": snmpSettings,
		"services": obj{"type": "array", "items": object([]string{"name", "oid"}, obj{
			"name": str("Service name on each member"), "oid": str("Numeric OID or known name (sysUpTime.0, ifHCInOctets.1)"),
			"label": str("Perfdata label"), "warning": str("Nagios range"), "critical": str("Nagios range"), "interval": str(`Check interval ("1m")`),
		})},
		"discovery": object(nil, obj{
			"name":       str("Regular expression on ifName, ifDescr or ifAlias"),
			"types":      obj{"type": "array", "items": obj{"type": "integer"}, "description": "ifType numbers"},
			"only_up":    boolean("Only interfaces whose oper status is up"),
			"health":     boolean("Also the device's uptime, CPU, memory, storage and sensors"),
			"interfaces": boolean("false: no interfaces (health only)"),
			"warning":    str("Utilisation % range for WARNING"), "critical": str("Utilisation % range for CRITICAL"),
			"interval": str("Interval of the services created"),
			"every":    str(`Run again at this interval, at least "1m" (default: only when a host joins the group)`),
		}),
	}}

var hostProps = obj{
	"name":     str("Unique name"),
	"address":  str("IP address or DNS name"),
	"groups":   strList("Host groups (created when missing)"),
	"tags":     obj{"type": "object", "additionalProperties": obj{"type": "string"}},
	"domain":   str("network, system, database, application…"),
	"location": str(""),
	"notes":    str(""),
	"check":    checkSpec,
	"snmp":     snmpSettings,
}

var serviceProps = obj{
	"name":    str("Name, unique on its host"),
	"check":   checkSpec,
	"timeout": str("Check timeout"),
}

var meta = obj{
	"id":         integer(""),
	"source":     enum("api objects are edited through the API, config objects in the YAML files, template services through their host group's snmp_template", "api", "config", "template"),
	"created_at": dateTime(""),
	"updated_at": dateTime(""),
}

var schemas = obj{
	"Error": object([]string{"error"}, obj{"error": object([]string{"code", "message"}, obj{
		"code": str("Machine-readable code"), "message": str("What is wrong"), "field": str("The field at fault, for validation errors"),
	})}),
	"Perf": object([]string{"label", "value"}, obj{
		"label": str(""), "value": obj{"type": "number"}, "unit": str("s, ms, %, B, c…"),
		"warn": str("Nagios range"), "crit": str("Nagios range"), "min": obj{"type": "number"}, "max": obj{"type": "number"},
	}),
	"Host": object(nil, merge(hostProps, scheduleProps, statusProps, meta, obj{
		"state":    enum("Host state", "UP", "DOWN", "UNREACHABLE", "PENDING"),
		"services": obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": "Services per state"},
	})),
	"HostInput": object([]string{"name"}, merge(hostProps, scheduleProps)),
	"Service": object(nil, merge(serviceProps, scheduleProps, statusProps, meta, obj{
		"host_id":   integer(""),
		"host_name": str(""),
		"template":  str("The host group whose SNMP template made the service (group/discovery for its interface discovery's)"),
		"state":     enum("Service state", "OK", "WARNING", "CRITICAL", "UNKNOWN", "PENDING"),
	})),
	"ServiceInput": object([]string{"host", "name", "check"}, merge(serviceProps, scheduleProps, obj{
		"host": obj{"oneOf": []obj{{"type": "string"}, {"type": "integer"}}, "description": "Host name or id"},
	})),
	"HostGroup": object(nil, merge(meta, obj{
		"name": str(""), "description": str(""), "hosts": integer("Number of member hosts"),
		"snmp_template": snmpTemplate,
	})),
	"SNMPTestInput": object(nil, obj{
		"host":    obj{"oneOf": []obj{{"type": "string"}, {"type": "integer"}}, "description": "Host name or id whose settings and address to start from"},
		"address": str("Address to poll (default: the host's)"),
		"snmp":    snmpSettings,
	}),
	"SNMPTestResult": object([]string{"ok"}, obj{
		"ok": boolean("The agent answered"), "error": str("Why not: no answer (wrong community or agent down), authentication failed…"),
		"sys_name": str(""), "sys_descr": str(""), "sys_object_id": str(""), "sys_location": str(""),
		"sys_uptime_seconds": obj{"type": "number"}, "version": str(""), "security_level": str("v3 level"),
		"duration_seconds": obj{"type": "number"},
	}),
	"SNMPWalk": object(nil, obj{
		"oid":       str("Numeric root walked"),
		"truncated": boolean("max cut the walk short"),
		"items": obj{"type": "array", "items": object(nil, obj{
			"oid": str("Numeric OID"), "name": str("Known name with index (ifDescr.2)"), "type": str("Counter64, OctetString…"), "value": str(""),
		})},
	}),
	"SNMPDiscoverInput": object(nil, obj{
		"name":         str("Regular expression on ifName, ifDescr or ifAlias"),
		"types":        obj{"type": "array", "items": obj{"type": "integer"}, "description": "ifType numbers (6 ethernetCsmacd, 24 softwareLoopback…)"},
		"oper_status":  strList("Keep interfaces in these operational states (up, down, …)"),
		"admin_status": strList("Keep interfaces in these administrative states"),
		"dry_run":      boolean("List what would be created, create nothing"),
		"interval":     str("Interval of the services created"),
		"warning":      str("Utilisation % range for WARNING"),
		"critical":     str("Utilisation % range for CRITICAL"),
		"health":       boolean("Also create snmp services for uptime, CPU, memory, disks and temperature sensors where the device has them"),
		"interfaces":   boolean("false: no interfaces (health only)"),
		"every":        str(`Save these filters on the host (snmp.discover) and run the discovery again at this interval, at least "1m"; "0s" stops it`),
	}),
	"SNMPDiscovery": object(nil, obj{
		"created": integer(""), "updated": integer(""), "unchanged": integer(""), "skipped": integer(""),
		"interfaces": obj{"type": "array", "items": object(nil, obj{
			"index": integer("ifIndex"), "name": str("ifName, else ifDescr"), "descr": str(""), "alias": str(""),
			"type": integer("ifType"), "phys_address": str(""), "speed_bps": obj{"type": "number"},
			"admin_status": str(""), "oper_status": str(""), "hc": boolean("64-bit counters"),
			"service": str("Service name"), "service_id": integer(""),
			"action": enum("", "created", "updated", "unchanged", "skipped", "would create", "exists"),
		})},
		"health": obj{"type": "array", "items": object(nil, obj{
			"service": str("Service name (uptime, cpu 1, memory available, storage root…)"), "oid": str(""),
			"percent_of": str("The whole the value is a percent of"), "multiplier": obj{"type": "number"},
			"label": str(""), "warning": str(""), "critical": str(""), "service_id": integer(""),
			"action": enum("", "created", "unchanged", "would create", "exists"),
		})},
	}),
	"HostGroupInput": object([]string{"name"}, obj{"name": str(""), "description": str(""), "snmp_template": snmpTemplate}),
	"StateChange": object(nil, obj{
		"state": str("State name"), "state_type": enum("", "SOFT", "HARD"), "output": str(""),
		"start": dateTime(""), "end": dateTime("null while the period is open"),
	}),
	"Overview": object(nil, obj{
		"hosts":         obj{"type": "object", "additionalProperties": obj{"type": "integer"}},
		"services":      obj{"type": "object", "additionalProperties": obj{"type": "integer"}},
		"problems":      obj{"type": "array", "items": ref("Service")},
		"host_problems": obj{"type": "array", "items": ref("Host")},
	}),
	"Dashboard": object(nil, obj{
		"host": str(""), "host_id": integer(""), "start": dateTime(""), "end": dateTime(""),
		"groups":    obj{"type": "array", "items": ref("DashGroup"), "description": "The host's own panels first (service \"\"), then one group per service"},
		"truncated": boolean("The host has more series than a dashboard reads (5,000)"),
	}),
	"DashGroup": object(nil, obj{
		"service": str("Service name; empty for the host check and series without a service label"), "service_id": integer("Absent for series of no current service"),
		"kind": str("Check kind"), "state": str("Current state"), "panels": obj{"type": "array", "items": ref("DashPanel")},
	}),
	"DashPanel": object(nil, obj{
		"id": str("Stable key: service/metric/unit"), "kind": enum("metric: one metric family; checks: check duration with the state series", "metric", "checks"),
		"title": str(""), "metric": str("Series name"), "unit": str(`Unit of what is drawn; counters are drawn as rates and end in "/s"`),
		"counter":            boolean("Drawn as a rate"),
		"queries":            obj{"type": "array", "items": ref("DashQuery"), "description": "One PromQL expression per line"},
		"min_window_seconds": integer("Shortest window for $window in counters' rate(): two check intervals"),
		"state_query":        str("checks panels: the state series (0..3)"),
		"thresholds":         obj{"type": "array", "items": ref("DashThreshold")},
		"omitted":            integer("Series of the family beyond the 24 drawn"),
	}),
	"DashQuery": object([]string{"expr", "legend"}, obj{"expr": str(`PromQL; counters read rate(...[$window]), $window to be replaced by the client`), "legend": str("")}),
	"DashThreshold": object([]string{"level", "range", "text"}, obj{
		"level": enum("", "warning", "critical"), "range": str("Nagios range of the current perfdata"),
		"value":  obj{"type": "number", "description": "Line to draw, for simple bounds only"},
		"bound":  enum("upper: alert above value; lower: alert below", "upper", "lower"),
		"series": strList("Legends of the lines it applies to; absent: all"), "text": str(`"warning above 5", "critical outside 10..20"`),
	}),
	"EventInput": object([]string{"connector", "connector_name", "event_type", "source_type", "component"}, obj{
		"connector": str("Kind of source (nagios, zabbix, syslog…)"), "connector_name": str("Which instance of it"),
		"event_type":  enum("check opens, updates and resolves alarms; log is kept without an alarm", "check", "log"),
		"source_type": enum("resource needs resource", "component", "resource"),
		"component":   str("The host or device"), "resource": str("The service or part of it"),
		"state": integer("0 ok, 1 minor, 2 major, 3 critical; required for check events"), "output": str(""), "long_output": str(""),
		"timestamp": obj{"type": "number", "description": "Unix seconds; absent: now"}, "perf_data": str(""),
		"tags": obj{"type": "object", "additionalProperties": obj{"type": "string"}},
	}),
	"LogEvent": object(nil, obj{
		"id": integer(""), "connector": str(""), "connector_name": str(""), "event_type": str("log"), "source_type": str(""),
		"component": str(""), "resource": str(""), "state": integer(""), "output": str(""), "long_output": str(""),
		"perf_data": str(""), "time": dateTime(""), "tags": obj{"type": "object", "additionalProperties": obj{"type": "string"}},
	}),
	"EventsAccepted": object(nil, obj{"accepted": integer("Events stored")}),
	"RuleCondition": object([]string{"field"}, obj{
		"field":  str("connector, connector_name, event_type, source_type, component, resource, state, output, long_output, perf_data, criticality, domain, category or tags.NAME"),
		"equals": str("The value, exactly (a number or boolean is taken as its text)"), "regex": str("RE2, anchored: matches the whole value"), "in": strList("One of these values"),
		"gt": obj{"type": "number"}, "gte": obj{"type": "number"}, "lt": obj{"type": "number"}, "lte": obj{"type": "number", "description": "Numeric comparisons read the field as a number (state is one)"},
		"exists": boolean("The field is set (not empty), or not"),
	}),
	"RuleActions": object(nil, obj{
		"set_criticality": enum("", "green", "orange", "red"), "set_domain": str(""), "set_category": str(""),
		"set":      obj{"type": "object", "additionalProperties": obj{"type": "string"}, "description": "Field: value (component, state, tags.NAME…)"},
		"rename":   obj{"type": "object", "additionalProperties": obj{"type": "string"}, "description": "From field: to field; the value moves, the first is emptied"},
		"add_tags": obj{"type": "object", "additionalProperties": obj{"type": "string"}},
		"drop":     boolean("Discard the event before the alarms (counted); takes no other action"),
		"continue": boolean("Let the next rules apply too; by default the first matching rule is the last"),
	}),
	"RuleInput": object([]string{"name", "actions"}, obj{
		"name":     str("Unique; letters, digits, _ . : -"),
		"match":    obj{"type": "array", "items": ref("RuleCondition"), "description": "Every condition must hold; none: every event"},
		"actions":  ref("RuleActions"),
		"position": integer("Place among the API's rules, 0 first; absent: last (POST), where it is (PUT)"),
	}),
	"Rule": object(nil, obj{
		"name": str(""), "match": obj{"type": "array", "items": ref("RuleCondition")}, "actions": ref("RuleActions"),
		"source": enum("config: events.rules in the YAML, read-only here", "config", "api"),
		"hits":   integer("Events matched since the start"), "dropped": integer("Events dropped since the start"),
	}),
	"RuleList": object([]string{"items"}, obj{"items": obj{"type": "array", "items": ref("Rule")}}),
	"RuleDryRun": object([]string{"event"}, obj{
		"rule": ref("RuleInput"), "name": str("A rule in force; with neither rule nor name, every rule in force applies"),
		"event": ref("EventInput"),
	}),
	"RuleDryRunResult": object(nil, obj{
		"matched": boolean(""), "rules": strList("The rules that matched, in order"), "dropped": boolean(""),
		"event": ref("LogEvent"),
	}),
	"Alarm": object(nil, obj{
		"id": integer(""), "connector": str(""), "connector_name": str(""), "component": str(""), "resource": str(""),
		"status": enum("", "open", "resolved", "archived"), "state": integer("Last event's state, 0..3"), "worst_state": integer(""),
		"criticality": enum("", "green", "orange", "red"), "criticality_locked": boolean("Set by hand; events no longer change it"),
		"output": str(""), "long_output": str(""), "count": integer("Events received"), "domain": str(""), "category": str(""),
		"tags":   obj{"type": "object", "additionalProperties": obj{"type": "string"}},
		"opened": dateTime(""), "last_event": dateTime(""), "updated": dateTime(""), "resolved": dateTime(""),
		"resolve_at": dateTime("Pending resolution after alarms.resolve_delay"),
		"acked":      boolean(""), "ack_by": str(""), "ack_time": dateTime(""), "ack_comment": str(""),
		"snooze_until": dateTime(""), "assignees": strList("Users it was transferred to"),
		"flapping":       boolean("Its state changed too often lately (alarms.flapping)"),
		"in_maintenance": boolean("In a maintenance window: it will never notify"),
		"steps":          obj{"type": "array", "items": ref("AlarmStep"), "description": "In GET /api/v1/alarms/{id}"},
	}),
	"AlarmCounts": object(nil, obj{
		"total":          integer("Alarms matching the filters, all pages"),
		"by_criticality": obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": "green, orange and red, each present"},
	}),
	"AlarmStep": object(nil, obj{
		"id": integer(""), "alarm_id": integer(""),
		"type":   enum("", "open", "stateinc", "statedec", "resolving", "resolve", "ack", "unack", "comment", "snooze", "criticality", "cancel", "archive", "transfer", "flapping", "flappingend", "maintenance", "maintenanceend"),
		"author": str("vigie or a login"), "time": dateTime(""), "comment": str(""), "state": integer("State after the step"),
		"value": str("What the action set"),
	}),
	"Maintenance": object(nil, obj{
		"id": integer(""), "name": str(""), "start": dateTime("One-off window"), "end": dateTime("One-off window"),
		"weekly": ref("MaintenanceWeekly"), "hosts": strList("Host names"), "groups": strList("Host groups"),
		"match": ref("MaintenanceMatch"), "author": str("Who created it"), "created": dateTime(""),
	}),
	"MaintenanceInput": object([]string{"name"}, obj{
		"name": str(""), "start": dateTime("One-off: with end"), "end": dateTime("One-off: after start"),
		"weekly": ref("MaintenanceWeekly"), "hosts": strList("Host names"), "groups": strList("Host groups"),
		"match": ref("MaintenanceMatch"),
	}),
	"MaintenanceWeekly": object([]string{"days", "start", "duration"}, obj{
		"days": strList("mon..sun"), "start": str("HH:MM"), "duration": str(`Up to 168h, "2h30m"`),
		"timezone": str("IANA name; UTC when empty"),
	}),
	"MaintenanceMatch": object(nil, obj{
		"connector": str("Whole-value regular expression"), "connector_name": str("Whole-value regular expression"),
		"component": str("Whole-value regular expression"),
	}),
	"AlarmAction": object(nil, obj{
		"comment": str(""), "until": dateTime("snooze"), "criticality": enum("criticality", "green", "orange", "red"),
		"lock": boolean("criticality: keep it against events"), "users": strList("transfer: logins"), "teams": strList("transfer: every enabled member of these teams"),
	}),
	"AlarmBulk": object([]string{"ids", "action"}, obj{
		"ids":     obj{"type": "array", "items": obj{"type": "integer"}, "description": "At most 1000"},
		"action":  enum("", "ack", "unack", "comment", "snooze", "criticality", "cancel", "archive", "transfer", "delete"),
		"comment": str(""), "until": dateTime(""), "criticality": str(""), "lock": boolean(""), "users": strList(""), "teams": strList(""),
	}),
	"AlarmBulkResults": object(nil, obj{"results": obj{"type": "array", "items": object(nil, obj{
		"id": integer(""), "ok": boolean(""), "error": str(""), "alarm": ref("Alarm"),
	})}}),
	"Login": object([]string{"login", "password"}, obj{"login": str(""), "password": str("")}),
	"User": object(nil, obj{
		"id": integer(""), "login": str(""), "role": str("admin, operator, manager, on-call, viewer or a custom role"), "disabled": boolean(""),
		"teams": strList(""), "domains": strList(""), "activation_url": str("Only when created without a password"),
		"created_at": dateTime(""), "updated_at": dateTime(""),
	}),
	"UserInput": object([]string{"login", "role"}, obj{
		"login": str(""), "password": str("At least 8 characters; without one the answer carries an activation_url"),
		"role": str("A role name"), "teams": strList(""), "domains": strList("Domains a manager or on-call user sees; empty is all"),
		"disabled": boolean(""),
	}),
	"Activation":     object([]string{"token", "password"}, obj{"token": str("From the activation link"), "password": str("")}),
	"PasswordChange": object([]string{"current_password", "new_password"}, obj{"current_password": str(""), "new_password": str("")}),
	"Me": object(nil, obj{"user": ref("User"), "permissions": strList("What the user's role allows"),
		"csrf_token": str("Send as X-CSRF-Token on writes made with the session cookie")}),
	"Role":      object(nil, obj{"name": str(""), "permissions": strList("Permission names"), "builtin": boolean("One of the five default roles")}),
	"RoleInput": object([]string{"permissions"}, obj{"permissions": strList("Permission names, e.g. hosts.write, alarms.ack")}),
	"AuditEntry": object(nil, obj{
		"id": integer(""), "at": dateTime(""), "user": str("Login"), "role": str(""),
		"action": str(`"login", "logout", or "METHOD /api/v1/pattern"`), "object": str("Path written to"),
		"remote_addr": str(""), "outcome": str(`"ok", "failed", "locked" or the HTTP status`),
		"detail": str("The request body as JSON, secrets redacted"),
	}),
	"Lockout": object(nil, obj{"key": str("login:NAME or addr:ADDRESS"), "until": dateTime("")}),
	"Token": object(nil, obj{
		"id": integer(""), "name": str(""), "token": str("The secret, in the creation answer only"), "permissions": strList(""),
		"created_at": dateTime(""), "expires_at": dateTime(""), "last_used": dateTime(""),
	}),
	"TokenInput": object([]string{"name"}, obj{"name": str(""), "expires_in": str(`Lifetime ("720h"); none means no expiry`),
		"permissions": strList("A subset of your permissions; none means all of them")}),
	"AgentConfig": object(nil, obj{
		"version": integer("Grows with each change (set by the server)"), "interval": str(`Collection interval ("10s", 1s…1h)`),
		"collect": strList("Collectors: cpu, load, memory, swap, filesystems, disks, network, processes, uptime"),
	}),
	"AgentToken": object(nil, obj{
		"id": integer(""), "name": str(""), "token": str("The secret (vga_…), in the creation answer only"),
		"host_id": integer("The host it enrolled as"), "host": str(""), "created_at": dateTime(""), "last_seen": dateTime(""),
		"interval": str("The interval the agent runs at"), "version": str("The agent's version"), "config": ref("AgentConfig"),
	}),
	"AgentTokenInput": object([]string{"name"}, obj{"name": str("Unique name of the agent"), "config": ref("AgentConfig")}),
	"AgentEnrolment": object([]string{"host", "interval"}, obj{
		"host": str("Host name: created if missing, else attached"), "address": str(""), "version": str(""),
		"interval": str(`"10s"`), "services": strList("Services the agent reports (created on the host, kind agent)"),
	}),
	"AgentEnrolAnswer": object(nil, obj{"host_id": integer(""), "host": str(""), "created": boolean(""), "config": ref("AgentConfig")}),
	"AgentPush": object([]string{"batches", "interval"}, obj{
		"interval": str(`The agent's interval now ("10s")`),
		"batches": obj{"type": "array", "description": "Oldest first, at most 100", "items": object([]string{"id", "time"}, obj{
			"id": str("Unique per agent; a replayed id is not stored twice"), "seq": integer(""), "time": dateTime(""),
			"samples": obj{"type": "array", "items": object([]string{"s", "m", "v"}, obj{
				"s": str("Service"), "m": str("Metric"), "u": str(`Unit; "c" for counters`), "v": obj{"type": "number"}})},
			"results": obj{"type": "array", "items": object([]string{"service", "state"}, obj{
				"service": str(""), "state": integer("0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"), "output": str("")})},
		})},
	}),
	"AgentPushAnswer": object(nil, obj{
		"stored": strList("Batch ids stored, replays included: the agent may delete them"), "duplicates": integer("Replays already stored"),
		"refused_samples": integer("Samples the store refused (too old, out of order)"), "config": ref("AgentConfig"),
	}),
	"Session": object(nil, obj{
		"id": integer(""), "remote_addr": str(""), "user_agent": str(""), "current": boolean("This session"),
		"created_at": dateTime(""), "last_seen": dateTime(""), "expires_at": dateTime(""),
	}),
}

// alarmQueryParams are the filters of the alarm list and count.
var alarmQueryParams = [][2]string{
	{"component", "Exact component"}, {"resource", "Exact resource"}, {"connector", "Exact connector"},
	{"state", "0..3"}, {"criticality", "green, orange or red"}, {"ack", "true or false"}, {"snoozed", "true or false"},
	{"domain", "The alarm's domain or its component's host's"}, {"group", "Component is a host of this host group"},
	{"status", "open, resolved, archived or flapping (open and flapping) (default: open and resolved)"},
	{"flapping", "true or false"},
	{"search", "Text in component, resource, output or connector name, any case (indexed from 3 characters; shorter ones scan)"},
	{"since", "RFC 3339: last event at or after"}, {"until", "RFC 3339: opened before"},
}

// queryParams documents the query parameters of routes that are not
// lists: name and description.
var queryParams = map[string][][2]string{
	"/api/v1/events": {
		{"component", "Exact component"}, {"connector", "Exact connector"}, {"search", "Text in the output or component"},
		{"since", "RFC 3339"}, {"until", "RFC 3339"},
	},
	"/api/v1/alarms": append(alarmQueryParams, [2]string{"sort",
		"opened, last (last event), criticality, state, component or count; a leading - sorts descending (default: newest first)"}),
	"/api/v1/alarms/count": alarmQueryParams,
	"/api/v1/hosts/{id}/dashboard": {
		{"range", "1h, 6h, 24h, 7d, 30d, 90d, 1y (default 24h)"},
		{"start", "RFC 3339 or Unix seconds (default end minus range)"},
		{"end", "RFC 3339 or Unix seconds (default now)"},
	},
	"/api/v1/graph.png": {
		{"query", "PromQL; $window is replaced by a window of at least two steps"},
		{"start", "RFC 3339 or Unix seconds (default end minus 1 h)"},
		{"end", "RFC 3339 or Unix seconds (default now)"},
		{"width", "Pixels, 100..4000 (default 800)"},
		{"height", "Pixels, 80..3000 (default 300)"},
		{"title", "Title drawn above the graph"},
		{"unit", "Unit of the values (s, ms, B, %, /s…), shown on the axis"},
		{"warning", "Value drawn as a dashed warning line"},
		{"critical", "Value drawn as a dashed critical line"},
		{"tz", "IANA time zone of the time axis (default UTC)"},
	},
}

func content(schema obj) obj {
	return obj{"application/json": obj{"schema": schema}}
}

func schemaFor(name string) obj {
	if item, ok := strings.CutPrefix(name, "[]"); ok {
		return object([]string{"items"}, obj{
			"items":       obj{"type": "array", "items": ref(item)},
			"next_cursor": str("Pass as cursor for the next page; absent on the last page"),
		})
	}
	return ref(name)
}

func buildOpenAPI() obj {
	paths := obj{}
	for _, rt := range routes {
		p, _ := paths[rt.pattern].(obj)
		if p == nil {
			p = obj{}
			paths[rt.pattern] = p
		}
		op := obj{"summary": rt.summary, "operationId": operationID(rt)}
		var params []obj
		if strings.Contains(rt.pattern, "{id}") {
			params = append(params, obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		for _, qp := range queryParams[rt.pattern] {
			params = append(params, obj{"name": qp[0], "in": "query", "description": qp[1], "schema": obj{"type": "string"}})
		}
		if strings.HasPrefix(rt.out, "[]") {
			params = append(params,
				obj{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
				obj{"name": "cursor", "in": "query", "schema": obj{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.in != "" {
			op["requestBody"] = obj{"required": true, "content": content(ref(rt.in))}
		}
		okCode := "200"
		switch {
		case rt.accepted:
			okCode = "202"
		case rt.method == "POST" && rt.out != "" && rt.pattern != "/api/v1/login" && !strings.HasPrefix(rt.pattern, "/api/v1/alarms") && !strings.HasSuffix(rt.pattern, "/dry-run"):
			okCode = "201"
		case rt.method == "DELETE" || rt.pattern == "/api/v1/logout":
			okCode = "204"
		case strings.HasSuffix(rt.pattern, "/check"):
			okCode = "202"
		case rt.bulk:
			okCode = "204"
		}
		if rt.bulk {
			op["requestBody"] = obj{"required": true, "content": obj{"application/x-protobuf": obj{"schema": obj{
				"type": "string", "format": "binary",
				"description": "Snappy-compressed (block format) protobuf prometheus.WriteRequest, with Content-Encoding: snappy and X-Prometheus-Remote-Write-Version: 0.1.0",
			}}}}
		}
		resp := obj{"description": "Success"}
		if rt.out != "" {
			resp["content"] = content(schemaFor(rt.out))
		}
		if rt.pattern == "/api/v1/graph.png" {
			resp["content"] = obj{"image/png": obj{"schema": obj{"type": "string", "format": "binary"}}}
		}
		if rt.pattern == "/api/v1/stream" {
			resp["content"] = obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}
		}
		errResp := obj{"description": "Error", "content": content(ref("Error"))}
		op["responses"] = obj{okCode: resp, "default": errResp}
		if rt.public {
			op["security"] = []obj{}
		}
		p[strings.ToLower(rt.method)] = op
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":       "vigie API",
			"version":     "1",
			"description": "Monitoring and hypervision. Errors are {\"error\": {\"code\", \"message\", \"field\"}}; lists are paged with limit and cursor.",
		},
		"servers": []obj{{"url": "/"}},
		"paths":   paths,
		"components": obj{
			"schemas": schemas,
			"securitySchemes": obj{
				"session": obj{"type": "apiKey", "in": "cookie", "name": "vigie_session"},
				"bearer":  obj{"type": "http", "scheme": "bearer"},
				"basic":   obj{"type": "http", "scheme": "basic"},
			},
		},
		"security": []obj{{"session": []string{}}, {"bearer": []string{}}, {"basic": []string{}}},
	}
}

func operationID(rt route) string {
	parts := []string{strings.ToLower(rt.method)}
	for _, seg := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(rt.pattern, "/api/v1/"), "/"), "/") {
		if seg == "{id}" {
			seg = "byId"
		}
		seg = strings.TrimSuffix(seg, ".json")
		parts = append(parts, strings.ToUpper(seg[:1])+seg[1:])
	}
	return strings.Join(parts, "")
}

var (
	openapiOnce sync.Once
	openapiDoc  []byte
)

// OpenAPI returns the API's OpenAPI 3 document.
func OpenAPI() []byte {
	openapiOnce.Do(func() {
		b, err := json.MarshalIndent(buildOpenAPI(), "", "  ")
		if err != nil {
			panic(err)
		}
		openapiDoc = append(b, '\n')
	})
	return openapiDoc
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPI())
}

// routePatterns lists "METHOD pattern" for every route, sorted.
func routePatterns() []string {
	var out []string
	for _, rt := range routes {
		out = append(out, rt.method+" "+rt.pattern)
	}
	sort.Strings(out)
	return out
}
