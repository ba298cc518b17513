package api

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/store"
)

type meView struct {
	User        auth.User         `json:"user"`
	Permissions []auth.Permission `json:"permissions"`
	CSRFToken   string            `json:"csrf_token,omitempty"`
}

func newMe(p auth.Principal) meView {
	perms := p.Role.Permissions
	if perms == nil {
		perms = []auth.Permission{}
	}
	return meView{User: p.User, Permissions: perms, CSRFToken: p.CSRFToken}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Login == "" || in.Password == "" {
		writeFieldError(w, http.StatusBadRequest, "invalid", "login", "login and password are required")
		return
	}
	p, secret, err := s.auth.Login(r.Context(), in.Login, in.Password, remoteIP(r), r.UserAgent())
	if errors.Is(err, auth.ErrLockedOut) {
		writeError(w, http.StatusTooManyRequests, "locked_out", err.Error())
		return
	}
	if errors.Is(err, auth.ErrInvalidCredentials) {
		s.log.Info("login refused", "login", in.Login, "remote", remoteIP(r))
		writeError(w, http.StatusUnauthorized, "invalid_credentials", "invalid login or password")
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.log.Info("login", "login", p.User.Login, "remote", remoteIP(r))
	http.SetCookie(w, &http.Cookie{
		Name: auth.CookieName, Value: secret, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.SecureCookies || r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, newMe(p))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p.Via == "session" {
		if err := s.auth.Logout(r.Context(), p.SessionID); err != nil {
			s.writeErr(w, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: auth.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, newMe(principal(r)))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.st.ListUsers(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if users == nil {
		users = []auth.User{}
	}
	writeJSON(w, http.StatusOK, list{Items: users})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Login    string `json:"login"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if err := inventory.ValidName(in.Login); err != nil {
		s.writeErr(w, badField("login", "%v", err))
		return
	}
	if _, err := s.st.GetRole(r.Context(), in.Role); err != nil {
		s.writeErr(w, badField("role", "no role %q (see /api/v1/roles)", in.Role))
		return
	}
	hash, err := s.auth.HashPassword(in.Password)
	if err != nil {
		s.writeErr(w, badField("password", "%v", err))
		return
	}
	u := auth.User{Login: in.Login, PasswordHash: hash, Role: in.Role}
	if err := s.st.CreateUser(r.Context(), &u); err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

type tokenView struct {
	auth.Token
	Secret string `json:"token,omitempty"`
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.st.ListTokens(r.Context(), principal(r).User.ID)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if ts == nil {
		ts = []auth.Token{}
	}
	writeJSON(w, http.StatusOK, list{Items: ts})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name      string              `json:"name"`
		ExpiresIn *inventory.Duration `json:"expires_in"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if err := inventory.ValidName(in.Name); err != nil {
		s.writeErr(w, badField("name", "%v", err))
		return
	}
	var ttl time.Duration
	if in.ExpiresIn != nil {
		ttl = in.ExpiresIn.D()
		if ttl < time.Minute {
			s.writeErr(w, badField("expires_in", "must be at least 1m"))
			return
		}
	}
	t, secret, err := s.auth.CreateToken(r.Context(), principal(r).User.ID, in.Name, ttl)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, tokenView{Token: t, Secret: secret})
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.writeErr(w, store.ErrNotFound)
		return
	}
	ts, err := s.st.ListTokens(r.Context(), principal(r).User.ID)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	for _, t := range ts {
		if t.ID == id {
			if err := s.st.DeleteToken(r.Context(), id); err != nil {
				s.writeErr(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "no such token of yours")
}

type sessionView struct {
	auth.Session
	Current bool `json:"current"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ss, err := s.st.ListSessions(r.Context(), p.User.ID)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	items := make([]sessionView, 0, len(ss))
	for _, se := range ss {
		items = append(items, sessionView{Session: se, Current: se.ID == p.SessionID})
	}
	writeJSON(w, http.StatusOK, list{Items: items})
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.writeErr(w, store.ErrNotFound)
		return
	}
	ss, err := s.st.ListSessions(r.Context(), p.User.ID)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	for _, se := range ss {
		if se.ID == id {
			if err := s.st.DeleteSession(r.Context(), id); err != nil {
				s.writeErr(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "no such session of yours")
}
