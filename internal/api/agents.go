package api

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/vigie-monitoring/vigie/internal/agent"
	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/metrics"
	"github.com/vigie-monitoring/vigie/internal/state"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// SampleAppender stores samples durably (the time-series database and the
// remote-write queues behind it).
type SampleAppender interface {
	Append(ctx context.Context, samples []metrics.Sample) error
}

// Bounds of what agents send.
const (
	// agentBodyBytes bounds a compressed push, agentDecodedBytes what it
	// inflates to (a zip bomb stops there).
	agentBodyBytes    = 8 << 20
	agentDecodedBytes = 32 << 20
	// agentServicesMax bounds the services an agent may create on its host.
	agentServicesMax = 200
	// agentFuture is how far ahead of the server's clock a batch may be.
	agentFuture = 5 * time.Minute
	// agentBatchIDsKept is how long batch ids are remembered; an agent's
	// buffer bound keeps its backlog far younger.
	agentBatchIDsKept = 30 * 24 * time.Hour
)

// agentState is the API's per-agent bookkeeping: one push at a time per
// agent (a retried push racing its first attempt would otherwise store a
// batch twice), and the services known on its host.
type agentState struct {
	mu       sync.Mutex
	locks    map[int64]*sync.Mutex
	services map[int64]map[string]int64 // service ids by name, per agent
	// ingest bounds the pushes stored at once across all agents; the rest
	// wait a moment, then get 503 and come back later (agents back off).
	ingest    chan struct{}
	lastPrune time.Time
	// order is, per agent, the buffer epoch and highest sequence number
	// stored, to count batches arriving out of order (there should be
	// none: the agent sends oldest first and deletes only what is stored).
	order map[int64]seqMark
}

type seqMark struct {
	epoch string
	seq   uint64
}

func (a *agentState) lock(id int64) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.locks == nil {
		a.locks, a.services = map[int64]*sync.Mutex{}, map[int64]map[string]int64{}
	}
	l, ok := a.locks[id]
	if !ok {
		l = &sync.Mutex{}
		a.locks[id] = l
	}
	return l
}

// agentIngestSlots bounds the pushes stored at once.
const agentIngestSlots = 8

func agentBody(*Server) int64 { return agentBodyBytes }

type agentKey struct{}

func agentOf(r *http.Request) agent.Registration {
	a, _ := r.Context().Value(agentKey{}).(agent.Registration)
	return a
}

// authAgent recognises an agent by its bearer token (hash looked up).
func (s *Server) authAgent(r *http.Request) (agent.Registration, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" || !strings.HasPrefix(tok, agentTokenPrefix) {
		return agent.Registration{}, false
	}
	a, err := s.st.GetAgentByHash(r.Context(), auth.HashSecret(tok))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("looking up an agent token", "err", err) // never the token
		}
		return agent.Registration{}, false
	}
	return a, true
}

// agentTokenPrefix tells agent tokens from API tokens at a glance (and in
// secret scanners).
const agentTokenPrefix = "vga_"

type agentTokenInput struct {
	Name   string         `json:"name"`
	Config *agent.Desired `json:"config,omitempty"`
}

type agentTokenView struct {
	agent.Registration
	// Token is the secret, in the creation answer only.
	Token string `json:"token,omitempty"`
}

func (s *Server) listAgentTokens(w http.ResponseWriter, r *http.Request) {
	l, err := s.st.ListAgents(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := make([]agentTokenView, len(l))
	for i, a := range l {
		out[i] = agentTokenView{Registration: a}
	}
	writeJSON(w, http.StatusOK, list{Items: out})
}

func (s *Server) createAgentToken(w http.ResponseWriter, r *http.Request) {
	var in agentTokenInput
	if !decodeBody(w, r, &in) {
		return
	}
	if err := inventory.ValidName(in.Name); err != nil {
		s.writeErr(w, badField("name", "%v", err))
		return
	}
	a := agent.Registration{Name: in.Name}
	if in.Config != nil {
		if err := in.Config.Validate(); err != nil {
			s.writeErr(w, badField("config", "%v", err))
			return
		}
		a.Desired = *in.Config
		a.Desired.Version = 1
	}
	secret := agentTokenPrefix + auth.RandomSecret(32)
	a.TokenHash = auth.HashSecret(secret)
	if err := s.st.CreateAgent(r.Context(), &a); err != nil {
		s.writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/agent-tokens/"+strconv.FormatInt(a.ID, 10))
	writeJSON(w, http.StatusCreated, agentTokenView{Registration: a, Token: secret})
}

func (s *Server) agentByPath(w http.ResponseWriter, r *http.Request) (agent.Registration, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("agent token %q: not found", r.PathValue("id")))
		return agent.Registration{}, false
	}
	a, err := s.st.GetAgent(r.Context(), id)
	if err != nil {
		s.writeErr(w, err)
		return a, false
	}
	return a, true
}

