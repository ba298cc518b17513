// Package checks runs one check of any kind (icmp, tcp, http, dns, exec) and
// turns what it saw into a Result with a Nagios state, output and perfdata.
//
// A check is described by a Spec, a flat map whose "kind" key selects the
// implementation; New validates the spec once so that a bad parameter is
// reported when the service is created, not at every run.
package checks

import (
	"context"
	"time"
)

// State is a service state with Nagios' numbering, which is also the exit code
// of a plugin.
type State int

const (
	OK       State = 0
	Warning  State = 1
	Critical State = 2
	Unknown  State = 3
)

var stateNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "UNKNOWN"
	}
	return stateNames[s]
}

// ParseState accepts a state name or number ("OK", "critical", "2").
func ParseState(v string) (State, bool) {
	for i, n := range stateNames {
		if equalFold(v, n) || v == string(rune('0'+i)) {
			return State(i), true
		}
	}
	return Unknown, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'a' <= ca && ca <= 'z' {
			ca -= 'a' - 'A'
		}
		if 'a' <= cb && cb <= 'z' {
			cb -= 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// Worse reports whether a is a worse state than b. UNKNOWN ranks between
// WARNING and CRITICAL, as Nagios ranks it when it aggregates.
func Worse(a, b State) bool { return rank(a) > rank(b) }

func rank(s State) int {
	switch s {
	case OK:
		return 0
	case Warning:
		return 1
	case Unknown:
		return 2
	default:
		return 3
	}
}

// Result is what one run of a check saw.
type Result struct {
	State      State         `json:"state"`
	Output     string        `json:"output"`
	LongOutput string        `json:"long_output,omitempty"`
	Perfdata   []Perf        `json:"perfdata,omitempty"`
	Duration   time.Duration `json:"duration"`
	Time       time.Time     `json:"time"`
	// Unreachable says the object could not be measured at all (its
	// agent went silent): a host check's failure is then UNREACHABLE,
	// not DOWN, since nobody knows whether the host itself is down.
	Unreachable bool `json:"unreachable,omitempty"`
}

// Checker runs one configured check. Run never returns an error: a check that
// cannot run is an UNKNOWN result whose output says why.
type Checker interface {
	Run(ctx context.Context) Result
}

// Spec describes a check: "kind" plus the parameters of that kind, exactly as
// they appear in YAML and in the API ({"kind": "tcp", "port": 22}).
type Spec map[string]any

// Kind returns the spec's kind, or "" when it has none.
func (s Spec) Kind() string {
	k, _ := s["kind"].(string)
	return k
}
