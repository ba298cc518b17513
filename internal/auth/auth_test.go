package auth_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/vigie-monitoring/vigie/internal/auth"
	"github.com/vigie-monitoring/vigie/internal/store"
)

var ctx = context.Background()

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T) (*auth.Service, store.Store, *clock) {
	st, err := store.Open(ctx, store.Options{DSN: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	return auth.NewService(st, auth.Options{SessionTTL: time.Hour, BcryptCost: bcrypt.MinCost, Now: c.now}), st, c
}

func TestEnsureAdmin(t *testing.T) {
	s, st, _ := newService(t)
	gen, err := s.EnsureAdmin(ctx, "")
	if err != nil || len(gen) < 12 {
		t.Fatalf("first start without a password: %q %v", gen, err)
	}
	u, _ := st.GetUserByLogin(ctx, "admin")
	if u.Role != auth.RoleAdmin || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(gen)) != nil {
		t.Fatalf("admin not created with the printed password: %+v", u)
	}
	if strings.Contains(u.PasswordHash, gen) {
		t.Fatal("password stored in clear")
	}
	if again, _ := s.EnsureAdmin(ctx, ""); again != "" {
		t.Fatal("a second start without a password generated another one")
	}
	if _, err := s.EnsureAdmin(ctx, "new-password-1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Login(ctx, "admin", "new-password-1", "127.0.0.1", "test"); err != nil {
		t.Fatalf("VIGIE_ADMIN_PASSWORD did not reset the password: %v", err)
	}
	if _, err := s.EnsureAdmin(ctx, "short"); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Fatalf("weak password: %v", err)
	}
}

func TestSessions(t *testing.T) {
	s, st, c := newService(t)
	s.EnsureAdmin(ctx, "admin-password")
	if _, _, err := s.Login(ctx, "admin", "wrong", "", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := s.Login(ctx, "ghost", "whatever", "", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("unknown login must look like a wrong password: %v", err)
	}
	p, secret, err := s.Login(ctx, "admin", "admin-password", "10.0.0.9", "firefox")
	if err != nil || p.CSRFToken == "" || p.Via != "session" {
		t.Fatalf("login: %+v %v", p, err)
	}
	sessions, _ := st.ListSessions(ctx, p.User.ID)
	if len(sessions) != 1 || sessions[0].TokenHash == secret || sessions[0].RemoteAddr != "10.0.0.9" {
		t.Fatalf("session stored: %+v", sessions)
	}
	req := func(cookie string) (auth.Principal, error) {
		r := httptest.NewRequest("GET", "/api/v1/me", nil)
		r.Header.Set("Cookie", auth.CookieName+"="+cookie)
		return s.Authenticate(r)
	}
	got, err := req(secret)
	if err != nil || got.User.Login != "admin" || got.CSRFToken != p.CSRFToken {
		t.Fatalf("cookie: %+v %v", got, err)
	}
	if _, err := req(secret + "x"); err == nil {
		t.Fatal("a wrong cookie was accepted")
	}
	if !auth.CheckCSRF(got, p.CSRFToken) || auth.CheckCSRF(got, "") || auth.CheckCSRF(got, "nope") {
		t.Fatal("CSRF check")
	}
	// Idle sessions expire; use slides the expiry.
	c.t = c.t.Add(50 * time.Minute)
	if _, err := req(secret); err != nil {
		t.Fatal("session expired too early")
	}
	c.t = c.t.Add(50 * time.Minute)
	if _, err := req(secret); err != nil {
		t.Fatal("use did not extend the session")
	}
	c.t = c.t.Add(61 * time.Minute)
	if _, err := req(secret); err == nil {
		t.Fatal("an idle session outlived its TTL")
	}
	// Logout revokes.
	p, secret, _ = s.Login(ctx, "admin", "admin-password", "", "")
	s.Logout(ctx, p.SessionID)
	if _, err := req(secret); err == nil {
		t.Fatal("session valid after logout")
	}
	// A disabled user's sessions stop working.
	p, secret, _ = s.Login(ctx, "admin", "admin-password", "", "")
	u := p.User
	u.Disabled = true
	st.UpdateUser(ctx, &u)
	if _, err := req(secret); err == nil {
		t.Fatal("disabled user still signed in")
	}
}

func TestTokensAndBasic(t *testing.T) {
	s, st, c := newService(t)
	s.EnsureAdmin(ctx, "admin-password")
	u, _ := st.GetUserByLogin(ctx, "admin")
	tok, secret, err := s.CreateToken(ctx, u.ID, "ci", time.Hour, nil)
	if err != nil || !strings.HasPrefix(secret, auth.TokenPrefix) || tok.TokenHash == secret {
		t.Fatalf("token: %+v %v", tok, err)
	}
	bearer := func(v string) error {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+v)
		_, err := s.Authenticate(r)
		return err
	}
	if err := bearer(secret); err != nil {
		t.Fatal(err)
	}
	if err := bearer("vig_forged"); err == nil {
		t.Fatal("forged token accepted")
	}
	c.t = c.t.Add(2 * time.Hour)
	if err := bearer(secret); err == nil {
		t.Fatal("expired token accepted")
	}
	_, forever, _ := s.CreateToken(ctx, u.ID, "forever", 0, nil)
	st.DeleteToken(ctx, mustToken(t, st, u.ID, "forever"))
	if err := bearer(forever); err == nil {
		t.Fatal("revoked token accepted")
	}
	basic := func(user, pw string) error {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pw)
		_, err := s.Authenticate(r)
		return err
	}
	if err := basic("admin", "admin-password"); err != nil {
		t.Fatal(err)
	}
	if err := basic("admin", "admin-passwordX"); err == nil {
		t.Fatal("wrong Basic password accepted")
	}
	// A password change takes effect for Basic at once when the cache is
	// dropped.
	s.EnsureAdmin(ctx, "other-password")
	s.ForgetBasic()
	if err := basic("admin", "admin-password"); err == nil {
		t.Fatal("old Basic password still accepted after a change")
	}
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := s.Authenticate(r); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("no credentials: %v", err)
	}
}

