package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/events/rules"
)

// ruleError answers a rules error: 400 naming the key of an invalid
// rule ("match[0].regex"), 404, 409.
func (s *Server) ruleError(w http.ResponseWriter, prefix string, err error) {
	var re *rules.Error
	switch {
	case errors.As(err, &re):
		writeFieldError(w, http.StatusBadRequest, "invalid", prefix+re.Key, prefix+re.Key+": "+re.Msg)
	case errors.Is(err, rules.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, rules.ErrManagedByConfig):
		writeError(w, http.StatusConflict, "managed_by_config", err.Error())
	case errors.Is(err, rules.ErrExists):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		s.writeErr(w, err)
	}
}

func (s *Server) rulesReady(w http.ResponseWriter) bool {
	if s.opts.Rules == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "qualification rules are not available")
		return false
	}
	return true
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) {
	if !s.rulesReady(w) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": s.opts.Rules.List()})
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) {
	if !s.rulesReady(w) {
		return
	}
	s.answerRule(w, http.StatusOK, r.PathValue("id"))
}

// ruleInput is a rule with where to put it among the API's rules.
type ruleInput struct {
	rules.Rule
	Position *int `json:"position,omitempty"`
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) {
	if !s.rulesReady(w) {
		return
	}
	var in ruleInput
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Position != nil && *in.Position < 0 {
		s.writeErr(w, badField("position", "must be 0 or more"))
		return
	}
	if err := s.opts.Rules.Create(r.Context(), in.Rule, in.Position); err != nil {
		s.ruleError(w, "", err)
		return
	}
	s.answerRule(w, http.StatusCreated, in.Name)
}

func (s *Server) updateRule(w http.ResponseWriter, r *http.Request) {
	if !s.rulesReady(w) {
		return
	}
	var in ruleInput
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Position != nil && *in.Position < 0 {
		s.writeErr(w, badField("position", "must be 0 or more"))
		return
	}
	if in.Name == "" {
		in.Name = r.PathValue("id")
	}
	if err := s.opts.Rules.UpdateAt(r.Context(), r.PathValue("id"), in.Rule, in.Position); err != nil {
		s.ruleError(w, "", err)
		return
	}
	s.answerRule(w, http.StatusOK, in.Name)
}

func (s *Server) answerRule(w http.ResponseWriter, status int, name string) {
	l, err := s.opts.Rules.Get(name)
	if err != nil {
		s.ruleError(w, "", err)
		return
	}
	writeJSON(w, status, l)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) {
	if !s.rulesReady(w) {
		return
	}
	if err := s.opts.Rules.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.ruleError(w, "", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dryRunInput names a stored rule or gives one; with neither, every rule
// in force applies. Event is in the Canopsis form POST /api/v1/events
// takes.
type dryRunInput struct {
	Rule  *rules.Rule     `json:"rule,omitempty"`
	Name  string          `json:"name,omitempty"`
	Event json.RawMessage `json:"event"`
}

type dryRunResult struct {
	Matched bool         `json:"matched"`
	Rules   []string     `json:"rules"`
	Dropped bool         `json:"dropped"`
	Event   events.Event `json:"event"`
}

// dryRun shows what a rule (or the rules in force) would do to a sample
// event, counting no hit.
func (s *Server) dryRun(w http.ResponseWriter, r *http.Request) {
	if !s.rulesReady(w) {
		return
	}
	var in dryRunInput
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Rule != nil && in.Name != "" {
		s.writeErr(w, badField("name", "give rule or name, not both"))
		return
	}
	if len(in.Event) == 0 || string(in.Event) == "null" {
		s.writeErr(w, badField("event", "is required: an event in the Canopsis form"))
		return
	}
	if b := in.Event; len(b) > 0 && b[0] == '[' {
		s.writeErr(w, badField("event", "must be one event, not an array"))
		return
	}
	evs, err := events.DecodeAt(in.Event, time.Now())
	if err != nil {
		var de *events.DecodeError
		if errors.As(err, &de) && de.Field != "" {
			s.writeErr(w, badField("event."+de.Field, "%s", de.Msg))
			return
		}
		s.writeErr(w, badField("event", "%v", err))
		return
	}
	var (
		out events.Event
		res rules.Result
	)
	switch {
	case in.Rule != nil:
		out, res, err = rules.DryRunRule(*in.Rule, evs[0])
		if err != nil {
			s.ruleError(w, "rule.", err)
			return
		}
	case in.Name != "":
		l, err := s.opts.Rules.Get(in.Name)
		if err != nil {
			s.ruleError(w, "", err)
			return
		}
		out, res, _ = rules.DryRunRule(l.Rule, evs[0])
	default:
		out, res = s.opts.Rules.DryRun(evs[0])
	}
	if res.Matched == nil {
		res.Matched = []string{}
	}
	writeJSON(w, http.StatusOK, dryRunResult{Matched: len(res.Matched) > 0, Rules: res.Matched, Dropped: res.Dropped, Event: out})
}
