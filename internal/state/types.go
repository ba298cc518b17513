package state

import (
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// Kind of a monitored object.
const (
	KindHost    = "host"
	KindService = "service"
)

// Host states, numbered as Nagios numbers them.
const (
	HostUp          = 0
	HostDown        = 1
	HostUnreachable = 2
)

// State types.
const (
	Soft = "SOFT"
	Hard = "HARD"
)

// Status is the current state of one host or service: its last result and
// where it stands in the SOFT/HARD cycle. It is what the store keeps per
// object and what the scheduler resumes from after a restart.
type Status struct {
	Kind     string `json:"kind"`
	ObjectID int64  `json:"object_id"`
	// State is a service state (0..3) or a host state (0..2).
	State               int           `json:"state"`
	StateType           string        `json:"state_type"`
	Attempt             int           `json:"attempt"`
	Output              string        `json:"output"`
	LongOutput          string        `json:"long_output"`
	Perfdata            []checks.Perf `json:"perfdata"`
	Duration            time.Duration `json:"duration"`
	Checked             bool          `json:"checked"`
	LastCheck           time.Time     `json:"last_check"`
	NextCheck           time.Time     `json:"next_check"`
	LastStateChange     time.Time     `json:"last_state_change"`
	LastHardStateChange time.Time     `json:"last_hard_state_change"`
	LastHardState       int           `json:"last_hard_state"`
	Flapping            bool          `json:"flapping"`
	PercentStateChange  float64       `json:"percent_state_change"`
	// FlapHistory holds one bit per recent result, 1 when that result changed
	// the state; FlapCount says how many of the 21 bits are filled.
	FlapHistory uint32 `json:"-"`
	FlapCount   int    `json:"-"`
	// Unreachable is set on a service whose host was DOWN when it failed:
	// its state is then UNKNOWN rather than a CRITICAL that would flood the
	// console, the way Nagios shows services of a down host.
	Unreachable bool `json:"unreachable"`
	// SampleTime stamps the result's time series: the check's scheduled
	// time when it ran on time, else LastCheck. Not stored.
	SampleTime time.Time `json:"-"`
}

// Change is one period during which an object stayed in one state; End is
// nil while the period is open. Availability reports are computed from these.
type Change struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	ObjectID  int64      `json:"object_id"`
	State     int        `json:"state"`
	StateType string     `json:"state_type"`
	Output    string     `json:"output"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end"`
}

// Update is what one check outcome writes: the object's new status and, when
// the state changed, the state period it opens (closing the open one at
// Change.Start).
type Update struct {
	Status Status
	Change *Change
}
