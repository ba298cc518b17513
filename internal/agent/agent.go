package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
)

// Version is the agent's version, set by the main package.
var Version = "dev"

// Agent collects, buffers and sends.
type Agent struct {
	cfg    Config
	buf    Buffer
	log    *slog.Logger
	client *http.Client
	sys    system

	mu       sync.Mutex
	interval time.Duration
	collect  []string
	version  int64 // of the desired configuration applied
	reset    chan struct{}
	wake     chan struct{}
	plugins  []scheduled
	now      func() time.Time
	// refused counts batches the server refused for good and the agent
	// dropped (reported as agent/refused_batches).
	refused atomic.Uint64
}

type scheduled struct {
	r        runner
	interval time.Duration
}

// New builds an agent on a validated configuration and an open buffer.
func New(cfg Config, buf Buffer, log *slog.Logger) (*Agent, error) {
	if log == nil {
		log = slog.Default()
	}
	tc := &tls.Config{InsecureSkipVerify: cfg.TLSSkipVerify}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: no certificate in %s", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConns = 2
	a := &Agent{
		cfg: cfg, buf: buf, log: log,
		client:   &http.Client{Timeout: cfg.Timeout.D(), Transport: tr},
		interval: cfg.Interval.D(), collect: cfg.Collect,
		reset: make(chan struct{}, 1), wake: make(chan struct{}, 1), now: time.Now,
	}
	for _, p := range cfg.Nagios {
		n, err := newNagios(p, cfg.PluginDirs)
		if err != nil {
			return nil, err
		}
		a.plugins = append(a.plugins, scheduled{n, p.Interval.D()})
	}
	for _, p := range cfg.Munin {
		a.plugins = append(a.plugins, scheduled{&muninPlugin{name: p.Name, path: p.Path, timeout: p.Timeout.D()}, p.Interval.D()})
	}
	return a, nil
}

// Run collects and sends until ctx ends. Collection never waits for the
// network: batches go to the buffer, the sender drains it.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2 + len(a.plugins))
	go func() { defer wg.Done(); a.collectLoop(ctx) }()
	go func() { defer wg.Done(); a.sendLoop(ctx) }()
	for _, p := range a.plugins {
		go func() { defer wg.Done(); a.pluginLoop(ctx, p) }()
	}
	wg.Wait()
	return nil
}

func (a *Agent) settings() (time.Duration, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.interval, a.collect
}

// collectLoop measures the host on interval boundaries, so that samples of
// many agents line up on the server's graphs.
func (a *Agent) collectLoop(ctx context.Context) {
	for {
		iv, _ := a.settings()
		next := a.now().Truncate(iv).Add(iv)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.reset:
			t.Stop()
			continue
		case <-t.C:
		}
		a.CollectOnce(ctx, next)
	}
}

// CollectOnce runs the enabled collectors and buffers their batch.
func (a *Agent) CollectOnce(ctx context.Context, at time.Time) {
	_, names := a.settings()
	b := Batch{Time: at.UTC()}
	for _, n := range names {
		c := a.sys.collector(n)
		if c == nil {
			continue
		}
		before := len(b.Samples)
		var err error
		b.Samples, err = c.collect(ctx, b.Samples)
		r := Result{Service: n, Output: fmt.Sprintf("%d values", len(b.Samples)-before)}
		if err != nil {
			r.State, r.Output = int(checks.Unknown), truncate(err.Error(), MaxOutputLen)
		}
		b.Results = append(b.Results, r)
	}
	st := a.buf.Stats()
	b.Samples = append(b.Samples,
		Sample{Service: "agent", Metric: "buffer_batches", Value: float64(st.Batches)},
		Sample{Service: "agent", Metric: "buffer_bytes", Unit: "B", Value: float64(st.Bytes)},
		Sample{Service: "agent", Metric: "dropped_batches", Unit: "c", Value: float64(st.DroppedBatches)},
		Sample{Service: "agent", Metric: "dropped_samples", Unit: "c", Value: float64(st.DroppedSamples)},
		Sample{Service: "agent", Metric: "refused_batches", Unit: "c", Value: float64(a.refused.Load())})
	a.put(&b)
}

