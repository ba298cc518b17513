package agent

import (
	"sync"
	"time"
)

// Registration is the server's record of one agent: its token (hash only),
// the host it reports as once enrolled, when it was last heard from and the
// configuration an admin wants it to run.
type Registration struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	TokenHash string    `json:"-"`
	HostID    int64     `json:"host_id,omitempty"`
	Host      string    `json:"host,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	Interval  Duration  `json:"interval,omitempty"`
	Version   string    `json:"version,omitempty"`
	Desired   Desired   `json:"config"`
}

// TimedResult is a result with the time of its batch, as the server keeps
// the newest of each service.
type TimedResult struct {
	Result
	At time.Time
}

// HostResult is a stored result with the host it belongs to.
type HostResult struct {
	Host string
	TimedResult
}

// SilentAfter is how many intervals without a word make an agent silent.
const SilentAfter = 3

// Liveness is what the server knows, in memory, of each agent host between
// batches: when it was last heard from at which interval, and the last
// result of each of its services. The agent check kind reads it, so an
// agent host's state comes from the ordinary state engine (SOFT/HARD,
// history, alarms) and its outage shows in the host's history.
type Liveness struct {
	mu    sync.Mutex
	hosts map[string]*hostLive
	now   func() time.Time
}

type hostLive struct {
	seen     time.Time
	interval time.Duration
	results  map[string]liveResult
}

type liveResult struct {
	Result
	at time.Time
}

// NewLiveness returns an empty registry; now is the clock (nil: time.Now).
func NewLiveness(now func() time.Time) *Liveness {
	if now == nil {
		now = time.Now
	}
	return &Liveness{hosts: map[string]*hostLive{}, now: now}
}

func (l *Liveness) host(name string) *hostLive {
	h, ok := l.hosts[name]
	if !ok {
		h = &hostLive{results: map[string]liveResult{}}
		l.hosts[name] = h
	}
	return h
}

// Seen records contact from an agent host now.
func (l *Liveness) Seen(host string, interval time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(host)
	h.seen = l.now()
	if interval > 0 {
		h.interval = interval
	}
}

// Restore sets what the store remembers of an agent host after a server
// restart: when it was last heard from, at which interval. Silence is then
// measured from there, not from the restart.
func (l *Liveness) Restore(host string, seen time.Time, interval time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(host)
	if seen.After(h.seen) {
		h.seen = seen
	}
	if interval > 0 && h.interval == 0 {
		h.interval = interval
	}
}

// Report keeps the newest result of each service of a batch.
func (l *Liveness) Report(host string, at time.Time, rs []Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(host)
	for _, r := range rs {
		if old, ok := h.results[r.Service]; !ok || !at.Before(old.at) {
			h.results[r.Service] = liveResult{r, at}
		}
	}
}

// HostState answers for the host check of an agent host: up while the
// agent speaks, down once it has been silent for SilentAfter intervals.
// known is false for a host no agent spoke for since the server started
// (the check then waits one silence period before calling it down).
func (l *Liveness) HostState(host string, started time.Time) (up bool, silent time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.hosts[host]
	now := l.now()
	if !ok || h.seen.IsZero() {
		// Not heard from since the server started: give it a silence
		// period to come back before calling it down.
		return now.Sub(started) < SilentAfter*time.Minute, now.Sub(started)
	}
	iv := h.interval
	if iv <= 0 {
		iv = 10 * time.Second
	}
	silent = now.Sub(h.seen)
	return silent < SilentAfter*iv, silent
}

// ServiceResult returns the newest result of a host's service and its age.
func (l *Liveness) ServiceResult(host, service string) (Result, time.Duration, time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.hosts[host]
	if !ok {
		return Result{}, 0, 0, false
	}
	r, ok := h.results[service]
	iv := h.interval
	if iv <= 0 {
		iv = 10 * time.Second
	}
	return r.Result, l.now().Sub(r.at), iv, ok
}
