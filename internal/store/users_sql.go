package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigie-monitoring/vigie/internal/auth"
)

const userCols = "id, login, password_hash, role, disabled, created_at, updated_at, teams_json, domains_json, activation_hash, activation_expires"

func scanUser(row scanner) (auth.User, error) {
	var u auth.User
	var dis, c, up, ae int64
	var teams, domains string
	err := row.Scan(&u.ID, &u.Login, &u.PasswordHash, &u.Role, &dis, &c, &up, &teams, &domains, &u.ActivationHash, &ae)
	if err != nil {
		return u, err
	}
	u.Disabled, u.CreatedAt, u.UpdatedAt, u.ActivationExpires = dis != 0, fromMS(c), fromMS(up), fromMS(ae)
	if err := json.Unmarshal([]byte(teams), &u.Teams); err != nil {
		return u, fmt.Errorf("decoding the teams of user %d: %w", u.ID, err)
	}
	if err := json.Unmarshal([]byte(domains), &u.Domains); err != nil {
		return u, fmt.Errorf("decoding the domains of user %d: %w", u.ID, err)
	}
	return u, nil
}

// jsonList encodes a list, nil as [], so that it reads back empty, not nil.
func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

func (d *DB) CreateUser(ctx context.Context, u *auth.User) error {
	t := d.stamp()
	id, err := d.insert(ctx, "INSERT INTO users (login, password_hash, role, disabled, created_at, updated_at, teams_json, domains_json, "+
		"activation_hash, activation_expires) VALUES ("+placeholders(10)+")",
		u.Login, u.PasswordHash, u.Role, b2i(u.Disabled), ms(t), ms(t), jsonList(u.Teams), jsonList(u.Domains), u.ActivationHash, ms(u.ActivationExpires))
	if err != nil {
		return d.conflict(err, "creating a user", fmt.Sprintf("user %q", u.Login))
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, t, t
	return nil
}

// UpdateUser replaces every column of the user but CreatedAt.
func (d *DB) UpdateUser(ctx context.Context, u *auth.User) error {
	t := d.stamp()
	err := d.execOne(ctx, fmt.Sprintf("user %d", u.ID), "UPDATE users SET login = ?, password_hash = ?, role = ?, disabled = ?, updated_at = ?, "+
		"teams_json = ?, domains_json = ?, activation_hash = ?, activation_expires = ? WHERE id = ?",
		u.Login, u.PasswordHash, u.Role, b2i(u.Disabled), ms(t), jsonList(u.Teams), jsonList(u.Domains), u.ActivationHash, ms(u.ActivationExpires), u.ID)
	if err != nil {
		return d.conflict(err, fmt.Sprintf("updating user %d", u.ID), fmt.Sprintf("user %q", u.Login))
	}
	u.UpdatedAt = t
	return nil
}

// DeleteUser deletes a user; the foreign keys take its sessions and tokens.
func (d *DB) DeleteUser(ctx context.Context, id int64) error {
	return wrap(d.execOne(ctx, fmt.Sprintf("user %d", id), "DELETE FROM users WHERE id = ?", id), fmt.Sprintf("deleting user %d", id))
}

func (d *DB) GetUser(ctx context.Context, id int64) (auth.User, error) {
	return get(ctx, d, scanUser, fmt.Sprintf("user %d", id), "SELECT "+userCols+" FROM users WHERE id = ?", id)
}

// GetUserByActivation finds the user an activation link belongs to; the
// empty hash, which every activated user has, finds nobody.
func (d *DB) GetUserByActivation(ctx context.Context, hash string) (auth.User, error) {
	if hash == "" {
		return auth.User{}, fmt.Errorf("activation: %w", ErrNotFound)
	}
	return get(ctx, d, scanUser, "activation", "SELECT "+userCols+" FROM users WHERE activation_hash = ?", hash)
}

func (d *DB) GetUserByLogin(ctx context.Context, login string) (auth.User, error) {
	return get(ctx, d, scanUser, fmt.Sprintf("user %q", login), "SELECT "+userCols+" FROM users WHERE login = ?", login)
}

func (d *DB) ListUsers(ctx context.Context) ([]auth.User, error) {
	out, err := list(ctx, d, scanUser, "SELECT "+userCols+" FROM users ORDER BY id")
	return out, wrap(err, "listing users")
}

// ownerErr maps the error of a write of something a user owns: a missing
// user is ErrNotFound, a clashing token hash ErrConflict.
func (d *DB) ownerErr(err error, doing string, userID int64, what string) error {
	if err != nil && d.d.isForeignKey(err) {
		return fmt.Errorf("user %d: %w", userID, ErrNotFound)
	}
	return d.conflict(err, doing, what)
}

const sessionCols = "id, user_id, token_hash, csrf_token, remote_addr, user_agent, created_at, last_seen, expires_at"

func scanSession(row scanner) (auth.Session, error) {
	var s auth.Session
	var c, l, e int64
	err := row.Scan(&s.ID, &s.UserID, &s.TokenHash, &s.CSRFToken, &s.RemoteAddr, &s.UserAgent, &c, &l, &e)
	s.CreatedAt, s.LastSeen, s.ExpiresAt = fromMS(c), fromMS(l), fromMS(e)
	return s, err
}

// CreateSession stores a session with the times the caller chose (auth
// owns the session clock).
func (d *DB) CreateSession(ctx context.Context, s *auth.Session) error {
	id, err := d.insert(ctx, "INSERT INTO sessions (user_id, token_hash, csrf_token, remote_addr, user_agent, created_at, last_seen, expires_at) VALUES ("+placeholders(8)+")",
		s.UserID, s.TokenHash, s.CSRFToken, s.RemoteAddr, s.UserAgent, ms(s.CreatedAt), ms(s.LastSeen), ms(s.ExpiresAt))
	if err != nil {
		return d.ownerErr(err, "creating a session", s.UserID, "session token")
	}
	s.ID = id
	return nil
}

func (d *DB) GetSessionByHash(ctx context.Context, hash string) (auth.Session, error) {
	return get(ctx, d, scanSession, "session", "SELECT "+sessionCols+" FROM sessions WHERE token_hash = ?", hash)
}

func (d *DB) TouchSession(ctx context.Context, id int64, lastSeen, expiresAt time.Time) error {
	return wrap(d.execOne(ctx, fmt.Sprintf("session %d", id), "UPDATE sessions SET last_seen = ?, expires_at = ? WHERE id = ?",
		ms(lastSeen), ms(expiresAt), id), fmt.Sprintf("touching session %d", id))
}

func (d *DB) DeleteSession(ctx context.Context, id int64) error {
	return wrap(d.execOne(ctx, fmt.Sprintf("session %d", id), "DELETE FROM sessions WHERE id = ?", id),
		fmt.Sprintf("deleting session %d", id))
}

// DeleteUserSessions signs a user out everywhere; a user without sessions
// is not an error.
func (d *DB) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := d.exec(ctx, "DELETE FROM sessions WHERE user_id = ?", userID)
	return wrap(err, fmt.Sprintf("deleting the sessions of user %d", userID))
}

