package state

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// scripted is a check whose state the test sets; it counts its runs.
type scripted struct {
	state atomic.Int32
	runs  atomic.Int32
	delay time.Duration
}

func (c *scripted) Run(ctx context.Context) checks.Result {
	c.runs.Add(1)
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
			return checks.Result{State: checks.Unknown, Output: "timed out", Time: time.Now()}
		}
	}
	return checks.Result{State: checks.State(c.state.Load()), Output: "scripted", Time: time.Now()}
}

// memWriter keeps what the engine writes.
type memWriter struct {
	mu      sync.Mutex
	updates []Update
}

func (w *memWriter) WriteStatus(_ context.Context, b []Update) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.updates = append(w.updates, b...)
	return nil
}

func (w *memWriter) changes() []Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Change
	for _, u := range w.updates {
		if u.Change != nil {
			out = append(out, *u.Change)
		}
	}
	return out
}

func startEngine(t *testing.T, opts EngineOptions) (*Engine, func()) {
	e := NewEngine(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.Run(ctx)
		close(done)
	}()
	var once sync.Once
	return e, func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

func TestEngineSchedulesAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &memWriter{}
		e, stop := startEngine(t, EngineOptions{Writer: w})
		defer stop()
		c := &scripted{}
		e.Upsert(Job{Kind: KindService, ID: 1, HostID: 9, Checker: c, Interval: time.Minute, RetryInterval: 10 * time.Second, MaxAttempts: 3}, true)

		synctest.Wait()
		if c.runs.Load() != 1 {
			t.Fatalf("runNow: %d runs, want 1", c.runs.Load())
		}
		// On schedule: one run per interval.
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if n := c.runs.Load(); n < 5 || n > 6 {
			t.Fatalf("after 5 minutes at 1m interval: %d runs", n)
		}
		// A problem is retried at the retry interval until HARD.
		c.state.Store(int32(checks.Critical))
		before := c.runs.Load()
		e.RunNow(KindService, 1)
		synctest.Wait()
		st, _ := e.Status(KindService, 1)
		if st.State != int(checks.Critical) || st.StateType != Soft || st.Attempt != 1 {
			t.Fatalf("first failure: %+v", st)
		}
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if st, _ = e.Status(KindService, 1); st.StateType != Soft || st.Attempt != 2 {
			t.Fatalf("first retry after the retry interval: %+v", st)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		st, _ = e.Status(KindService, 1)
		if st.StateType != Hard || st.Attempt != 3 {
			t.Fatalf("after two retries: type %s attempt %d (runs %d)", st.StateType, st.Attempt, c.runs.Load()-before)
		}
		// HARD: back to the normal interval.
		runs := c.runs.Load()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if c.runs.Load() != runs {
			t.Fatalf("HARD state retried at the retry interval")
		}
		stop()
		ch := w.changes()
		if len(ch) != 3 || ch[0].State != 0 || ch[1].StateType != Soft || ch[2].StateType != Hard {
			t.Fatalf("state periods written: %+v", ch)
		}
	})
}

func TestEngineHostGatesServices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &memWriter{}
		e, stop := startEngine(t, EngineOptions{Writer: w})
		defer stop()
		host := &scripted{}
		host.state.Store(int32(checks.Critical))
		svc := &scripted{}
		svc.state.Store(int32(checks.Critical))
		e.Upsert(Job{Kind: KindHost, ID: 1, HostID: 1, Checker: host, Interval: time.Minute, RetryInterval: time.Minute, MaxAttempts: 1}, true)
		synctest.Wait()
		hs, _ := e.Status(KindHost, 1)
		if hs.State != HostDown || hs.StateType != Hard {
			t.Fatalf("host: %+v", hs)
		}
		e.Upsert(Job{Kind: KindService, ID: 2, HostID: 1, Checker: svc, Interval: time.Minute, RetryInterval: time.Minute, MaxAttempts: 1}, true)
		synctest.Wait()
		st, _ := e.Status(KindService, 2)
		if st.State != int(checks.Unknown) || !st.Unreachable {
			t.Fatalf("service of a DOWN host: state %d unreachable %v, want UNKNOWN and unreachable", st.State, st.Unreachable)
		}
		// Host back up: the service's own state shows again.
		host.state.Store(int32(checks.OK))
		e.RunNow(KindHost, 1)
		synctest.Wait()
		e.RunNow(KindService, 2)
		synctest.Wait()
		st, _ = e.Status(KindService, 2)
		if st.State != int(checks.Critical) || st.Unreachable {
			t.Fatalf("service of an UP host: %+v", st)
		}
	})
}

func TestEngineNewProblemChecksHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := startEngine(t, EngineOptions{Writer: &memWriter{}})
		defer stop()
		host := &scripted{}
		svc := &scripted{}
		e.Upsert(Job{Kind: KindHost, ID: 1, HostID: 1, Checker: host, Interval: time.Hour, RetryInterval: time.Minute, MaxAttempts: 1}, true)
		e.Upsert(Job{Kind: KindService, ID: 2, HostID: 1, Checker: svc, Interval: time.Hour, RetryInterval: 10 * time.Second, MaxAttempts: 3}, true)
		synctest.Wait()
		time.Sleep(time.Minute)
		hostRuns := host.runs.Load()
		svc.state.Store(int32(checks.Critical))
		e.RunNow(KindService, 2)
		synctest.Wait()
		if host.runs.Load() != hostRuns+1 {
			t.Fatalf("a new service problem did not trigger a host check (%d -> %d)", hostRuns, host.runs.Load())
		}
	})
}

func TestEngineBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := startEngine(t, EngineOptions{Writer: &memWriter{}, Concurrency: 4})
		defer stop()
		var running, peak atomic.Int32
		for i := int64(1); i <= 20; i++ {
			e.Upsert(Job{Kind: KindService, ID: i, Checker: checkFunc(func(ctx context.Context) checks.Result {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(time.Second)
				running.Add(-1)
				return checks.Result{Time: time.Now()}
			}), Interval: time.Hour}, true)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if peak.Load() != 4 {
			t.Fatalf("peak concurrency %d, want 4", peak.Load())
		}
		if len(e.Snapshot(KindService)) != 20 {
			t.Fatalf("not every job ran: %d", len(e.Snapshot(KindService)))
		}
	})
}

func TestEngineTimeoutAndRemove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, stop := startEngine(t, EngineOptions{Writer: &memWriter{}})
		defer stop()
		slow := &scripted{delay: time.Hour}
		e.Upsert(Job{Kind: KindService, ID: 1, Checker: slow, Interval: time.Hour, Timeout: 5 * time.Second}, true)
		time.Sleep(6 * time.Second)
		synctest.Wait()
		st, ok := e.Status(KindService, 1)
		if !ok || st.State != int(checks.Unknown) {
			t.Fatalf("a check past its timeout: %+v", st)
		}
		e.Remove(KindService, 1)
		if _, ok := e.Status(KindService, 1); ok || e.Jobs() != 0 {
			t.Fatal("removed job still known")
		}
	})
}

func TestEngineResumesFromStoredStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		e := NewEngine(EngineOptions{Writer: &memWriter{}})
		e.Load([]Status{{Kind: KindService, ObjectID: 1, Checked: true, State: 2, StateType: Soft, Attempt: 2, LastCheck: now.Add(-time.Minute)}})
		c := &scripted{}
		c.state.Store(int32(checks.Critical))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		e.Upsert(Job{Kind: KindService, ID: 1, Checker: c, Interval: time.Hour, RetryInterval: time.Minute, MaxAttempts: 3}, false)
		synctest.Wait()
		st, _ := e.Status(KindService, 1)
		// The SOFT problem resumes at attempt 3 and goes HARD at once.
		if c.runs.Load() != 1 || st.StateType != Hard || st.Attempt != 3 {
			t.Fatalf("resumed status: runs %d %+v", c.runs.Load(), st)
		}
		cancel()
		<-done
	})
}

type checkFunc func(context.Context) checks.Result

func (f checkFunc) Run(ctx context.Context) checks.Result { return f(ctx) }

func TestSampleTime(t *testing.T) {
	sched := time.Date(2026, 11, 23, 10, 0, 30, 0, time.UTC)
	tests := []struct {
		name  string
		start time.Time
		want  time.Time
	}{
		{"on time", sched, sched},
		{"a little late", sched.Add(1300 * time.Microsecond), sched},
		{"at the tolerance", sched.Add(sampleTimeTolerance), sched},
		{"late", sched.Add(sampleTimeTolerance + time.Millisecond), sched.Add(sampleTimeTolerance + time.Millisecond)},
		{"early (clock stepped back)", sched.Add(-time.Millisecond), sched.Add(-time.Millisecond)},
	}
	for _, tt := range tests {
		if got := sampleTime(tt.start, sched); !got.Equal(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Results of a check that gives no time of its own carry their scheduled
// time for the time-series store, one interval apart exactly.
func TestEngineStampsSamplesWithTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &memWriter{}
		e, stop := startEngine(t, EngineOptions{Writer: w})
		defer stop()
		e.Upsert(Job{Kind: KindService, ID: 7, Checker: untimed{}, Interval: time.Minute, RetryInterval: time.Minute, MaxAttempts: 1}, true)
		time.Sleep(5*time.Minute + time.Second)
		stop()
		var stamps []time.Time
		for _, u := range w.updates {
			if u.Status.SampleTime.IsZero() || u.Status.LastCheck.IsZero() {
				t.Fatalf("update without a sample time or last check: %+v", u.Status)
			}
			stamps = append(stamps, u.Status.SampleTime)
		}
		if len(stamps) < 5 {
			t.Fatalf("%d results in 5 minutes", len(stamps))
		}
		// The first run is at once; the next ones follow the schedule.
		for i := 2; i < len(stamps); i++ {
			if d := stamps[i].Sub(stamps[i-1]); d != time.Minute {
				t.Errorf("sample %d is %v after the previous, want 1m", i, d)
			}
		}
	})
}

// untimed is a check that leaves Result.Time to the engine.
type untimed struct{}

func (untimed) Run(context.Context) checks.Result {
	return checks.Result{State: checks.OK, Output: "fine"}
}