func mustToken(t *testing.T, st store.Store, userID int64, name string) int64 {
	ts, err := st.ListTokens(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts {
		if tk.Name == name {
			return tk.ID
		}
	}
	t.Fatalf("token %q not found", name)
	return 0
}

func TestLockoutWindow(t *testing.T) {
	s, _, c := newService(t)
	s.EnsureRoles(ctx)
	s.EnsureAdmin(ctx, "admin-password")
	// Four failures spread over more than the window never lock.
	for i := 0; i < 8; i++ {
		s.Login(ctx, "admin", "bad", "10.0.0.1", "")
		c.t = c.t.Add(5 * time.Minute)
	}
	if _, _, err := s.Login(ctx, "admin", "admin-password", "10.0.0.1", ""); err != nil {
		t.Fatalf("slow failures locked the login: %v", err)
	}
	for i := 0; i < auth.MaxFailuresPerLogin; i++ {
		s.Login(ctx, "admin", "bad", "10.0.0.2", "")
	}
	if _, _, err := s.Login(ctx, "admin", "admin-password", "10.0.0.3", ""); !errors.Is(err, auth.ErrLockedOut) {
		t.Fatalf("5 quick failures: %v", err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth("admin", "admin-password")
	if _, err := s.Authenticate(r); err == nil {
		t.Fatal("Basic credentials bypass the lock-out")
	}
	c.t = c.t.Add(auth.LockoutDuration + time.Second)
	if _, _, err := s.Login(ctx, "admin", "admin-password", "10.0.0.3", ""); err != nil {
		t.Fatalf("lock-out did not expire: %v", err)
	}
	// A spray over many logins from one address locks the address.
	for i := 0; i < auth.MaxFailuresPerAddress; i++ {
		s.Login(ctx, "user"+time.Duration(i).String(), "bad", "10.9.9.9", "")
	}
	if _, _, err := s.Login(ctx, "admin", "admin-password", "10.9.9.9", ""); !errors.Is(err, auth.ErrLockedOut) {
		t.Fatalf("address spray: %v", err)
	}
	if len(s.Lockouts()) == 0 || !s.LiftLockout("addr:10.9.9.9") {
		t.Fatal("lock-out not listed or not lifted")
	}
	if _, _, err := s.Login(ctx, "admin", "admin-password", "10.9.9.9", ""); err != nil {
		t.Fatalf("after the lift: %v", err)
	}
}

// A role seeded by an older vigie gets the permissions added since to its
// defaults, once; a permission an administrator removed stays removed, and
// an administrator's edit is not undone at the next start.
func TestEnsureRolesGrantsNewPermissionsOnce(t *testing.T) {
	s, st, _ := newService(t)
	// As an older version left it: the viewer role without metrics.read,
	// never brought up to date (no Known list).
	var old []auth.Permission
	for _, r := range auth.DefaultRoles() {
		if r.Name == auth.RoleViewer {
			for _, p := range r.Permissions {
				if p != auth.PermMetricsRead {
					old = append(old, p)
				}
			}
		}
	}
	if err := st.PutRole(ctx, auth.Role{Name: auth.RoleViewer, Builtin: true, Permissions: old, Known: []auth.Permission{}}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureRoles(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ := st.GetRole(ctx, auth.RoleViewer)
	if !r.Has(auth.PermMetricsRead) {
		t.Fatalf("the viewer did not get metrics.read: %v", r.Permissions)
	}
	// The administrator takes it away again (the API writes no Known
	// list); the next start leaves it so.
	r.Permissions = old
	r.Known = nil
	if err := st.PutRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureRoles(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ = st.GetRole(ctx, auth.RoleViewer)
	if r.Has(auth.PermMetricsRead) {
		t.Fatalf("a permission the administrator removed came back: %v", r.Permissions)
	}
	if len(r.Known) != len(auth.AllPermissions()) {
		t.Fatalf("known permissions: %v", r.Known)
	}
}
