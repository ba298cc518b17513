package state

import (
	"container/heap"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// Job is one host or service check as the engine schedules it.
type Job struct {
	Kind          string
	ID            int64
	HostID        int64 // for services: the host whose state gates them
	Name          string
	Checker       checks.Checker
	Interval      time.Duration
	RetryInterval time.Duration
	Timeout       time.Duration
	MaxAttempts   int
	// Passive jobs are never run: a host with its check disabled is simply
	// UP.
	Passive bool
}

// Writer persists status updates; WriteStatus must not return before the
// batch is durable.
type Writer interface {
	WriteStatus(ctx context.Context, batch []Update) error
}

// Event tells listeners (the live stream) what a result did.
type Event struct {
	Kind    string
	ID      int64
	Status  Status
	Outcome Outcome
}

// EngineOptions configure an Engine.
type EngineOptions struct {
	// Concurrency bounds the checks running at once (default 256).
	Concurrency int
	Writer      Writer
	// Publish, when set, is called after every result; it must not block.
	Publish    func(Event)
	Logger     *slog.Logger
	Metrics    *Metrics
	Thresholds Thresholds
	// BatchInterval is how long results wait to be written together
	// (default 100 ms); BatchSize caps a batch (default 2,000).
	BatchInterval time.Duration
	BatchSize     int
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

type key struct {
	kind string
	id   int64
}

type entry struct {
	job     Job
	offset  time.Duration
	next    time.Time
	index   int // in the heap, -1 when not queued
	running bool
	rerun   bool
	removed bool
}

// Engine schedules checks, runs them with bounded concurrency, folds their
// results into SOFT/HARD states, and hands updates to a Writer in batches.
// Each object gets a stable offset inside its interval so that thousands of
// services do not all fire on the same tick.
type Engine struct {
	opts EngineOptions
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	entries map[key]*entry
	status  map[key]*Status
	queue   entryHeap
	wake    chan struct{}

	updates chan Update
	sem     chan struct{}
	wg      sync.WaitGroup
}

// NewEngine returns an engine; call Load, then Run.
func NewEngine(opts EngineOptions) *Engine {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 256
	}
	if opts.BatchInterval <= 0 {
		opts.BatchInterval = 100 * time.Millisecond
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 2000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Engine{
		opts:    opts,
		log:     opts.Logger,
		now:     opts.Now,
		entries: make(map[key]*entry),
		status:  make(map[key]*Status),
		wake:    make(chan struct{}, 1),
		updates: make(chan Update, 4*opts.BatchSize),
		sem:     make(chan struct{}, opts.Concurrency),
	}
}

// Load restores stored statuses, so that SOFT attempts, flapping history and
// the next check times survive a restart. Call it before Upsert.
func (e *Engine) Load(statuses []Status) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range statuses {
		st := statuses[i]
		e.status[key{st.Kind, st.ObjectID}] = &st
	}
}

// Status returns the current status of an object.
func (e *Engine) Status(kind string, id int64) (Status, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.status[key{kind, id}]
	if !ok {
		return Status{Kind: kind, ObjectID: id}, false
	}
	return *st, true
}

// Upsert adds a job or replaces its definition. With runNow the check runs
// at once (a new or edited service shows its state without waiting a whole
// interval); otherwise it keeps its place in the schedule.
func (e *Engine) Upsert(j Job, runNow bool) {
	if j.Interval <= 0 {
		j.Interval = time.Minute
	}
	if j.RetryInterval <= 0 {
		j.RetryInterval = j.Interval
	}
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = 1
	}
	k := key{j.Kind, j.ID}
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.entries[k]
	if !ok {
		en = &entry{index: -1}
		e.entries[k] = en
	}
	en.job = j
	en.offset = offsetOf(k, j.Interval)
	if j.Passive {
		e.dequeue(en)
		e.setPassive(k)
		return
	}
	if en.running {
		en.rerun = en.rerun || runNow
		return
	}
	now := e.now()
	switch {
	case runNow:
		en.next = now
	case !ok:
		en.next = e.resumeTime(k, en, now)
	}
	e.enqueue(en)
}

