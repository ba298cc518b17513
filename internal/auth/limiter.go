package auth

import (
	"sort"
	"sync"
	"time"
)

// Limits of failed sign-ins before a lock-out: per login (a targeted
// guess) and per source address (a spray over many logins).
const (
	MaxFailuresPerLogin   = 5
	MaxFailuresPerAddress = 20
	FailureWindow         = 15 * time.Minute
	LockoutDuration       = 15 * time.Minute
)

// limiter counts failed sign-ins in memory. The same answer is given for
// logins that exist and those that do not, so a lock-out reveals nothing.
type limiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time // "login:x" or "addr:y" -> failure times
	until map[string]time.Time   // locked keys
}

func newLimiter() *limiter {
	return &limiter{fails: map[string][]time.Time{}, until: map[string]time.Time{}}
}

func loginKey(l string) string { return "login:" + l }
func addrKey(a string) string  { return "addr:" + a }

// locked reports whether a login or an address is locked out now.
func (l *limiter) locked(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if t, ok := l.until[k]; ok {
			if now.Before(t) {
				return true
			}
			delete(l.until, k)
		}
	}
	return false
}

// fail records a failure and locks keys over their limit.
func (l *limiter) fail(now time.Time, login, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 100000 { // bound memory under a spray of random logins
		clear(l.fails)
	}
	for _, kv := range []struct {
		key string
		max int
	}{{loginKey(login), MaxFailuresPerLogin}, {addrKey(addr), MaxFailuresPerAddress}} {
		recent := l.fails[kv.key][:0]
		for _, t := range l.fails[kv.key] {
			if now.Sub(t) < FailureWindow {
				recent = append(recent, t)
			}
		}
		recent = append(recent, now)
		l.fails[kv.key] = recent
		if len(recent) >= kv.max {
			l.until[kv.key] = now.Add(LockoutDuration)
			delete(l.fails, kv.key)
		}
	}
}

// succeed clears a login's failures.
func (l *limiter) succeed(login string) {
	l.mu.Lock()
	delete(l.fails, loginKey(login))
	l.mu.Unlock()
}

// Lockout is a login or address locked out until a time.
type Lockout struct {
	Key   string    `json:"key"`
	Until time.Time `json:"until"`
}

func (l *limiter) list(now time.Time) []Lockout {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []Lockout{}
	for k, t := range l.until {
		if now.Before(t) {
			out = append(out, Lockout{Key: k, Until: t})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (l *limiter) lift(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.until[key]
	delete(l.until, key)
	delete(l.fails, key)
	return ok
}
