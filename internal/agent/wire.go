// Package agent is vigie-agent, the program on monitored hosts: it measures
// the host (gopsutil), runs local Nagios and munin-node plugins, keeps every
// batch in a store-and-forward buffer (memory or disk) and sends the batches
// to the server in order, deleting each only once the server said it is
// stored. The wire types here are shared with the server's API.
package agent

import (
	"errors"
	"fmt"
	"time"
)

// Sample is one value the agent measured. Service groups values the way the
// host dashboard shows them ("cpu", "fs /", "net eth0", a plugin's name);
// Unit "c" marks a counter, which the server stores as perfdata_total so
// that rate() applies.
type Sample struct {
	Service string  `json:"s"`
	Metric  string  `json:"m"`
	Unit    string  `json:"u,omitempty"`
	Value   float64 `json:"v"`
}

// Result is the state of one agent service (a plugin, a collector) at the
// batch's time, in Nagios numbering (0 OK … 3 UNKNOWN).
type Result struct {
	Service string `json:"service"`
	State   int    `json:"state"`
	Output  string `json:"output,omitempty"`
}

// Batch is what one collection produced. ID is unique per agent across
// restarts (the buffer's epoch and a sequence number), so that the server
// recognises a batch replayed after a lost answer.
type Batch struct {
	ID      string    `json:"id"`
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Samples []Sample  `json:"samples,omitempty"`
	Results []Result  `json:"results,omitempty"`
}

// Push is the body of POST /api/v1/agent/batches: batches oldest first,
// plus what the buffer had to drop since the previous push (never silent).
type Push struct {
	Batches        []Batch `json:"batches"`
	DroppedBatches uint64  `json:"dropped_batches,omitempty"`
	DroppedSamples uint64  `json:"dropped_samples,omitempty"`
	// Interval is the agent's collection interval now, so the server
	// knows when to call it silent.
	Interval Duration `json:"interval"`
}

// PushAnswer is the server's answer: which batches are stored (including
// duplicates it had already), and the configuration the agent should run.
type PushAnswer struct {
	Stored     []string `json:"stored"`
	Duplicates int      `json:"duplicates"`
	Refused    int      `json:"refused_samples,omitempty"`
	Desired    *Desired `json:"config,omitempty"`
}

// Enrolment is the body of POST /api/v1/agent/enrol.
type Enrolment struct {
	Host     string   `json:"host"`
	Address  string   `json:"address,omitempty"`
	Version  string   `json:"version,omitempty"`
	Interval Duration `json:"interval"`
	// Services are the services the agent will report (collectors and
	// plugins), created on the server's host if missing.
	Services []string `json:"services"`
}

// EnrolAnswer tells the agent which host it reports as and its desired
// configuration.
type EnrolAnswer struct {
	HostID  int64    `json:"host_id"`
	Host    string   `json:"host"`
	Created bool     `json:"created"`
	Desired *Desired `json:"config,omitempty"`
}

// Desired is the part of an agent's configuration the server may push: an
// admin changes it through the API and the agent applies it on its next
// contact. Version grows with each change; zero fields keep the agent's.
type Desired struct {
	Version  int64    `json:"version"`
	Interval Duration `json:"interval,omitempty"`
	Collect  []string `json:"collect,omitempty"`
}

// Validate checks a desired configuration as an admin sends it.
func (d Desired) Validate() error {
	if d.Interval != 0 && (d.Interval.D() < time.Second || d.Interval.D() > time.Hour) {
		return fmt.Errorf("interval: must be between 1s and 1h, got %s", d.Interval.D())
	}
	for _, c := range d.Collect {
		if !knownCollector(c) {
			return fmt.Errorf("collect: unknown collector %q (known: %v)", c, Collectors)
		}
	}
	return nil
}

// Limits bound what the server accepts in one push.
const (
	MaxBatchesPerPush  = 100
	MaxSamplesPerBatch = 20000
	MaxResultsPerBatch = 500
	MaxNameLen         = 200
	MaxOutputLen       = 4096
)

// ValidatePush checks a decoded push; the error names the first problem.
func ValidatePush(p *Push) error {
	if len(p.Batches) == 0 {
		return errors.New("batches: is empty")
	}
	if p.Interval.D() < time.Second || p.Interval.D() > time.Hour {
		return fmt.Errorf("interval: must be between 1s and 1h, got %s", p.Interval.D())
	}
	if len(p.Batches) > MaxBatchesPerPush {
		return fmt.Errorf("batches: %d batches, at most %d a push", len(p.Batches), MaxBatchesPerPush)
	}
	for i, b := range p.Batches {
		at := fmt.Sprintf("batches[%d]", i)
		switch {
		case b.ID == "" || len(b.ID) > 100:
			return fmt.Errorf("%s.id: must be 1 to 100 characters", at)
		case b.Time.IsZero():
			return fmt.Errorf("%s.time: is required", at)
		case len(b.Samples) > MaxSamplesPerBatch:
			return fmt.Errorf("%s.samples: %d samples, at most %d", at, len(b.Samples), MaxSamplesPerBatch)
		case len(b.Results) > MaxResultsPerBatch:
			return fmt.Errorf("%s.results: %d results, at most %d", at, len(b.Results), MaxResultsPerBatch)
		}
		for j, s := range b.Samples {
			if s.Service == "" || s.Metric == "" || len(s.Service) > MaxNameLen || len(s.Metric) > MaxNameLen || len(s.Unit) > 20 {
				return fmt.Errorf("%s.samples[%d]: service and metric must be 1 to %d characters, unit at most 20", at, j, MaxNameLen)
			}
		}
		for j, r := range b.Results {
			if r.Service == "" || len(r.Service) > MaxNameLen {
				return fmt.Errorf("%s.results[%d].service: must be 1 to %d characters", at, j, MaxNameLen)
			}
			if r.State < 0 || r.State > 3 {
				return fmt.Errorf("%s.results[%d].state: must be 0 to 3", at, j)
			}
			if len(r.Output) > MaxOutputLen {
				return fmt.Errorf("%s.results[%d].output: over %d bytes", at, j, MaxOutputLen)
			}
		}
	}
	return nil
}

// Duration is a time.Duration written as "10s" in YAML and JSON.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes "10s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "10s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like 10s): %q", b)
	}
	*d = Duration(v)
	return nil
}