func (a *Agent) put(b *Batch) {
	if err := a.buf.Put(b); err != nil {
		a.log.Error("buffering a batch", "err", err, "samples", len(b.Samples))
		return
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *Agent) pluginLoop(ctx context.Context, p scheduled) {
	for {
		next := a.now().Truncate(p.interval).Add(p.interval)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		samples, res := p.r.run(ctx)
		if ctx.Err() != nil {
			return
		}
		a.put(&Batch{Time: next.UTC(), Samples: samples, Results: []Result{res}})
	}
}

// services lists what the agent reports on, for enrolment.
func (a *Agent) services() []string {
	_, names := a.settings()
	out := append([]string(nil), names...)
	for _, p := range a.cfg.Nagios {
		out = append(out, p.Name)
	}
	for _, p := range a.cfg.Munin {
		out = append(out, p.Name)
	}
	return out
}

// sendLoop enrols, then drains the buffer oldest first. A push is deleted
// from the buffer only after the server answered that it stored it.
// Failures back off exponentially with jitter (a thousand agents do not
// come back in step); catching up is bounded by replay_rate.
func (a *Agent) sendLoop(ctx context.Context) {
	backoff := time.Second
	fail := func(what string, err error) bool {
		a.log.Warn(what, "err", err, "retry_in", backoff.String())
		d := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, time.Minute)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for ctx.Err() == nil {
		if err := a.enrol(ctx); err != nil {
			if !fail("enrolling with the server", err) {
				return
			}
			continue
		}
		break
	}
	backoff = time.Second
	spacing := time.Duration(float64(time.Second) / a.cfg.Buffer.ReplayRate)
	single := false
	for ctx.Err() == nil {
		n := a.cfg.Buffer.PushBatches
		if single {
			n = 1
		}
		batches, err := a.buf.Oldest(n, 4<<20)
		if err != nil {
			if !fail("reading the buffer", err) {
				return
			}
			continue
		}
		if len(batches) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-a.wake:
			}
			continue
		}
		start := time.Now()
		err = a.push(ctx, batches)
		var re *refusedError
		switch {
		case err == nil:
			backoff, single = time.Second, false
		case errors.Is(err, errNotEnrolled):
			// The host was deleted on the server, or the token moved:
			// enrol again (the server recreates the host), keep the data.
			if err := a.enrol(ctx); err != nil && !fail("enrolling with the server again", err) {
				return
			}
			continue
		case errors.As(err, &re) && len(batches) > 1:
			// Find the one batch at fault: push one by one.
			single = true
			continue
		case errors.As(err, &re):
			// One batch the server will never take (it says why): keeping
			// it would block everything behind it. Counted and logged.
			a.log.Error("the server refused a batch for good; dropping it", "batch", batches[0].ID, "err", err)
			a.buf.Ack([]uint64{batches[0].Seq})
			a.refused.Add(1)
			single = false
			continue
		default:
			if !fail("sending batches", err) {
				return
			}
			continue
		}
		// Bounded rate: at most replay_rate pushes a second.
		if d := spacing - time.Since(start); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
	}
}

// errNotEnrolled: the server no longer knows which host this agent is.
var errNotEnrolled = errors.New("the server says this agent is not enrolled")

type refusedError struct {
	status int
	msg    string
}

func (e *refusedError) Error() string { return fmt.Sprintf("server answered %d: %s", e.status, e.msg) }

func (a *Agent) enrol(ctx context.Context) error {
	iv, _ := a.settings()
	body, _ := json.Marshal(Enrolment{Host: a.cfg.Host, Address: a.cfg.Address, Version: Version, Interval: Duration(iv), Services: a.services()})
	var ans EnrolAnswer
	if err := a.post(ctx, "/api/v1/agent/enrol", body, false, &ans); err != nil {
		return err
	}
	a.log.Info("enrolled", "host", ans.Host, "host_id", ans.HostID, "created", ans.Created)
	a.apply(ans.Desired)
	return nil
}

func (a *Agent) push(ctx context.Context, batches []Batch) error {
	iv, _ := a.settings()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(Push{Batches: batches, Interval: Duration(iv)}); err != nil {
		return err
	}
	zw.Close()
	var ans PushAnswer
	if err := a.post(ctx, "/api/v1/agent/batches", buf.Bytes(), true, &ans); err != nil {
		return err
	}
	stored := map[string]bool{}
	for _, id := range ans.Stored {
		stored[id] = true
	}
	var seqs []uint64
	for _, b := range batches {
		if stored[b.ID] {
			seqs = append(seqs, b.Seq)
		}
	}
	if err := a.buf.Ack(seqs); err != nil {
		return err
	}
	if ans.Refused > 0 {
		a.log.Warn("the server refused some samples (too old or out of order)", "samples", ans.Refused)
	}
	a.apply(ans.Desired)
	if len(seqs) < len(batches) {
		return fmt.Errorf("the server stored %d of %d batches", len(seqs), len(batches))
	}
	return nil
}

func (a *Agent) post(ctx context.Context, path string, body []byte, gz bool, out any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(a.cfg.Server, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigie-agent/"+Version)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(b))
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		// 400, 413 and 422 say the request itself is wrong: retrying it
		// unchanged cannot help. 401/403 (a revoked token), 429 and 5xx
		// may pass later: keep the data and retry.
		var code struct {
			Error struct{ Code string } `json:"error"`
		}
		json.Unmarshal(b, &code)
		switch {
		case resp.StatusCode == http.StatusConflict && code.Error.Code == "not_enrolled":
			return errNotEnrolled
		case code.Error.Code == "clock_ahead":
			// Not the batch's fault: keep it, retry later.
			return fmt.Errorf("server answered %d: %s (check this host's clock)", resp.StatusCode, msg)
		}
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			return &refusedError{resp.StatusCode, msg}
		}
		return fmt.Errorf("server answered %d: %s", resp.StatusCode, msg)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding the server's answer: %w", err)
	}
	return nil
}

// apply takes the configuration the server wants, when it changed.
func (a *Agent) apply(d *Desired) {
	if d == nil {
		return
	}
	a.mu.Lock()
	if d.Version == a.version {
		a.mu.Unlock()
		return
	}
	a.version = d.Version
	changed := false
	if d.Interval != 0 && d.Interval.D() != a.interval {
		a.interval, changed = d.Interval.D(), true
	}
	if len(d.Collect) > 0 {
		a.collect = append([]string(nil), d.Collect...)
	}
	iv, collect := a.interval, a.collect
	a.mu.Unlock()
	a.log.Info("applying the server's configuration", "version", d.Version, "interval", iv.String(), "collect", collect)
	if changed {
		select {
		case a.reset <- struct{}{}:
		default:
		}
	}
}

// Settings returns the interval and collectors in force (for tests).
func (a *Agent) Settings() (time.Duration, []string) { return a.settings() }