// DeleteExpiredSessions deletes the sessions expired at t and says how
// many there were.
func (d *DB) DeleteExpiredSessions(ctx context.Context, t time.Time) (int, error) {
	n, err := d.exec(ctx, "DELETE FROM sessions WHERE expires_at <= ?", ms(t))
	return n, wrap(err, "deleting expired sessions")
}

func (d *DB) ListSessions(ctx context.Context, userID int64) ([]auth.Session, error) {
	out, err := list(ctx, d, scanSession, "SELECT "+sessionCols+" FROM sessions WHERE user_id = ? ORDER BY id", userID)
	return out, wrap(err, fmt.Sprintf("listing the sessions of user %d", userID))
}

const tokenCols = "id, user_id, name, token_hash, created_at, expires_at, last_used, permissions_json"

func scanToken(row scanner) (auth.Token, error) {
	var t auth.Token
	var c int64
	var e, l sql.NullInt64
	var perms string
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.TokenHash, &c, &e, &l, &perms); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsed = fromMS(c), fromMSPtr(e), fromMSPtr(l)
	if err := json.Unmarshal([]byte(perms), &t.Permissions); err != nil {
		return t, fmt.Errorf("decoding the permissions of token %d: %w", t.ID, err)
	}
	return t, nil
}

// CreateToken stores a token; no expiry and never used are NULL.
func (d *DB) CreateToken(ctx context.Context, t *auth.Token) error {
	perms := t.Permissions
	if perms == nil {
		perms = []auth.Permission{}
	}
	pj, err := json.Marshal(perms)
	if err != nil {
		return fmt.Errorf("encoding the permissions of token %q: %w", t.Name, err)
	}
	id, err := d.insert(ctx, "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at, last_used, permissions_json) VALUES ("+placeholders(7)+")",
		t.UserID, t.Name, t.TokenHash, ms(t.CreatedAt), msPtr(t.ExpiresAt), msPtr(t.LastUsed), string(pj))
	if err != nil {
		return d.ownerErr(err, "creating a token", t.UserID, "token hash")
	}
	t.ID = id
	return nil
}

func (d *DB) GetTokenByHash(ctx context.Context, hash string) (auth.Token, error) {
	return get(ctx, d, scanToken, "token", "SELECT "+tokenCols+" FROM api_tokens WHERE token_hash = ?", hash)
}

func (d *DB) TouchToken(ctx context.Context, id int64, used time.Time) error {
	return wrap(d.execOne(ctx, fmt.Sprintf("token %d", id), "UPDATE api_tokens SET last_used = ? WHERE id = ?", ms(used), id),
		fmt.Sprintf("touching token %d", id))
}

func (d *DB) DeleteToken(ctx context.Context, id int64) error {
	return wrap(d.execOne(ctx, fmt.Sprintf("token %d", id), "DELETE FROM api_tokens WHERE id = ?", id),
		fmt.Sprintf("deleting token %d", id))
}

func (d *DB) ListTokens(ctx context.Context, userID int64) ([]auth.Token, error) {
	out, err := list(ctx, d, scanToken, "SELECT "+tokenCols+" FROM api_tokens WHERE user_id = ? ORDER BY id", userID)
	return out, wrap(err, fmt.Sprintf("listing the tokens of user %d", userID))
}
