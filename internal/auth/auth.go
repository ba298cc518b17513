// Package auth signs people in: bcrypt-hashed passwords, console sessions
// (a cookie holding a random secret whose hash alone is stored), personal
// API tokens (bearer secrets, also stored hashed) and HTTP Basic for scripts.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Store is what auth keeps in the database. It is a subset of the
// relational store, named here where it is used.
type Store interface {
	// Lookups of missing rows return an error with a NotFound() bool
	// method that reports true.
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id int64) (User, error)
	GetUserByLogin(ctx context.Context, login string) (User, error)

	CreateSession(ctx context.Context, s *Session) error
	GetSessionByHash(ctx context.Context, hash string) (Session, error)
	TouchSession(ctx context.Context, id int64, lastSeen, expiresAt time.Time) error
	DeleteSession(ctx context.Context, id int64) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	CreateToken(ctx context.Context, t *Token) error
	GetTokenByHash(ctx context.Context, hash string) (Token, error)
	TouchToken(ctx context.Context, id int64, used time.Time) error

	ListRoles(ctx context.Context) ([]Role, error)
	GetRole(ctx context.Context, name string) (Role, error)
	PutRole(ctx context.Context, r Role) error
	AddAudit(ctx context.Context, e *AuditEntry) error
}

// Errors callers map to HTTP answers.
var (
	ErrInvalidCredentials = errors.New("invalid login or password")
	ErrUnauthenticated    = errors.New("authentication required")
	ErrLockedOut          = errors.New("too many failed sign-ins; try again later or ask an administrator")
)

// CookieName is the console session cookie.
const CookieName = "vigie_session"

// TokenPrefix starts every API token, so that a leaked one is recognisable
// by secret scanners.
const TokenPrefix = "vig_"

// Principal is who a request acts as.
type Principal struct {
	User User
	// Role is the user's role with its permissions.
	Role Role
	// Via is "session", "token" or "basic".
	Via       string
	SessionID int64
	TokenID   int64
	CSRFToken string
}

// Can reports whether the principal holds a permission.
func (p Principal) Can(perm Permission) bool { return p.Role.Has(perm) }

// Options configure a Service.
type Options struct {
	SessionTTL time.Duration
	// LDAP, when set, signs in directory users.
	LDAP *LDAPConfig
	// BcryptCost defaults to bcrypt.DefaultCost.
	BcryptCost int
	Now        func() time.Time
}

// Service signs users in and recognises them on later requests.
type Service struct {
	st   Store
	opts Options

	mu    sync.Mutex
	basic map[[32]byte]basicEntry // verified Basic credentials, briefly
	roles map[string]Role         // cache of the roles table

	limits *limiter
}

type basicEntry struct {
	userID  int64
	expires time.Time
}

// dummyHash is compared against when a login does not exist, so that the
// answer takes as long as for a wrong password and does not reveal which
// logins exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("vigie-dummy-password"), bcrypt.DefaultCost)

// NewService returns a Service.
func NewService(st Store, opts Options) *Service {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.DefaultCost
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{st: st, opts: opts, basic: map[[32]byte]basicEntry{}, limits: newLimiter()}
}

// HashPassword hashes a password with bcrypt.
func (s *Service) HashPassword(pw string) (string, error) {
	if err := ValidPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.opts.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return string(h), nil
}

// ValidPassword enforces the minimum: 8 characters, at most 72 bytes
// (bcrypt ignores the rest).
func ValidPassword(pw string) error {
	if len(pw) < 8 {
		return errors.New("password must be at least 8 characters")
	}
	if len(pw) > 72 {
		return errors.New("password must be at most 72 bytes")
	}
	return nil
}

