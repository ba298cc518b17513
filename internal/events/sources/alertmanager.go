package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// AlertmanagerPath is where Alertmanager's webhook receiver posts.
const AlertmanagerPath = "/api/v1/integrations/alertmanager"

// AlertmanagerOptions bounds the webhook handler.
type AlertmanagerOptions struct {
	// MaxBodyBytes bounds a request body (default 1 MiB): 413 past it.
	MaxBodyBytes int64
	// MaxAlerts bounds the alerts of one notification (default 1000).
	MaxAlerts  int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// amWebhook is Alertmanager's webhook payload, version 4.
type amWebhook struct {
	Version  string    `json:"version"`
	Receiver string    `json:"receiver"`
	Status   string    `json:"status"`
	Alerts   []amAlert `json:"alerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

type alertmanager struct {
	opts  AlertmanagerOptions
	sink  events.Sink
	log   *slog.Logger
	count *counters
}

// NewAlertmanager returns the handler for Alertmanager webhook
// notifications (POST, JSON version 4). Each alert becomes an event:
// connector "alertmanager", connector_name the receiver, component the
// instance (or job) label, resource the alertname, state from the
// severity label (critical 3; warning, major 2; info, minor 1; otherwise 2
// while firing) and 0 once resolved, output the summary or description.
// It answers 200 once the events are stored, 400 naming the field on a
// bad payload, 413 past the size bound and 503 when the sink fails (so
// that Alertmanager retries). Routing and authentication are the caller's.
func NewAlertmanager(opts AlertmanagerOptions, sink events.Sink) http.Handler {
	opts.MaxBodyBytes = orDefault(opts.MaxBodyBytes, 1<<20)
	opts.MaxAlerts = orDefault(opts.MaxAlerts, 1000)
	return &alertmanager{opts: opts, sink: sink, log: logger(opts.Logger, "alertmanager"), count: newCounters(opts.Registerer, "alertmanager", logger(opts.Logger, "alertmanager"))}
}

func (h *alertmanager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		jsonError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", "use POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.count.refuse(ReasonTooLarge, 1)
			h.count.warn("alertmanager notification refused: too large", "remote", r.RemoteAddr, "max_bytes", h.opts.MaxBodyBytes)
			jsonError(w, http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("body is larger than %d bytes", h.opts.MaxBodyBytes))
			return
		}
		jsonError(w, http.StatusBadRequest, "invalid_body", "", "reading the body: "+err.Error())
		return
	}
	evs, err := decodeAlertmanager(body, h.opts.MaxAlerts, time.Now())
	if err != nil {
		h.count.warn("alertmanager notification refused", "remote", r.RemoteAddr, "err", err)
		var fe *fieldError
		if errors.As(err, &fe) {
			h.count.refuse(ReasonInvalid, 1)
			jsonError(w, http.StatusBadRequest, "invalid", fe.field, err.Error())
			return
		}
		h.count.refuse(ReasonParse, 1)
		jsonError(w, http.StatusBadRequest, "invalid_body", "", err.Error())
		return
	}
	if err := h.sink.Ingest(r.Context(), evs); err != nil {
		h.count.refuse(ReasonSink, len(evs))
		h.log.Error("storing alertmanager events", "err", err, "events", len(evs))
		jsonError(w, http.StatusServiceUnavailable, "unavailable", "", "events could not be stored; retry")
		return
	}
	h.count.received.Add(float64(len(evs)))
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"received":%d}`+"\n", len(evs))
}

var errAMSyntax = errors.New("malformed JSON")