func (s *Server) getAgentToken(w http.ResponseWriter, r *http.Request) {
	if a, ok := s.agentByPath(w, r); ok {
		writeJSON(w, http.StatusOK, agentTokenView{Registration: a})
	}
}

func (s *Server) deleteAgentToken(w http.ResponseWriter, r *http.Request) {
	a, ok := s.agentByPath(w, r)
	if !ok {
		return
	}
	if err := s.st.DeleteAgent(r.Context(), a.ID); err != nil {
		s.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putAgentConfig sets the configuration an agent should run; it gets it
// with the answer to its next push.
func (s *Server) putAgentConfig(w http.ResponseWriter, r *http.Request) {
	a, ok := s.agentByPath(w, r)
	if !ok {
		return
	}
	var in agent.Desired
	if !decodeBody(w, r, &in) {
		return
	}
	if err := in.Validate(); err != nil {
		s.writeErr(w, badField("config", "%v", err))
		return
	}
	in.Version = a.Desired.Version + 1
	a.Desired = in
	if err := s.st.UpdateAgent(r.Context(), &a); err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, agentTokenView{Registration: a})
}

// agentEnrol binds the token to a host (created, or an existing one of the
// same name) and creates the services the agent will report.
func (s *Server) agentEnrol(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := agentOf(r)
	var in agent.Enrolment
	// Lenient, as pushes are: agents and servers are upgraded apart.
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_body", "decoding the enrolment: "+err.Error())
		return
	}
	if err := inventory.ValidName(in.Host); err != nil {
		s.writeErr(w, badField("host", "%v", err))
		return
	}
	if in.Interval.D() < time.Second || in.Interval.D() > time.Hour {
		s.writeErr(w, badField("interval", "must be between 1s and 1h"))
		return
	}
	if len(in.Services) > agentServicesMax {
		s.writeErr(w, badField("services", "at most %d services", agentServicesMax))
		return
	}
	for _, n := range in.Services {
		if err := inventory.ValidName(n); err != nil {
			s.writeErr(w, badField("services", "%q: %v", n, err))
			return
		}
	}
	l := s.agents.lock(a.ID)
	l.Lock()
	defer l.Unlock()
	// A token reports for one host: the one it enrolled first.
	if a.HostID != 0 && a.Host != in.Host {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("this agent token is bound to host %q, not %q", a.Host, in.Host))
		return
	}
	h, err := s.st.GetHostByName(ctx, in.Host)
	created := false
	switch {
	case errors.Is(err, store.ErrNotFound):
		h = inventory.Host{Name: in.Host, Address: in.Address, Enabled: true, Source: inventory.SourceAPI,
			Check: checks.Spec{"kind": "agent"}, Interval: inventory.Duration(in.Interval.D()), MaxAttempts: 1,
			Tags: map[string]string{"agent": a.Name}}
		if err := s.st.CreateHost(ctx, &h); err != nil {
			s.writeErr(w, err)
			return
		}
		created = true
		if err := s.mon.HostChanged(h, true); err != nil {
			s.log.Warn("scheduling an agent host", "host", h.Name, "err", err)
		}
		s.opts.Hub.Inventory(state.KindHost, h.ID, "create")
	case err != nil:
		s.writeErr(w, err)
		return
	}
	// The host may be new, or deleted and made again: read its services
	// afresh.
	s.agents.mu.Lock()
	delete(s.agents.services, a.ID)
	s.agents.mu.Unlock()
	// "agent" is the liveness service: CRITICAL while the agent is
	// silent, on hosts whose own check is something else too.
	if _, err := s.ensureAgentServices(ctx, a.ID, h, append([]string{"agent"}, in.Services...), in.Interval.D()); err != nil {
		s.writeErr(w, err)
		return
	}
	a.HostID, a.Host, a.Version = h.ID, h.Name, truncateStr(in.Version, 50)
	a.LastSeen, a.Interval = time.Now().UTC(), in.Interval
	if err := s.st.UpdateAgent(ctx, &a); err != nil {
		s.writeErr(w, err)
		return
	}
	if s.opts.Agents != nil {
		s.opts.Agents.Seen(h.Name, in.Interval.D())
	}
	ans := agent.EnrolAnswer{HostID: h.ID, Host: h.Name, Created: created}
	if a.Desired.Version > 0 {
		ans.Desired = &a.Desired
	}
	writeJSON(w, http.StatusOK, ans)
}