// EnsureAdmin creates or resets the admin user. With a password, the admin
// gets it (created if missing). Without one, an admin is created with a
// random password only when none exists yet; that password is returned so
// that the caller can print it once.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	u, err := s.st.GetUserByLogin(ctx, "admin")
	exists := err == nil
	if err != nil && !isNotFound(err) {
		return "", fmt.Errorf("looking up the admin user: %w", err)
	}
	if password == "" {
		if exists {
			return "", nil
		}
		password = RandomSecret(12)
		generated = password
	}
	hash, err := s.HashPassword(password)
	if err != nil {
		return "", fmt.Errorf("VIGIE_ADMIN_PASSWORD: %w", err)
	}
	if exists {
		u.PasswordHash, u.Role, u.Disabled = hash, RoleAdmin, false
		return generated, s.st.UpdateUser(ctx, &u)
	}
	u = User{Login: "admin", PasswordHash: hash, Role: RoleAdmin}
	return generated, s.st.CreateUser(ctx, &u)
}

// isNotFound recognises the store's not-found error by its behaviour, a
// NotFound method, without importing the store (which imports this
// package).
func isNotFound(err error) bool {
	var nf interface{ NotFound() bool }
	return errors.As(err, &nf) && nf.NotFound()
}

// checkPassword verifies a login and password: against the directory for
// users it manages (or does not know yet, when one is configured), against
// the local bcrypt hash otherwise.
func (s *Service) checkPassword(ctx context.Context, login, password string) (User, error) {
	u, err := s.st.GetUserByLogin(ctx, login)
	found := err == nil
	if err != nil && !isNotFound(err) {
		return User{}, err
	}
	if s.opts.LDAP != nil && (!found || u.PasswordHash == ldapManaged) {
		return s.checkDirectory(ctx, u, found, login, password)
	}
	if !found {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return User{}, ErrInvalidCredentials
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		return User{}, ErrInvalidCredentials
	}
	return u, nil
}

// checkDirectory signs a user in through LDAP and keeps their local record
// (created on first sign-in) in step with the role their groups give.
func (s *Service) checkDirectory(ctx context.Context, u User, found bool, login, password string) (User, error) {
	role, err := s.opts.LDAP.login(login, password)
	if errors.Is(err, errNoLDAPRole) {
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, err
	}
	if !found {
		u = User{Login: login, Role: role, PasswordHash: ldapManaged}
		if err := s.st.CreateUser(ctx, &u); err != nil {
			return User{}, fmt.Errorf("recording directory user %q: %w", login, err)
		}
		return u, nil
	}
	if u.Disabled {
		return User{}, ErrInvalidCredentials
	}
	if u.Role != role {
		u.Role = role
		if err := s.st.UpdateUser(ctx, &u); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// CheckPassword reports whether pw is u's password.
func (s *Service) CheckPassword(u User, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) == nil
}

// Login checks credentials and opens a console session. The returned secret
// goes into the cookie; only its hash is stored.
func (s *Service) Login(ctx context.Context, login, password, remote, userAgent string) (Principal, string, error) {
	now := s.opts.Now()
	if s.limits.locked(now, loginKey(login), addrKey(remote)) {
		s.Audit(ctx, AuditEntry{Login: login, Action: "login", RemoteAddr: remote, Outcome: "locked"})
		return Principal{}, "", ErrLockedOut
	}
	u, err := s.checkPassword(ctx, login, password)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			s.limits.fail(now, login, remote)
			s.Audit(ctx, AuditEntry{Login: login, Action: "login", RemoteAddr: remote, Outcome: "failed"})
		}
		return Principal{}, "", err
	}
	s.limits.succeed(login)
	role, err := s.role(ctx, u.Role)
	if err != nil {
		return Principal{}, "", err
	}
	s.Audit(ctx, AuditEntry{Login: u.Login, Role: u.Role, Action: "login", RemoteAddr: remote, Outcome: "ok"})
	now = now.UTC()
	secret := RandomSecret(32)
	sess := Session{
		UserID: u.ID, TokenHash: HashSecret(secret), CSRFToken: RandomSecret(24),
		RemoteAddr: remote, UserAgent: truncate(userAgent, 256),
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.opts.SessionTTL),
	}
	if err := s.st.CreateSession(ctx, &sess); err != nil {
		return Principal{}, "", fmt.Errorf("creating the session: %w", err)
	}
	return Principal{User: u, Role: role, Via: "session", SessionID: sess.ID, CSRFToken: sess.CSRFToken}, secret, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, sessionID int64) error {
	return s.st.DeleteSession(ctx, sessionID)
}

