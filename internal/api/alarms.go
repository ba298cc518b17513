package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/events"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// Alarms is the alarm engine as the API drives it: events in, operators'
// actions.
type Alarms interface {
	events.Sink
	Act(ctx context.Context, id int64, act alarms.Action) (alarms.Alarm, error)
	Delete(ctx context.Context, id int64) error
	// CreateMaintenance validates (an *alarms.FieldError names the field),
	// stores and applies a maintenance window; DeleteMaintenance ends one.
	CreateMaintenance(ctx context.Context, m *alarms.Maintenance) error
	DeleteMaintenance(ctx context.Context, id int64) error
}

// eventsBody bounds POST /api/v1/events as the decoder does (413 past it).
func (s *Server) eventsBody() int64 { return events.MaxDecodeBytes }

// decodeEvents reads the body of POST /api/v1/events with the Canopsis
// decoder every source shares, and names the field at fault as it is in
// the request: "state" for one event, "events[2].state" in an array. An
// error about the whole document has no field.
func decodeEvents(data []byte, now time.Time) ([]events.Event, error) {
	evs, err := events.DecodeAt(data, now)
	if err == nil {
		return evs, nil
	}
	var de *events.DecodeError
	if !errors.As(err, &de) {
		return nil, &fieldError{msg: err.Error()}
	}
	field := de.Field
	if de.Index >= 0 {
		field = fmt.Sprintf("events[%d]", de.Index)
		if de.Field != "" {
			field += "." + de.Field
		}
	}
	return nil, &fieldError{field: field, msg: de.Msg}
}

// postEvents takes one event or a batch and answers 202 once the alarm
// engine has stored them: an answered event is never lost.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	if s.opts.Alarms == nil {
		s.eventsRefused.WithLabelValues("unavailable").Inc()
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the alarm engine is not running")
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.eventsRefused.WithLabelValues("too_large").Inc()
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", mbe.Limit))
			return
		}
		s.eventsRefused.WithLabelValues("invalid").Inc()
		writeError(w, http.StatusBadRequest, "invalid_body", "reading the request body: "+err.Error())
		return
	}
	evs, err := decodeEvents(data, time.Now())
	if err != nil {
		s.eventsRefused.WithLabelValues("invalid").Inc()
		var fe *fieldError
		if errors.As(err, &fe) && fe.field == "" {
			writeError(w, http.StatusBadRequest, "invalid_body", fe.msg)
			return
		}
		s.writeErr(w, err)
		return
	}
	if err := s.opts.Alarms.Ingest(r.Context(), evs); err != nil {
		var fe *alarms.FieldError
		if errors.As(err, &fe) {
			s.eventsRefused.WithLabelValues("invalid").Inc()
			writeFieldError(w, http.StatusBadRequest, "invalid", fe.Field, err.Error())
			return
		}
		s.eventsRefused.WithLabelValues("unavailable").Inc()
		s.log.Error("storing events", "err", err, "events", len(evs))
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the events could not be stored; send them again")
		return
	}
	s.eventsIn.Add(float64(len(evs)))
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": len(evs)})
}

func (s *Server) alertmanager(w http.ResponseWriter, r *http.Request) {
	if s.opts.Alertmanager == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no Alertmanager integration")
		return
	}
	s.opts.Alertmanager.ServeHTTP(w, r)
}