// resumeTime is when an object loaded at start runs first: its stored next
// check when that is still ahead and plausible, else its next slot.
func (e *Engine) resumeTime(k key, en *entry, now time.Time) time.Time {
	if st, ok := e.status[k]; ok && st.Checked {
		if st.NextCheck.After(now) && st.NextCheck.Sub(now) <= en.job.Interval {
			return st.NextCheck
		}
		if st.StateType == Soft && st.State != 0 {
			return now // a problem being confirmed should not wait
		}
	}
	return alignedNext(now, en.job.Interval, en.offset)
}

func (e *Engine) setPassive(k key) {
	st, ok := e.status[k]
	if ok && st.Checked && st.State == HostUp {
		return
	}
	now := e.now()
	st = &Status{Kind: k.kind, ObjectID: k.id}
	out := Apply(st, HostUp, checks.Result{Output: "host check disabled: assumed UP", Time: now}, 1, e.opts.Thresholds)
	st.SampleTime = now
	e.status[k] = st
	e.emit(k, st, out)
}

// Remove forgets a job; a result of a check still running is dropped.
func (e *Engine) Remove(kind string, id int64) {
	k := key{kind, id}
	e.mu.Lock()
	defer e.mu.Unlock()
	if en, ok := e.entries[k]; ok {
		e.dequeue(en)
		en.removed = true
		delete(e.entries, k)
	}
	delete(e.status, k)
}

// RunNow runs a check as soon as a slot is free. It reports false for an
// unknown job.
func (e *Engine) RunNow(kind string, id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.entries[key{kind, id}]
	if !ok {
		return false
	}
	if en.job.Passive {
		return true
	}
	if en.running {
		en.rerun = true
		return true
	}
	en.next = e.now()
	e.enqueue(en)
	return true
}

// Jobs returns how many jobs are scheduled.
func (e *Engine) Jobs() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.entries)
}