// CreateToken makes a personal API token for a user; the secret is returned
// once and only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string, ttl time.Duration, perms []Permission) (Token, string, error) {
	now := s.opts.Now().UTC()
	secret := TokenPrefix + RandomSecret(32)
	t := Token{UserID: userID, Name: name, TokenHash: HashSecret(secret), CreatedAt: now, Permissions: perms}
	if ttl > 0 {
		exp := now.Add(ttl)
		t.ExpiresAt = &exp
	}
	if err := s.st.CreateToken(ctx, &t); err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// Authenticate recognises the caller of a request from its session cookie,
// bearer token or Basic credentials.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			return s.fromToken(ctx, strings.TrimSpace(cred))
		case "basic":
			login, pw, ok := r.BasicAuth()
			if !ok {
				return Principal{}, ErrUnauthenticated
			}
			return s.fromBasic(ctx, login, pw)
		}
		return Principal{}, ErrUnauthenticated
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return Principal{}, ErrUnauthenticated
	}
	return s.fromSession(ctx, c.Value)
}

func (s *Service) fromSession(ctx context.Context, secret string) (Principal, error) {
	sess, err := s.st.GetSessionByHash(ctx, HashSecret(secret))
	if err != nil {
		return Principal{}, ErrUnauthenticated
	}
	now := s.opts.Now().UTC()
	if !now.Before(sess.ExpiresAt) {
		s.st.DeleteSession(ctx, sess.ID)
		return Principal{}, ErrUnauthenticated
	}
	u, err := s.st.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return Principal{}, ErrUnauthenticated
	}
	// Slide the expiry, but write at most once a minute per session.
	if now.Sub(sess.LastSeen) > time.Minute {
		s.st.TouchSession(ctx, sess.ID, now, now.Add(s.opts.SessionTTL))
	}
	return s.withRole(ctx, Principal{User: u, Via: "session", SessionID: sess.ID, CSRFToken: sess.CSRFToken})
}

func (s *Service) fromToken(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return Principal{}, ErrUnauthenticated
	}
	t, err := s.st.GetTokenByHash(ctx, HashSecret(secret))
	if err != nil {
		return Principal{}, ErrUnauthenticated
	}
	now := s.opts.Now().UTC()
	if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return Principal{}, ErrUnauthenticated
	}
	u, err := s.st.GetUser(ctx, t.UserID)
	if err != nil || u.Disabled {
		return Principal{}, ErrUnauthenticated
	}
	if t.LastUsed == nil || now.Sub(*t.LastUsed) > time.Minute {
		s.st.TouchToken(ctx, t.ID, now)
	}
	p, err := s.withRole(ctx, Principal{User: u, Via: "token", TokenID: t.ID})
	if err != nil || len(t.Permissions) == 0 {
		return p, err
	}
	// A narrowed token holds what both it and the user's role allow now.
	narrowed := p.Role
	narrowed.Permissions = nil
	for _, perm := range t.Permissions {
		if p.Role.Has(perm) {
			narrowed.Permissions = append(narrowed.Permissions, perm)
		}
	}
	p.Role = narrowed
	return p, nil
}

// fromBasic checks Basic credentials. bcrypt is deliberately slow, so a
// verified pair is remembered for a minute (by its SHA-256, never in clear)
// to keep scripts that send Basic on every call fast.
func (s *Service) fromBasic(ctx context.Context, login, pw string) (Principal, error) {
	k := sha256.Sum256([]byte(login + "\x00" + pw))
	now := s.opts.Now()
	s.mu.Lock()
	e, ok := s.basic[k]
	s.mu.Unlock()
	if ok && now.Before(e.expires) {
		u, err := s.st.GetUser(ctx, e.userID)
		if err == nil && !u.Disabled && u.Login == login {
			return s.withRole(ctx, Principal{User: u, Via: "basic"})
		}
	}
	if s.limits.locked(now, loginKey(login)) {
		return Principal{}, ErrLockedOut
	}
	u, err := s.checkPassword(ctx, login, pw)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			s.limits.fail(now, login, "")
		}
		return Principal{}, ErrUnauthenticated
	}
	s.mu.Lock()
	if len(s.basic) > 10000 {
		clear(s.basic)
	}
	s.basic[k] = basicEntry{userID: u.ID, expires: now.Add(time.Minute)}
	s.mu.Unlock()
	return s.withRole(ctx, Principal{User: u, Via: "basic"})
}