// listLogs lists the log events, which open no alarm.
func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := alarms.LogFilter{Component: q.Get("component"), Connector: q.Get("connector"), Search: q.Get("search"), Domains: scopeOf(r.Context())}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.writeErr(w, badField(p.name, "must be an RFC 3339 time"))
				return
			}
			*p.dst = t
		}
	}
	pg, err := page(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	f.Limit, f.Before = pg.Limit+1, pg.After
	l, err := s.st.ListLogs(r.Context(), f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	l, next := pageOf(l, pg.Limit, func(e alarms.LogEvent) int64 { return e.ID })
	writeJSON(w, http.StatusOK, list{Items: l, NextCursor: next})
}

// alarmFilter reads the list's query parameters.
func alarmFilter(r *http.Request) (alarms.Filter, error) {
	q := r.URL.Query()
	f := alarms.Filter{Component: q.Get("component"), Resource: q.Get("resource"), Connector: q.Get("connector"),
		Search: q.Get("search"), Domain: q.Get("domain"), Group: q.Get("group"), Domains: scopeOf(r.Context())}
	if v := q.Get("snoozed"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, badField("snoozed", "must be true or false")
		}
		f.Snoozed, f.SnoozedAt = &b, time.Now()
	}
	if v := q.Get("state"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3 {
			return f, badField("state", "must be 0..3")
		}
		f.State = &n
	}
	if v := q.Get("criticality"); v != "" {
		if !alarms.ValidCriticality(v) {
			return f, badField("criticality", "must be green, orange or red")
		}
		f.Criticality = v
	}
	if v := q.Get("ack"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, badField("ack", "must be true or false")
		}
		f.Acked = &b
	}
	if v := q.Get("flapping"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, badField("flapping", "must be true or false")
		}
		f.Flapping = &b
	}
	switch v := q.Get("status"); v {
	case "", alarms.StatusOpen, alarms.StatusResolved, alarms.StatusArchived, alarms.StatusFlapping:
		f.Status = v
	default:
		return f, badField("status", "must be open, resolved, archived or flapping")
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, badField(p.name, "must be an RFC 3339 time")
			}
			*p.dst = t
		}
	}
	sort, err := alarmSort(q.Get("sort"))
	if err != nil {
		return f, err
	}
	f.Sort = sort
	if sort.Key != "" {
		// A sorted list's cursor is opaque (see sortCursor); page reads
		// the limit only.
		if v := q.Get("cursor"); v != "" {
			if f.After, err = decodeSortCursor(v, sort); err != nil {
				return f, err
			}
		}
		q.Del("cursor")
		r = r.Clone(r.Context())
		r.URL.RawQuery = q.Encode()
	}
	pg, err := page(r)
	if err != nil {
		return f, err
	}
	f.Limit, f.Before = pg.Limit, pg.After
	return f, nil
}

// alarmSort reads sort=: a key of alarms.SortKeys, descending with a
// leading "-"; empty is the default, newest first.
func alarmSort(v string) (alarms.Sort, error) {
	if v == "" {
		return alarms.Sort{}, nil
	}
	key, desc := strings.CutPrefix(v, "-")
	if !slices.Contains(alarms.SortKeys, key) {
		return alarms.Sort{}, badField("sort", "must be one of %s, with a leading - for descending", strings.Join(alarms.SortKeys, ", "))
	}
	return alarms.Sort{Key: key, Desc: desc}, nil
}

// sortCursor is the cursor of a sorted alarm list, sent as base64url
// JSON: the sort it belongs to and where the page ended. The sort is in
// it so that a cursor used with another sort is refused, not
// misread.
type sortCursor struct {
	Sort string `json:"sort"`
	alarms.Cursor
}

