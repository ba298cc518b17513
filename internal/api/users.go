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

// userInput is a user as an administrator writes it; absent fields keep
// their value on update.
type userInput struct {
	Login    *string   `json:"login"`
	Password *string   `json:"password"`
	Role     *string   `json:"role"`
	Teams    *[]string `json:"teams"`
	Domains  *[]string `json:"domains"`
	Disabled *bool     `json:"disabled"`
}

func (s *Server) applyUser(r *http.Request, in userInput, u *auth.User) error {
	setIf(&u.Login, in.Login)
	setIf(&u.Role, in.Role)
	setIf(&u.Teams, in.Teams)
	setIf(&u.Domains, in.Domains)
	setIf(&u.Disabled, in.Disabled)
	if err := inventory.ValidName(u.Login); err != nil {
		return badField("login", "%v", err)
	}
	if _, err := s.st.GetRole(r.Context(), u.Role); err != nil {
		return badField("role", "no role %q (see /api/v1/roles)", u.Role)
	}
	for i, l := range [][]string{u.Teams, u.Domains} {
		field := [...]string{"teams", "domains"}[i]
		for _, v := range l {
			if err := inventory.ValidName(v); err != nil {
				return badField(field, "%q: %v", v, err)
			}
		}
	}
	if in.Password != nil {
		hash, err := s.auth.HashPassword(*in.Password)
		if err != nil {
			return badField("password", "%v", err)
		}
		u.PasswordHash, u.ActivationHash, u.ActivationExpires = hash, "", time.Time{}
	}
	return nil
}

type userView struct {
	auth.User
	// ActivationURL is shown once, when a user is created without a
	// password: the person opens it and chooses one.
	ActivationURL string `json:"activation_url,omitempty"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var in userInput
	if !decodeBody(w, r, &in) {
		return
	}
	u := auth.User{}
	if in.Role == nil {
		s.writeErr(w, badField("role", "is required"))
		return
	}
	if err := s.applyUser(r, in, &u); err != nil {
		s.writeErr(w, err)
		return
	}
	var link string
	if in.Password == nil {
		// No password: the user gets an activation link, valid 7 days,
		// and cannot sign in before using it.
		secret := auth.RandomSecret(24)
		u.ActivationHash, u.ActivationExpires = auth.HashSecret(secret), time.Now().Add(7*24*time.Hour).UTC()
		u.PasswordHash = "!" // matches no bcrypt hash
		link = "/activate?token=" + secret
	}
	if err := s.st.CreateUser(r.Context(), &u); err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, userView{User: u, ActivationURL: link})
}

func (s *Server) lookupUser(r *http.Request) (auth.User, error) {
	ref := r.PathValue("id")
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if u, err := s.st.GetUser(r.Context(), id); err == nil {
			return u, nil
		}
	}
	return s.st.GetUserByLogin(r.Context(), ref)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.lookupUser(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.lookupUser(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var in userInput
	if !decodeBody(w, r, &in) {
		return
	}
	if u.ID == principal(r).User.ID && ((in.Disabled != nil && *in.Disabled) || (in.Role != nil && *in.Role != u.Role)) {
		s.writeErr(w, badField("disabled", "you cannot disable yourself or change your own role"))
		return
	}
	if err := s.applyUser(r, in, &u); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.st.UpdateUser(r.Context(), &u); err != nil {
		s.writeErr(w, err)
		return
	}
	if u.Disabled || in.Password != nil {
		// A disabled user or a reset password ends every session.
		s.st.DeleteUserSessions(r.Context(), u.ID)
		s.auth.ForgetBasic()
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.lookupUser(r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if u.ID == principal(r).User.ID {
		s.writeErr(w, badField("id", "you cannot delete yourself"))
		return
	}
	if err := s.st.DeleteUser(r.Context(), u.ID); err != nil {
		s.writeErr(w, err)
		return
	}
	s.auth.ForgetBasic()
	w.WriteHeader(http.StatusNoContent)
}

// activate sets the password of a user created with an activation link.
func (s *Server) activate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	u, err := s.st.GetUserByActivation(r.Context(), auth.HashSecret(in.Token))
	if err != nil || time.Now().After(u.ActivationExpires) {
		writeError(w, http.StatusNotFound, "invalid_activation", "this activation link is unknown, used or expired; ask an administrator for a new one")
		return
	}
	hash, err := s.auth.HashPassword(in.Password)
	if err != nil {
		s.writeErr(w, badField("password", "%v", err))
		return
	}
	u.PasswordHash, u.ActivationHash, u.ActivationExpires = hash, "", time.Time{}
	if err := s.st.UpdateUser(r.Context(), &u); err != nil {
		s.writeErr(w, err)
		return
	}
	s.auth.Audit(r.Context(), auth.AuditEntry{Login: u.Login, Role: u.Role, Action: "activate", RemoteAddr: remoteIP(r), Outcome: "ok"})
	w.WriteHeader(http.StatusNoContent)
}

// changePassword lets a user change their own password; their other
// sessions end.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	p := principal(r)
	u, err := s.st.GetUser(r.Context(), p.User.ID)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if !s.auth.CheckPassword(u, in.Current) {
		writeFieldError(w, http.StatusForbidden, "invalid_credentials", "current_password", "the current password is wrong")
		return
	}
	hash, err := s.auth.HashPassword(in.New)
	if err != nil {
		s.writeErr(w, badField("new_password", "%v", err))
		return
	}
	u.PasswordHash = hash
	if err := s.st.UpdateUser(r.Context(), &u); err != nil {
		s.writeErr(w, err)
		return
	}
	sessions, _ := s.st.ListSessions(r.Context(), u.ID)
	for _, se := range sessions {
		if se.ID != p.SessionID {
			s.st.DeleteSession(r.Context(), se.ID)
		}
	}
	s.auth.ForgetBasic()
	w.WriteHeader(http.StatusNoContent)
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
		Name        string              `json:"name"`
		ExpiresIn   *inventory.Duration `json:"expires_in"`
		Permissions []auth.Permission   `json:"permissions"`
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
	p := principal(r)
	for _, perm := range in.Permissions {
		if !p.Can(perm) {
			s.writeErr(w, badField("permissions", "%q is not a permission you hold", perm))
			return
		}
	}
	t, secret, err := s.auth.CreateToken(r.Context(), p.User.ID, in.Name, ttl, in.Permissions)
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