func truncateStr(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ensureAgentServices creates the services of kind "agent" a host lacks,
// and returns the ids of its services by name.
func (s *Server) ensureAgentServices(ctx context.Context, agentID int64, h inventory.Host, names []string, interval time.Duration) (map[string]int64, error) {
	s.agents.mu.Lock()
	known := s.agents.services[agentID]
	s.agents.mu.Unlock()
	if known == nil {
		have, err := s.st.ListServices(ctx, store.ServiceFilter{HostID: h.ID, Page: store.Page{Limit: 1000}})
		if err != nil {
			return nil, err
		}
		known = map[string]int64{}
		for _, sv := range have {
			known[sv.Name] = sv.ID
		}
	}
	full := h.CreatedAt != (time.Time{})
	for _, n := range names {
		if _, ok := known[n]; ok {
			continue
		}
		if len(known) >= agentServicesMax {
			// Not an error: the batch's samples are stored already, and
			// refusing it would make the agent drop it. The state of
			// such a service is simply not followed.
			if len(known) < 2*agentServicesMax {
				// Remembered (id 0: not followed), so the warning is said
				// once per name, within a bound.
				s.log.Warn("an agent reports more services than it may create; ignoring the rest", "host", h.Name, "service", n, "max", agentServicesMax)
				known[n] = 0
			}
			continue
		}
		if !full {
			// The scheduler needs the whole host (address, domain).
			hh, err := s.st.GetHost(ctx, h.ID)
			if err != nil {
				return nil, err
			}
			h, full = hh, true
		}
		sv := inventory.Service{HostID: h.ID, Name: n, Check: checks.Spec{"kind": "agent"}, Enabled: true,
			Source: inventory.SourceAPI, Interval: inventory.Duration(interval), MaxAttempts: 1}
		if err := s.st.CreateService(ctx, &sv); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		} else if err == nil {
			if err := s.mon.ServiceChanged(sv, h, false); err != nil {
				s.log.Warn("scheduling an agent service", "host", h.Name, "service", n, "err", err)
			}
			s.opts.Hub.Inventory(state.KindService, sv.ID, "create")
		}
		known[n] = sv.ID // 0 when made meanwhile by someone else
	}
	s.agents.mu.Lock()
	s.agents.services[agentID] = known
	s.agents.mu.Unlock()
	return known, nil
}