func encodeSortCursor(s alarms.Sort, a *alarms.Alarm) string {
	c := sortCursor{Sort: s.Key, Cursor: s.CursorOf(a)}
	if s.Desc {
		c.Sort = "-" + s.Key
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSortCursor(v string, s alarms.Sort) (*alarms.Cursor, error) {
	var c sortCursor
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	want := s.Key
	if s.Desc {
		want = "-" + want
	}
	if err != nil || c.ID < 1 {
		return nil, badField("cursor", "is not a cursor from a previous answer")
	}
	if c.Sort != want {
		return nil, badField("cursor", "belongs to sort=%s, not sort=%s", c.Sort, want)
	}
	return &c.Cursor, nil
}

func (s *Server) listAlarms(w http.ResponseWriter, r *http.Request) {
	f, err := alarmFilter(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	limit := f.Limit
	f.Limit++
	l, err := s.st.ListAlarms(r.Context(), f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var next string
	if f.Sort.Key == "" {
		l, next = pageOf(l, limit, func(a alarms.Alarm) int64 { return a.ID })
	} else if len(l) > limit {
		// As pageOf: a next cursor only when a row beyond the page exists.
		l = l[:limit]
		next = encodeSortCursor(f.Sort, &l[limit-1])
	}
	writeJSON(w, http.StatusOK, list{Items: l, NextCursor: next})
}

// countAlarms counts the alarms the list would give for the same filters
// (all pages), by criticality: the console's tiles and header.
func (s *Server) countAlarms(w http.ResponseWriter, r *http.Request) {
	f, err := alarmFilter(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	c, err := s.st.CountAlarms(r.Context(), f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// alarmInScope reads an alarm the caller may see; others are not found.
func (s *Server) alarmInScope(ctx context.Context, idText string) (alarms.Alarm, error) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id < 1 {
		return alarms.Alarm{}, badField("id", "must be an alarm id")
	}
	a, err := s.st.GetAlarm(ctx, id)
	if err != nil {
		return a, err
	}
	if scope := scopeOf(ctx); scope != nil && !slices.Contains(scope, a.Domain) {
		hosts, err := s.st.ListHosts(ctx, store.HostFilter{Name: a.Component, Domains: scope, Page: store.Page{Limit: 1}})
		if err != nil {
			return a, err
		}
		if len(hosts) == 0 {
			return alarms.Alarm{}, fmt.Errorf("alarm %d: %w", id, store.ErrNotFound)
		}
	}
	return a, nil
}

func (s *Server) getAlarm(w http.ResponseWriter, r *http.Request) {
	a, err := s.alarmInScope(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if a.Steps, err = s.st.ListSteps(r.Context(), a.ID); err != nil {
		s.writeErr(w, err)
		return
	}
	if a.Steps == nil {
		a.Steps = []alarms.Step{}
	}
	writeJSON(w, http.StatusOK, a)
}

// actionInput is the body of an action; each action reads its fields.
type actionInput struct {
	Comment     string    `json:"comment"`
	Until       time.Time `json:"until"`
	Criticality string    `json:"criticality"`
	Lock        bool      `json:"lock"`
	Users       []string  `json:"users"`
	// Teams transfer to every enabled user of these teams, as they are now.
	Teams []string `json:"teams"`
}

// bulkInput is the body of a bulk action.
type bulkInput struct {
	IDs    []int64 `json:"ids"`
	Action string  `json:"action"`
	actionInput
}

// actionPerm is the permission each action needs.
var actionPerm = map[string]auth.Permission{
	alarms.StepAck: auth.PermAlarmsAck, alarms.StepUnack: auth.PermAlarmsAck, alarms.StepComment: auth.PermAlarmsAck,
	alarms.StepCriticality: auth.PermAlarmsAck, alarms.StepCancel: auth.PermAlarmsAck,
	alarms.StepSnooze: auth.PermAlarmsSnooze, alarms.StepTransfer: auth.PermAlarmsTransfer, alarms.StepArchive: auth.PermAlarmsArchive,
	"delete": auth.PermAlarmsDelete,
}

// action builds the engine's action from a body, checking the fields it
// needs.
func action(typ string, in actionInput, author string) (alarms.Action, error) {
	act := alarms.Action{Type: typ, Author: author, Comment: in.Comment, Until: in.Until, Criticality: in.Criticality, Lock: in.Lock, Users: in.Users}
	if len(in.Comment) > 4096 {
		return act, badField("comment", "must be at most 4096 bytes")
	}
	switch typ {
	case alarms.StepComment:
		if strings.TrimSpace(in.Comment) == "" {
			return act, badField("comment", "is required")
		}
	case alarms.StepSnooze:
		if in.Until.IsZero() {
			return act, badField("until", "is required (RFC 3339)")
		}
		if !in.Until.After(time.Now()) {
			return act, badField("until", "must be in the future")
		}
	case alarms.StepCriticality:
		if !alarms.ValidCriticality(in.Criticality) {
			return act, badField("criticality", "must be green, orange or red")
		}
	case alarms.StepTransfer:
		if len(in.Users)+len(in.Teams) == 0 || len(in.Users) > 100 || len(in.Teams) > 100 {
			return act, badField("users", "must list 1 to 100 users, or teams 1 to 100 teams")
		}
		for i, u := range in.Users {
			if u == "" || len(u) > 255 {
				return act, badField(fmt.Sprintf("users[%d]", i), "must be a login")
			}
		}
		for i, t := range in.Teams {
			if t == "" || len(t) > 255 {
				return act, badField(fmt.Sprintf("teams[%d]", i), "must be a team name")
			}
		}
		act.Teams = in.Teams
	}
	return act, nil
}

// alarmAction serves POST /api/v1/alarms/{id}/{action}: the route table
// has one route per action, each with its permission.
func alarmAction(typ string) func(*Server, http.ResponseWriter, *http.Request) {
	return func(s *Server, w http.ResponseWriter, r *http.Request) {
		var in actionInput
		if !decodeOptionalBody(w, r, &in) {
			return
		}
		act, err := action(typ, in, principal(r).User.Login)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		if act.Type == alarms.StepTransfer {
			if err := s.transferees(r.Context(), &act); err != nil {
				s.writeErr(w, err)
				return
			}
		}
		a, err := s.alarmInScope(r.Context(), r.PathValue("id"))
		if err != nil {
			s.writeErr(w, err)
			return
		}
		a, err = s.opts.Alarms.Act(r.Context(), a.ID, act)
		if err != nil {
			s.writeActionErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	}
}

// decodeOptionalBody is decodeBody for actions whose fields are all
// optional: an empty body is an empty object.
func decodeOptionalBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", mbe.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid_body", "reading the request body: "+err.Error())
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return decodeBody(w, r, v)
}

// transferees checks a transfer's users and adds the enabled members of
// its teams, as they are now (a team's later members do not inherit it).
func (s *Server) transferees(ctx context.Context, act *alarms.Action) error {
	for i, l := range act.Users {
		if _, err := s.st.GetUserByLogin(ctx, l); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return badField(fmt.Sprintf("users[%d]", i), "no user %q", l)
			}
			return err
		}
	}
	if len(act.Teams) == 0 {
		return nil
	}
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		return err
	}
	for i, team := range act.Teams {
		found := false
		for _, u := range users {
			if !u.Disabled && slices.Contains(u.Teams, team) {
				found = true
				if !slices.Contains(act.Users, u.Login) {
					act.Users = append(act.Users, u.Login)
				}
			}
		}
		if !found {
			return badField(fmt.Sprintf("teams[%d]", i), "no enabled user is in team %q", team)
		}
	}
	return nil
}

func (s *Server) writeActionErr(w http.ResponseWriter, err error) {
	if errors.Is(err, alarms.ErrNotOpen) || errors.Is(err, alarms.ErrInvalidAction) {
		writeError(w, http.StatusConflict, "invalid_action", err.Error())
		return
	}
	s.writeErr(w, err)
}

// deleteAlarm purges an alarm, or with archive=true archives it instead
// (kept and searchable).
func (s *Server) deleteAlarm(w http.ResponseWriter, r *http.Request) {
	archive := false
	if v := r.URL.Query().Get("archive"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.writeErr(w, badField("archive", "must be true or false"))
			return
		}
		archive = b
	}
	a, err := s.alarmInScope(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if archive {
		if !principal(r).Can(auth.PermAlarmsArchive) {
			writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("role %q lacks permission %s", principal(r).User.Role, auth.PermAlarmsArchive))
			return
		}
		if a.Status != alarms.StatusArchived {
			if a, err = s.opts.Alarms.Act(r.Context(), a.ID, alarms.Action{Type: alarms.StepArchive, Author: principal(r).User.Login}); err != nil {
				s.writeActionErr(w, err)
				return
			}
		}
		writeJSON(w, http.StatusOK, a)
		return
	}
	if err := s.opts.Alarms.Delete(r.Context(), a.ID); err != nil {
		s.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// bulkResult is the outcome of a bulk action for one alarm.
type bulkResult struct {
	ID    int64         `json:"id"`
	OK    bool          `json:"ok"`
	Error string        `json:"error,omitempty"`
	Alarm *alarms.Alarm `json:"alarm,omitempty"`
}

const maxBulk = 1000

// bulkAlarms applies one action to many alarms; each alarm gets its own
// outcome. The route needs alarms.read; the action's own permission is
// checked here.
func (s *Server) bulkAlarms(w http.ResponseWriter, r *http.Request) {
	var in bulkInput
	if !decodeBody(w, r, &in) {
		return
	}
	perm, ok := actionPerm[in.Action]
	if !ok {
		s.writeErr(w, badField("action", "must be one of ack, unack, comment, snooze, criticality, cancel, archive, transfer, delete"))
		return
	}
	if len(in.IDs) == 0 || len(in.IDs) > maxBulk {
		s.writeErr(w, badField("ids", "must list 1 to %d alarm ids", maxBulk))
		return
	}
	p := principal(r)
	if !p.Can(perm) {
		writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("role %q lacks permission %s", p.User.Role, perm))
		return
	}
	var act alarms.Action
	if in.Action != "delete" {
		var err error
		if act, err = action(in.Action, in.actionInput, p.User.Login); err != nil {
			s.writeErr(w, err)
			return
		}
		if act.Type == alarms.StepTransfer {
			if err := s.transferees(r.Context(), &act); err != nil {
				s.writeErr(w, err)
				return
			}
		}
	}
	out := make([]bulkResult, 0, len(in.IDs))
	for _, id := range in.IDs {
		res := bulkResult{ID: id}
		a, err := s.alarmInScope(r.Context(), strconv.FormatInt(id, 10))
		if err == nil {
			if in.Action == "delete" {
				err = s.opts.Alarms.Delete(r.Context(), a.ID)
			} else if a, err = s.opts.Alarms.Act(r.Context(), a.ID, act); err == nil {
				res.Alarm = &a
			}
		}
		var fe *fieldError
		switch {
		case err == nil:
			res.OK = true
		case errors.Is(err, store.ErrNotFound):
			res.Error = "not found"
		case errors.Is(err, alarms.ErrNotOpen), errors.Is(err, alarms.ErrInvalidAction), errors.As(err, &fe):
			res.Error = err.Error()
		default:
			s.log.Error("bulk alarm action", "action", in.Action, "alarm", id, "err", err)
			res.Error = "internal error"
		}
		out = append(out, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
}
