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
	"description": `Check: {"kind": "tcp", "port": 22}; kinds icmp, tcp, http, dns, exec (hosts also "none")`,
	"properties":  obj{"kind": enum("Check kind", "icmp", "tcp", "http", "dns", "exec", "none")}}

var hostProps = obj{
	"name":     str("Unique name"),
	"address":  str("IP address or DNS name"),
	"groups":   strList("Host groups (created when missing)"),
	"tags":     obj{"type": "object", "additionalProperties": obj{"type": "string"}},
	"domain":   str("network, system, database, application…"),
	"location": str(""),
	"notes":    str(""),
	"check":    checkSpec,
}

var serviceProps = obj{
	"name":    str("Name, unique on its host"),
	"check":   checkSpec,
	"timeout": str("Check timeout"),
}

var meta = obj{
	"id":         integer(""),
	"source":     enum("api objects are edited through the API, config objects in the YAML files", "api", "config"),
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
		"state":     enum("Service state", "OK", "WARNING", "CRITICAL", "UNKNOWN", "PENDING"),
	})),
	"ServiceInput": object([]string{"host", "name", "check"}, merge(serviceProps, scheduleProps, obj{
		"host": obj{"oneOf": []obj{{"type": "string"}, {"type": "integer"}}, "description": "Host name or id"},
	})),
	"HostGroup": object(nil, merge(meta, obj{
		"name": str(""), "description": str(""), "hosts": integer("Number of member hosts"),
	})),
	"HostGroupInput": object([]string{"name"}, obj{"name": str(""), "description": str("")}),
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
	"Session": object(nil, obj{
		"id": integer(""), "remote_addr": str(""), "user_agent": str(""), "current": boolean("This session"),
		"created_at": dateTime(""), "last_seen": dateTime(""), "expires_at": dateTime(""),
	}),
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
		case rt.method == "POST" && rt.out != "" && rt.pattern != "/api/v1/login":
			okCode = "201"
		case rt.method == "DELETE" || rt.pattern == "/api/v1/logout":
			okCode = "204"
		case strings.HasSuffix(rt.pattern, "/check"):
			okCode = "202"
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
	for _, seg := range strings.Split(strings.TrimPrefix(rt.pattern, "/api/v1/"), "/") {
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