// readAgentBody inflates a gzip or zstd body, bounded on both sides.
func readAgentBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, badField("body", "not gzip: %v", err)
		}
		defer zr.Close()
		rd = zr
	case "zstd":
		zr, err := zstd.NewReader(r.Body, zstd.WithDecoderMaxMemory(agentDecodedBytes), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, badField("body", "not zstd: %v", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, &encodingError{enc}
	}
	b, err := io.ReadAll(io.LimitReader(rd, agentDecodedBytes+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, errTooLarge(fmt.Sprintf("request body over %d bytes", mbe.Limit))
	case err != nil:
		return nil, badField("body", "reading the body: %v", err)
	case len(b) > agentDecodedBytes:
		return nil, errTooLarge(fmt.Sprintf("body inflates to over %d bytes", agentDecodedBytes))
	}
	return b, nil
}

type encodingError struct{ enc string }

func (e *encodingError) Error() string {
	return fmt.Sprintf("Content-Encoding %q is not supported: send gzip, zstd or none", e.enc)
}

type errTooLarge string

func (e errTooLarge) Error() string { return string(e) }

// agentBatches stores a push: samples into the time-series store, states
// into the agent services' results, then the batch ids; the answer comes
// after all of it, and names the batches stored (replays included), which
// the agent then deletes.
func (s *Server) agentBatches(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := agentOf(r)
	if a.HostID == 0 {
		writeError(w, http.StatusConflict, "not_enrolled", "enrol first: POST /api/v1/agent/enrol")
		return
	}
	// The slot is taken before the body is read: pushes waiting for one
	// cost no CPU (their bodies wait in the sockets), so a fleet coming
	// back at once queues instead of decoding all at once.
	select {
	case s.agents.ingest <- struct{}{}:
		defer func() { <-s.agents.ingest }()
	case <-time.After(5 * time.Second):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "busy", "too many agents pushing at once; retry later")
		return
	case <-ctx.Done():
		return
	}
	body, err := readAgentBody(r)
	var (
		ee *encodingError
		tl errTooLarge
	)
	switch {
	case errors.As(err, &ee):
		writeError(w, http.StatusUnsupportedMediaType, "unsupported", err.Error())
		return
	case errors.As(err, &tl):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
		return
	case err != nil:
		s.writeErr(w, err)
		return
	}
	// Unknown fields are ignored, not refused: a newer agent talking to
	// an older server must not have its batches refused for good (and
	// dropped) for a field this server does not know.
	var p agent.Push
	if err := json.Unmarshal(body, &p); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "decoding the push: "+err.Error())
		return
	}
	if err := agent.ValidatePush(&p); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	now := time.Now()
	for i, b := range p.Batches {
		if b.Time.After(now.Add(agentFuture)) {
			// Its own code: the agent keeps such batches and retries (the
			// server's clock catches up, or the agent's gets fixed).
			writeFieldError(w, http.StatusBadRequest, "clock_ahead", fmt.Sprintf("batches[%d].time", i),
				fmt.Sprintf("batches[%d].time: %s is ahead of the server's clock (%s): check the agent's clock", i, b.Time.Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
			return
		}
	}
	if s.opts.Samples == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the time-series store is off")
		return
	}
	l := s.agents.lock(a.ID)
	l.Lock()
	defer l.Unlock()

	ids := make([]string, 0, len(p.Batches))
	for _, b := range p.Batches {
		ids = append(ids, b.ID)
	}
	seen, err := s.st.SeenAgentBatches(ctx, a.ID, ids)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var fresh []agent.Batch
	var freshIDs []string
	dups := 0
	for _, b := range p.Batches {
		if seen[b.ID] {
			dups++
			continue
		}
		seen[b.ID] = true // twice in one push counts once
		fresh = append(fresh, b)
		freshIDs = append(freshIDs, b.ID)
	}
	samples := samplesOfBatches(a.Host, fresh)
	refused := 0
	if len(samples) > 0 {
		err := s.opts.Samples.Append(ctx, samples)
		var re *metrics.RefusedError
		switch {
		case err == nil:
		case errors.As(err, &re):
			// Too old or a second value at one time (a replay after a
			// lost batch id): the rest is stored; retrying cannot help.
			refused = len(re.Refused)
		case errors.Is(err, metrics.ErrIngestionStopped):
			w.Header().Set("Retry-After", "60")
			writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
			return
		default:
			s.writeErr(w, fmt.Errorf("storing agent samples: %w", err))
			return
		}
	}
	var names []string
	for _, b := range fresh {
		for _, rs := range b.Results {
			names = append(names, rs.Service)
		}
	}
	svcIDs, err := s.ensureAgentServices(ctx, a.ID, inventory.Host{ID: a.HostID, Name: a.Host}, names, p.Interval.D())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if s.opts.Agents != nil {
		newest := map[string]int{}
		for _, b := range fresh {
			s.opts.Agents.Report(a.Host, b.Time, b.Results)
			for _, r := range b.Results {
				newest[r.Service] = r.State
			}
		}
		s.opts.Agents.Seen(a.Host, p.Interval.D())
		// A changed state is checked at once rather than at the
		// service's next turn, so alarms do not wait an interval.
		for name, st := range newest {
			if id := svcIDs[name]; id != 0 {
				if cur, ok := s.mon.Status(state.KindService, id); !ok || !cur.Checked || cur.State != st {
					s.mon.RunNow(state.KindService, id)
				}
			}
		}
	}
	// The newest result of each service is stored with the batch ids,
	// before the answer: a server restart does not forget the states.
	var latest []agent.TimedResult
	at := map[string]int{}
	for _, b := range fresh {
		for _, r := range b.Results {
			if i, ok := at[r.Service]; ok {
				if !b.Time.Before(latest[i].At) {
					latest[i] = agent.TimedResult{Result: r, At: b.Time}
				}
				continue
			}
			at[r.Service] = len(latest)
			latest = append(latest, agent.TimedResult{Result: r, At: b.Time})
		}
	}
	if err := s.st.AddAgentBatches(ctx, a.ID, freshIDs, now, p.Interval.D(), latest); err != nil {
		s.writeErr(w, err)
		return
	}
	s.pruneAgentBatches(ctx, now)
	s.agents.mu.Lock()
	if s.agents.order == nil {
		s.agents.order = map[int64]seqMark{}
	}
	mark := s.agents.order[a.ID]
	for _, b := range fresh {
		epoch := b.ID[:max(0, strings.LastIndexByte(b.ID, '-'))]
		if epoch == mark.epoch && b.Seq <= mark.seq {
			s.agentBatchesIn.WithLabelValues("out_of_order").Inc()
			continue
		}
		mark = seqMark{epoch, b.Seq}
	}
	s.agents.order[a.ID] = mark
	s.agents.mu.Unlock()
	s.agentBatchesIn.WithLabelValues("stored").Add(float64(len(fresh)))
	s.agentBatchesIn.WithLabelValues("duplicate").Add(float64(dups))
	s.agentSamples.WithLabelValues("stored").Add(float64(len(samples) - refused))
	s.agentSamples.WithLabelValues("refused").Add(float64(refused))
	if refused > 0 {
		s.log.Warn("agent samples refused by the time-series store (older than its out-of-order window, or a second value at one time)",
			"agent", a.Name, "host", a.Host, "refused", refused, "of", len(samples))
	}
	ans := agent.PushAnswer{Stored: ids, Duplicates: dups, Refused: refused}
	if a.Desired.Version > 0 {
		ans.Desired = &a.Desired
	}
	writeJSON(w, http.StatusOK, ans)
}