// decodeAlertmanager turns a webhook payload into events, or says which
// field is wrong.
func decodeAlertmanager(body []byte, maxAlerts int, now time.Time) ([]events.Event, error) {
	var p amWebhook
	if err := json.Unmarshal(body, &p); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return nil, &fieldError{te.Field, fmt.Sprintf("must not be a JSON %s", te.Value)}
		case errors.As(err, &se):
			return nil, fmt.Errorf("%w at byte %d: %v", errAMSyntax, se.Offset, se)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%w: want an object, not a JSON %s", errAMSyntax, te.Value)
		}
		var pe *time.ParseError
		if errors.As(err, &pe) {
			return nil, &fieldError{"alerts", fmt.Sprintf("startsAt and endsAt must be RFC 3339 times: %v", pe)}
		}
		return nil, fmt.Errorf("%w: %v", errAMSyntax, err)
	}
	if p.Version != "4" {
		return nil, &fieldError{"version", fmt.Sprintf("must be \"4\", not %q", clipName(p.Version))}
	}
	if p.Receiver == "" || len(p.Receiver) > events.MaxNameBytes {
		return nil, &fieldError{"receiver", fmt.Sprintf("is required, at most %d bytes", events.MaxNameBytes)}
	}
	if len(p.Alerts) == 0 {
		return nil, &fieldError{"alerts", "is empty"}
	}
	if len(p.Alerts) > maxAlerts {
		return nil, &fieldError{"alerts", fmt.Sprintf("%d alerts, at most %d", len(p.Alerts), maxAlerts)}
	}
	evs := make([]events.Event, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		ev, err := alertEvent(p.Receiver, a, now)
		if err != nil {
			return nil, &fieldError{fmt.Sprintf("alerts[%d].%s", i, err.field), err.msg}
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// fieldError names a field below an alert.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func alertEvent(receiver string, a amAlert, now time.Time) (events.Event, *fieldError) {
	component := a.Labels["instance"]
	if component == "" {
		component = a.Labels["job"]
	}
	if component == "" {
		return events.Event{}, &fieldError{"labels.instance", "is required (or labels.job)"}
	}
	resource := a.Labels["alertname"]
	if resource == "" {
		return events.Event{}, &fieldError{"labels.alertname", "is required"}
	}
	if len(component) > events.MaxNameBytes || len(resource) > events.MaxNameBytes {
		return events.Event{}, &fieldError{"labels", fmt.Sprintf("instance, job and alertname are at most %d bytes", events.MaxNameBytes)}
	}
	if len(a.Labels)+len(a.Annotations) > events.MaxTags {
		return events.Event{}, &fieldError{"labels", fmt.Sprintf("more than %d labels and annotations", events.MaxTags)}
	}
	ev := events.Event{
		Connector:     "alertmanager",
		ConnectorName: receiver,
		EventType:     events.TypeCheck,
		SourceType:    "resource",
		Component:     component,
		Resource:      resource,
		Time:          now.UTC(),
		Tags:          make(map[string]string, len(a.Labels)+1),
	}
	switch a.Status {
	case "firing":
		ev.State = amState(a.Labels["severity"])
		if !a.StartsAt.IsZero() {
			ev.Time = a.StartsAt.UTC()
		}
	case "resolved":
		ev.State = events.StateOK
		if !a.EndsAt.IsZero() {
			ev.Time = a.EndsAt.UTC()
		}
	default:
		return events.Event{}, &fieldError{"status", fmt.Sprintf("must be firing or resolved, not %q", clipName(a.Status))}
	}
	switch ev.State {
	case events.StateCritical:
		ev.Criticality = events.Red
	case events.StateMajor:
		ev.Criticality = events.Orange
	case events.StateMinor:
		ev.Criticality = events.Green
	}
	ev.Output = a.Annotations["summary"]
	if ev.Output == "" {
		ev.Output = a.Annotations["description"]
	} else {
		ev.LongOutput = a.Annotations["description"]
	}
	if len(ev.Output) > events.MaxOutputBytes || len(ev.LongOutput) > events.MaxOutputBytes {
		return events.Event{}, &fieldError{"annotations", fmt.Sprintf("summary and description are at most %d bytes", events.MaxOutputBytes)}
	}
	for k, v := range a.Labels {
		if len(k) > events.MaxTagKeyBytes || len(v) > events.MaxTagValueByte {
			return events.Event{}, &fieldError{"labels." + clipName(k), "is too long"}
		}
		ev.Tags[k] = v
	}
	if a.Fingerprint != "" {
		ev.Tags["alertmanager_fingerprint"] = clipName(a.Fingerprint)
	}
	return ev, nil
}

// amState maps Alertmanager's severity label to an event state.
func amState(severity string) int {
	switch strings.ToLower(severity) {
	case "critical":
		return events.StateCritical
	case "warning", "major":
		return events.StateMajor
	case "info", "minor":
		return events.StateMinor
	}
	return events.StateMajor
}

// jsonError writes the API's error form, with the field at fault when
// there is one.
func jsonError(w http.ResponseWriter, status int, code, field, msg string) {
	e := map[string]string{"code": code, "message": msg}
	if field != "" {
		e["field"] = field
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}