func (e *Engine) enqueue(en *entry) {
	if en.index >= 0 {
		heap.Fix(&e.queue, en.index)
	} else {
		heap.Push(&e.queue, en)
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) dequeue(en *entry) {
	if en.index >= 0 {
		heap.Remove(&e.queue, en.index)
	}
}

// Run dispatches due checks until ctx is done, then waits for running checks
// and writes the last batch.
func (e *Engine) Run(ctx context.Context) error {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		e.writeLoop()
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []*entry
	for {
		e.mu.Lock()
		now := e.now()
		due = due[:0]
		for len(e.queue) > 0 && !e.queue[0].next.After(now) {
			en := heap.Pop(&e.queue).(*entry)
			en.running = true
			due = append(due, en)
		}
		wait := time.Hour
		if len(e.queue) > 0 {
			wait = e.queue[0].next.Sub(now)
		}
		e.mu.Unlock()
		if m := e.opts.Metrics; m != nil {
			m.Due.Set(float64(len(due)))
		}

		for i, en := range due {
			select {
			case e.sem <- struct{}{}:
			case <-ctx.Done():
				e.mu.Lock()
				for _, rest := range due[i:] {
					rest.running = false
				}
				e.mu.Unlock()
				return e.stop(writerDone)
			}
			e.wg.Add(1)
			go e.run(ctx, en, en.next)
		}
		if len(due) > 0 {
			continue // time has passed while slots were awaited
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-e.wake:
			if !timer.Stop() {
				<-timer.C
			}
		case <-ctx.Done():
			return e.stop(writerDone)
		}
	}
}

func (e *Engine) stop(writerDone chan struct{}) error {
	e.wg.Wait()
	close(e.updates)
	<-writerDone
	return nil
}

func (e *Engine) run(ctx context.Context, en *entry, scheduled time.Time) {
	defer e.wg.Done()
	defer func() { <-e.sem }()
	e.mu.Lock()
	job := en.job
	e.mu.Unlock()

	start := e.now()
	if m := e.opts.Metrics; m != nil {
		m.Lateness.Observe(start.Sub(scheduled).Seconds())
		m.Running.Inc()
		defer m.Running.Dec()
	}
	timeout := job.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	res := runChecker(cctx, job)
	cancel()
	if ctx.Err() != nil {
		// Shutting down: a check cut short says nothing about the target.
		e.mu.Lock()
		en.running = false
		e.mu.Unlock()
		return
	}
	// Samples of a check that ran on time are stamped with its scheduled
	// time: the time-series store then sees perfectly regular timestamps
	// and keeps them in one bit each, where the scheduler's jitter of a
	// millisecond or two would cost a byte or two a sample.
	stamp := res.Time
	if res.Time.IsZero() {
		res.Time = start
		stamp = sampleTime(start, scheduled)
	}
	if m := e.opts.Metrics; m != nil {
		m.Checks.WithLabelValues(job.Kind, res.State.String()).Inc()
		m.Duration.Observe(res.Duration.Seconds())
	}
	e.complete(en, job, res, stamp)
}

// sampleTimeTolerance is how late a check may start and still have its
// samples stamped with its scheduled time.
const sampleTimeTolerance = 50 * time.Millisecond

// sampleTime is the time a check's samples are stamped with: its schedule
// when it started on time, else when it started.
func sampleTime(start, scheduled time.Time) time.Time {
	if late := start.Sub(scheduled); late >= 0 && late <= sampleTimeTolerance {
		return scheduled
	}
	return start
}

// runChecker runs one check, turning a panic in a check kind into UNKNOWN
// rather than a dead server.
func runChecker(ctx context.Context, job Job) (res checks.Result) {
	defer func() {
		if p := recover(); p != nil {
			res = checks.Result{State: checks.Unknown, Output: fmt.Sprintf("check failed: %v", p)}
		}
	}()
	return job.Checker.Run(ctx)
}

// complete folds a result into the object's status, reschedules the job and
// queues the update for writing.
func (e *Engine) complete(en *entry, job Job, res checks.Result, stamp time.Time) {
	k := key{job.Kind, job.ID}
	e.mu.Lock()
	en.running = false
	if en.removed {
		e.mu.Unlock()
		return
	}
	st, ok := e.status[k]
	if !ok {
		st = &Status{Kind: job.Kind, ObjectID: job.ID}
		e.status[k] = st
	}
	var value int
	checkHost := false
	if job.Kind == KindHost {
		value = HostState(res.State)
		if value == HostDown && res.Unreachable {
			value = HostUnreachable
		}
		st.Unreachable = false
	} else {
		value = int(res.State)
		st.Unreachable = false
		if hs, ok := e.status[key{KindHost, job.HostID}]; ok && hs.Checked && hs.State != HostUp {
			if value != int(checks.OK) && hs.StateType == Hard {
				st.Unreachable = true
				value = int(checks.Unknown)
				res.Output = fmt.Sprintf("UNREACHABLE: host is %s (check said: %s)", HostStateName(hs.State), res.Output)
			}
		} else if value != int(checks.OK) && (!ok || st.State == int(checks.OK)) {
			// A new problem: confirm the host at once, as Nagios does, so
			// a dead host gates its services before they go HARD.
			checkHost = true
		}
	}
	out := Apply(st, value, res, job.MaxAttempts, e.opts.Thresholds)
	st.SampleTime = stamp
	now := e.now()
	// The job may have been edited while it ran: schedule by its current
	// definition.
	job = en.job
	switch {
	case job.Passive:
		// Became passive while running: no longer scheduled.
	case en.rerun:
		en.rerun = false
		en.next = now
	case st.StateType == Soft && st.State != 0:
		en.next = now.Add(job.RetryInterval)
	default:
		en.next = alignedNext(now, job.Interval, en.offset)
	}
	if !job.Passive {
		st.NextCheck = en.next
		e.enqueue(en)
	}
	if checkHost {
		if hen, ok := e.entries[key{KindHost, job.HostID}]; ok && !hen.running && !hen.job.Passive {
			if hst, ok := e.status[key{KindHost, job.HostID}]; !ok || now.Sub(hst.LastCheck) > job.RetryInterval {
				hen.next = now
				e.enqueue(hen)
			}
		}
	}
	e.emit(k, st, out)
	e.mu.Unlock()
}

// emit queues the update and tells listeners. Called with e.mu held; the
// updates channel is large, and a full one means the database is behind, so
// waiting here (and slowing the checks) is the right back-pressure.
func (e *Engine) emit(k key, st *Status, out Outcome) {
	u := Update{Status: *st}
	if out.Changed {
		u.Change = newPeriod(k.kind, k.id, st, st.LastStateChange)
	}
	e.updates <- u
	if e.opts.Publish != nil {
		e.opts.Publish(Event{Kind: k.kind, ID: k.id, Status: *st, Outcome: out})
	}
}

// writeLoop groups updates into batches: many small transactions would cap
// the check rate at the database's commit rate.
func (e *Engine) writeLoop() {
	batch := make([]Update, 0, e.opts.BatchSize)
	tick := time.NewTicker(e.opts.BatchInterval)
	defer tick.Stop()
	flush := func() {
		if len(batch) == 0 || e.opts.Writer == nil {
			batch = batch[:0]
			return
		}
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := e.opts.Writer.WriteStatus(ctx, batch)
			cancel()
			if err == nil {
				break
			}
			e.log.Error("writing check results", "err", err, "batch", len(batch), "attempt", attempt+1)
			if attempt >= 5 {
				e.log.Error("giving up on a batch of check results", "batch", len(batch))
				break
			}
			time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
		}
		if m := e.opts.Metrics; m != nil {
			m.Written.Add(float64(len(batch)))
		}
		batch = batch[:0]
	}
	for {
		select {
		case u, ok := <-e.updates:
			if !ok {
				flush()
				return
			}
			batch = append(batch, u)
			if len(batch) >= e.opts.BatchSize {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// offsetOf is a stable offset inside the interval, derived from the
// object's identity, so restarts keep each check at the same phase.
func offsetOf(k key, interval time.Duration) time.Duration {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", k.kind, k.id)
	return time.Duration(h.Sum64() % uint64(interval))
}

// alignedNext is the first time after now that sits at offset inside a
// multiple of interval.
func alignedNext(now time.Time, interval, offset time.Duration) time.Time {
	n := now.UnixNano()
	i, o := int64(interval), int64(offset)
	k := (n-o)/i + 1
	return time.Unix(0, k*i+o).UTC()
}

type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *entryHeap) Push(x any) {
	en := x.(*entry)
	en.index = len(*h)
	*h = append(*h, en)
}
func (h *entryHeap) Pop() any {
	old := *h
	n := len(old)
	en := old[n-1]
	old[n-1] = nil
	en.index = -1
	*h = old[:n-1]
	return en
}

// Snapshot returns the current status of every object of a kind.
func (e *Engine) Snapshot(kind string) []Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Status, 0, len(e.status))
	for k, st := range e.status {
		if k.kind == kind {
			out = append(out, *st)
		}
	}
	return out
}

// ServiceStatesByHost returns, per host id, the state names of its
// scheduled services ("PENDING" for those never checked).
func (e *Engine) ServiceStatesByHost() map[int64]map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[int64]map[string]int{}
	for k, en := range e.entries {
		if k.kind != KindService {
			continue
		}
		m := out[en.job.HostID]
		if m == nil {
			m = map[string]int{}
			out[en.job.HostID] = m
		}
		st, ok := e.status[k]
		if !ok {
			m["PENDING"]++
			continue
		}
		m[StateName(KindService, *st)]++
	}
	return out
}
