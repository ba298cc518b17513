package state

import (
	"math/bits"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// Flap thresholds in percent state change, Nagios' defaults for services: an
// object starts flapping at or above High and stops below Low.
const (
	DefaultFlapLow  = 5.0
	DefaultFlapHigh = 20.0
	// flapWindow is the number of state transitions kept: 21 results give 20
	// transitions, as Nagios counts them.
	flapWindow = 20
)

// Thresholds configure flap detection.
type Thresholds struct {
	Low, High float64
}

// Outcome is what applying one result did.
type Outcome struct {
	// Changed is true when the state or the state type changed: a new state
	// period starts.
	Changed bool
	// HardChange is true when the hard state changed (what notifications
	// and events care about).
	HardChange bool
	// FlapStart and FlapStop report a change of the flapping flag.
	FlapStart, FlapStop bool
}

// Apply folds one check result into st following Nagios' SOFT/HARD rules:
// a problem is SOFT until it has been seen maxAttempts times in a row, then
// HARD; recoveries are immediate. state is the object's state number (a
// service state, or a host state for hosts).
func Apply(st *Status, state int, r checks.Result, maxAttempts int, th Thresholds) Outcome {
	if maxAttempts < 1 {
		maxAttempts = 1
	}
	if th.High == 0 {
		th = Thresholds{Low: DefaultFlapLow, High: DefaultFlapHigh}
	}
	prevState, prevType, first := st.State, st.StateType, !st.Checked
	var out Outcome

	switch {
	case state == 0:
		st.Attempt = 1
		st.StateType = Hard
	case first || prevState == 0:
		st.Attempt = 1
		st.StateType = Soft
		if maxAttempts == 1 {
			st.StateType = Hard
		}
	case prevType == Soft:
		st.Attempt++
		if st.Attempt >= maxAttempts {
			st.Attempt = maxAttempts
			st.StateType = Hard
		}
	default: // a HARD problem stays HARD, whatever non-OK state follows
		st.StateType = Hard
		st.Attempt = maxAttempts
	}
	st.State = state
	st.Output = r.Output
	st.LongOutput = r.LongOutput
	st.Perfdata = r.Perfdata
	st.Duration = r.Duration
	st.LastCheck = r.Time
	st.Checked = true

	if first || prevState != state || prevType != st.StateType {
		out.Changed = true
		st.LastStateChange = r.Time
	}
	if st.StateType == Hard && (first || st.LastHardState != state) {
		out.HardChange = !first || state != 0
		st.LastHardState = state
		st.LastHardStateChange = r.Time
	}

	// Flap detection looks at state changes only, whatever their type.
	if !first {
		st.FlapHistory <<= 1
		if prevState != state {
			st.FlapHistory |= 1
		}
		st.FlapHistory &= 1<<flapWindow - 1
		if st.FlapCount < flapWindow {
			st.FlapCount++
		}
		st.PercentStateChange = percentChange(st.FlapHistory, st.FlapCount)
		switch {
		case !st.Flapping && st.PercentStateChange >= th.High:
			st.Flapping, out.FlapStart = true, true
		case st.Flapping && st.PercentStateChange < th.Low:
			st.Flapping, out.FlapStop = false, true
		}
	}
	return out
}

// percentChange weighs recent transitions more than old ones (0.8 for the
// oldest to 1.2 for the newest), as Nagios does, so that a service that has
// just calmed down stops flapping sooner than one that has just started.
func percentChange(history uint32, count int) float64 {
	if count == 0 || bits.OnesCount32(history) == 0 {
		return 0
	}
	var sum float64
	for i := 0; i < flapWindow; i++ {
		if history&(1<<i) == 0 {
			continue
		}
		// bit 0 is the newest transition.
		age := float64(i) / float64(flapWindow-1)
		sum += 1.2 - 0.4*age
	}
	return sum / flapWindow * 100
}

// HostState maps a host check's result to a host state: OK and WARNING are
// UP, anything else is DOWN (Nagios' rule).
func HostState(s checks.State) int {
	if s == checks.OK || s == checks.Warning {
		return HostUp
	}
	return HostDown
}

// ServiceStateName names a service state.
func ServiceStateName(s int) string { return checks.State(s).String() }

var hostNames = [...]string{"UP", "DOWN", "UNREACHABLE"}

// HostStateName names a host state.
func HostStateName(s int) string {
	if s < 0 || s >= len(hostNames) {
		return "UNREACHABLE"
	}
	return hostNames[s]
}

// StateName names the state of an object of kind, or "PENDING" when it was
// never checked.
func StateName(kind string, st Status) string {
	if !st.Checked {
		return "PENDING"
	}
	if kind == KindHost {
		return HostStateName(st.State)
	}
	return ServiceStateName(st.State)
}

// ParseStateName turns a state name of kind into its number; PENDING is -1.
func ParseStateName(kind, name string) (int, bool) {
	if name == "PENDING" || name == "pending" {
		return -1, true
	}
	if kind == KindHost {
		for i, n := range hostNames {
			if n == name || equalsLower(n, name) {
				return i, true
			}
		}
		return 0, false
	}
	s, ok := checks.ParseState(name)
	return int(s), ok
}

func equalsLower(upper, s string) bool {
	if len(upper) != len(s) {
		return false
	}
	for i := range s {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// newPeriod is the state period an outcome opens.
func newPeriod(kind string, id int64, st *Status, at time.Time) *Change {
	return &Change{Kind: kind, ObjectID: id, State: st.State, StateType: st.StateType, Output: st.Output, Start: at}
}
