package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// maxAuditDetail bounds what an audit entry keeps of a request body.
const maxAuditDetail = 8 << 10

// audit records a write: who, what, on which path, with what outcome, the
// request, and the object before and after, every secret replaced.
func (s *Server) audit(r *http.Request, p auth.Principal, rt route, status int, body, before, after []byte) {
	detail := map[string]json.RawMessage{}
	for k, v := range map[string][]byte{"request": body, "before": before, "after": after} {
		if red := redact(v); red != "" {
			detail[k] = json.RawMessage(red)
		}
	}
	d := ""
	if len(detail) > 0 {
		b, _ := json.Marshal(detail)
		d = string(b)
	}
	s.auth.Audit(r.Context(), auth.AuditEntry{
		Login: p.User.Login, Role: p.User.Role, Action: r.Method + " " + rt.pattern, Object: r.URL.Path,
		RemoteAddr: remoteIP(r), Outcome: strconv.Itoa(status), Detail: d,
	})
}

// redact removes secrets (any field whose name says password, token,
// secret, activation or community, SNMP's shared secret) from a JSON body
// before it is kept.
func redact(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return `"(not JSON)"`
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			for k, e := range t {
				lk := strings.ToLower(k)
				if strings.Contains(lk, "password") || strings.Contains(lk, "token") || strings.Contains(lk, "secret") || strings.Contains(lk, "activation") ||
					strings.Contains(lk, "community") {
					t[k] = "(redacted)"
				} else {
					t[k] = walk(e)
				}
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e)
			}
		}
		return x
	}
	b, _ := json.Marshal(walk(v))
	if len(b) > maxAuditDetail {
		return `"(over 8 KiB, not kept)"`
	}
	return string(b)
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) {
	roles, err := s.st.ListRoles(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, list{Items: roles})
}

func (s *Server) putRole(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("id")
	if err := inventory.ValidName(name); err != nil {
		s.writeErr(w, badField("name", "%v", err))
		return
	}
	var in struct {
		Permissions []auth.Permission `json:"permissions"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if err := auth.ValidPermissions(in.Permissions); err != nil {
		s.writeErr(w, badField("permissions", "%v", err))
		return
	}
	role := auth.Role{Name: name, Permissions: in.Permissions}
	if old, err := s.st.GetRole(r.Context(), name); err == nil {
		role.Builtin = old.Builtin
	}
	if name == auth.RoleAdmin {
		// Nobody may lock everyone out of administration.
		for _, p := range []auth.Permission{auth.PermRolesManage, auth.PermUsersManage} {
			if !role.Has(p) {
				s.writeErr(w, badField("permissions", "the admin role keeps %s", p))
				return
			}
		}
	}
	if err := s.st.PutRole(r.Context(), role); err != nil {
		s.writeErr(w, err)
		return
	}
	s.auth.ForgetRoles()
	writeJSON(w, http.StatusOK, role)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AuditFilter{Login: q.Get("user"), Action: q.Get("action"), Limit: 100}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.writeErr(w, badField("since", "must be an RFC 3339 time"))
			return
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.writeErr(w, badField("limit", "must be an integer between 1 and 1000"))
			return
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.writeErr(w, badField("cursor", "is not a cursor from a previous answer"))
			return
		}
		f.Before = n
	}
	limit := f.Limit
	f.Limit++
	entries, err := s.st.ListAudit(r.Context(), f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	entries, next := pageOf(entries, limit, func(e auth.AuditEntry) int64 { return e.ID })
	writeJSON(w, http.StatusOK, list{Items: entries, NextCursor: next})
}

func (s *Server) listLockouts(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, list{Items: s.auth.Lockouts()})
}

func (s *Server) liftLockout(w http.ResponseWriter, r *http.Request) {
	if !s.auth.LiftLockout(r.PathValue("id")) {
		writeError(w, http.StatusNotFound, "not_found", "no such lock-out (keys are login:NAME or addr:ADDRESS)")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
