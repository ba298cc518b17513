package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/vigie-monitoring/vigie/internal/alarms"
)

func (s *Server) maintenances() (Alarms, bool) {
	return s.opts.Alarms, s.opts.Alarms != nil
}

// listMaintenances lists the maintenance windows, oldest first.
func (s *Server) listMaintenances(w http.ResponseWriter, r *http.Request) {
	l, err := s.st.ListMaintenances(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if l == nil {
		l = []alarms.Maintenance{}
	}
	writeJSON(w, http.StatusOK, list{Items: l})
}

// createMaintenance stores a window and applies it to the open alarms.
func (s *Server) createMaintenance(w http.ResponseWriter, r *http.Request) {
	eng, ok := s.maintenances()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the alarm engine is not running")
		return
	}
	var m alarms.Maintenance
	if !decodeBody(w, r, &m) {
		return
	}
	m.ID, m.Author = 0, principal(r).User.Login
	if err := eng.CreateMaintenance(r.Context(), &m); err != nil {
		var fe *alarms.FieldError
		if errors.As(err, &fe) {
			writeFieldError(w, http.StatusBadRequest, "invalid", fe.Field, err.Error())
			return
		}
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// deleteMaintenance deletes a window; its alarms leave it.
func (s *Server) deleteMaintenance(w http.ResponseWriter, r *http.Request) {
	eng, ok := s.maintenances()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the alarm engine is not running")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.writeErr(w, badField("id", "must be a maintenance id"))
		return
	}
	if err := eng.DeleteMaintenance(r.Context(), id); err != nil {
		s.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