// pruneAgentBatches forgets old batch ids, at most once an hour.
func (s *Server) pruneAgentBatches(ctx context.Context, now time.Time) {
	s.agents.mu.Lock()
	due := now.Sub(s.agents.lastPrune) > time.Hour
	if due {
		s.agents.lastPrune = now
	}
	s.agents.mu.Unlock()
	if due {
		if _, err := s.st.PruneAgentBatches(ctx, now.Add(-agentBatchIDsKept)); err != nil {
			s.log.Warn("pruning agent batch ids", "err", err)
		}
	}
}

// samplesOfBatches names agent values as check perfdata is named, so the
// host dashboard shows them with no more configuration:
// perfdata{host, service, metric, unit}, perfdata_total for counters.
func samplesOfBatches(host string, bs []agent.Batch) []metrics.Sample {
	n := 0
	for _, b := range bs {
		n += len(b.Samples)
	}
	out := make([]metrics.Sample, 0, n)
	for _, b := range bs {
		for _, x := range b.Samples {
			name := "perfdata"
			if x.Unit == "c" {
				name = "perfdata_total"
			}
			l := map[string]string{"__name__": name, "host": host, "service": x.Service, "metric": x.Metric}
			if x.Unit != "" {
				l["unit"] = x.Unit
			}
			out = append(out, metrics.Sample{Labels: l, T: b.Time, V: x.Value})
		}
	}
	return out
}