// ForgetBasic drops remembered Basic credentials (after a password change).
func (s *Service) ForgetBasic() {
	s.mu.Lock()
	clear(s.basic)
	s.mu.Unlock()
}

// CheckCSRF verifies the CSRF header of a cookie-authenticated write.
func CheckCSRF(p Principal, header string) bool {
	if p.Via != "session" {
		return true // bearer and Basic credentials are not sent by browsers on their own
	}
	return header != "" && subtle.ConstantTimeCompare([]byte(header), []byte(p.CSRFToken)) == 1
}

// RandomSecret returns n random bytes, base64url-encoded.
func RandomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is how session and token secrets are stored: they are long and
// random, so a fast hash is enough.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// EnsureRoles creates the default roles that do not exist yet, and grants
// the built-in roles, once, the permissions a newer vigie added to their
// defaults (the permissions a role has seen are in Role.Known). Roles an
// administrator adjusted otherwise stay as they are: a permission removed
// by hand is not given back.
func (s *Service) EnsureRoles(ctx context.Context) error {
	have, err := s.st.ListRoles(ctx)
	if err != nil {
		return fmt.Errorf("listing roles: %w", err)
	}
	byName := map[string]Role{}
	for _, r := range have {
		byName[r.Name] = r
	}
	all := AllPermissions()
	for _, def := range DefaultRoles() {
		r, ok := byName[def.Name]
		switch {
		case !ok:
			r = def
		case !r.Builtin || slices.Equal(r.Known, all):
			continue
		default:
			for _, p := range def.Permissions {
				if !slices.Contains(r.Known, p) && !r.Has(p) {
					r.Permissions = append(r.Permissions, p)
				}
			}
			slices.Sort(r.Permissions)
		}
		r.Known = all
		if err := s.st.PutRole(ctx, r); err != nil {
			return fmt.Errorf("writing role %q: %w", r.Name, err)
		}
	}
	s.ForgetRoles()
	return nil
}

// ForgetRoles drops the role cache (after a role changed).
func (s *Service) ForgetRoles() {
	s.mu.Lock()
	s.roles = nil
	s.mu.Unlock()
}

// role returns a role from the cache, loading the table when needed. An
// unknown role grants nothing.
func (s *Service) role(ctx context.Context, name string) (Role, error) {
	s.mu.Lock()
	cached := s.roles
	s.mu.Unlock()
	if cached == nil {
		all, err := s.st.ListRoles(ctx)
		if err != nil {
			return Role{}, fmt.Errorf("loading roles: %w", err)
		}
		cached = make(map[string]Role, len(all))
		for _, r := range all {
			cached[r.Name] = r
		}
		s.mu.Lock()
		s.roles = cached
		s.mu.Unlock()
	}
	if r, ok := cached[name]; ok {
		return r, nil
	}
	return Role{Name: name}, nil
}

func (s *Service) withRole(ctx context.Context, p Principal) (Principal, error) {
	r, err := s.role(ctx, p.User.Role)
	if err != nil {
		return Principal{}, err
	}
	p.Role = r
	return p, nil
}

// Audit records an entry; a failure to record is not the caller's
// failure, so it is only counted out by the store's own error.
func (s *Service) Audit(ctx context.Context, e AuditEntry) {
	if e.At.IsZero() {
		e.At = s.opts.Now().UTC()
	}
	s.st.AddAudit(context.WithoutCancel(ctx), &e)
}

// Lockouts lists the logins and addresses locked out now.
func (s *Service) Lockouts() []Lockout { return s.limits.list(s.opts.Now()) }

// LiftLockout ends a lock-out ("login:NAME" or "addr:ADDRESS").
func (s *Service) LiftLockout(key string) bool { return s.limits.lift(key) }
