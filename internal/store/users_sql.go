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

func scanUser(row interface{ Scan(...any) error }) (auth.User, error) {
	var u auth.User
	var dis, c, up, ae int64
	var teams, domains string
	err := row.Scan(&u.ID, &u.Login, &u.PasswordHash, &u.Role, &dis, &c, &up, &teams, &domains, &u.ActivationHash, &ae)
	if err != nil {
		return u, err
	}
	u.Disabled, u.CreatedAt, u.UpdatedAt, u.ActivationExpires = dis != 0, fromMS(c), fromMS(up), fromMS(ae)
	if err := json.Unmarshal([]byte(teams), &u.Teams); err != nil {
		return u, fmt.Errorf("decoding teams of user %d: %w", u.ID, err)
	}
	if err := json.Unmarshal([]byte(domains), &u.Domains); err != nil {
		return u, fmt.Errorf("decoding domains of user %d: %w", u.ID, err)
	}
	return u, nil
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func (d *DB) CreateUser(ctx context.Context, u *auth.User) error {
	t := now()
	id, err := d.insert(ctx, "INSERT INTO users (login, password_hash, role, disabled, created_at, updated_at, teams_json, domains_json, "+
		"activation_hash, activation_expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.Login, u.PasswordHash, u.Role, b2i(u.Disabled), ms(t), ms(t), jsonList(u.Teams), jsonList(u.Domains), u.ActivationHash, ms(u.ActivationExpires))
	if err != nil {
		return d.conflict(err, fmt.Sprintf("user %q", u.Login))
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, t, t
	return nil
}

func (d *DB) UpdateUser(ctx context.Context, u *auth.User) error {
	t := now()
	err := d.execOne(ctx, fmt.Sprintf("user %d", u.ID), "UPDATE users SET login = ?, password_hash = ?, role = ?, disabled = ?, updated_at = ?, "+
		"teams_json = ?, domains_json = ?, activation_hash = ?, activation_expires = ? WHERE id = ?",
		u.Login, u.PasswordHash, u.Role, b2i(u.Disabled), ms(t), jsonList(u.Teams), jsonList(u.Domains), u.ActivationHash, ms(u.ActivationExpires), u.ID)
	if err != nil {
		return d.conflict(err, fmt.Sprintf("user %q", u.Login))
	}
	u.UpdatedAt = t
	return nil
}

func (d *DB) DeleteUser(ctx context.Context, id int64) error {
	return d.execOne(ctx, fmt.Sprintf("user %d", id), "DELETE FROM users WHERE id = ?", id)
}

func (d *DB) GetUser(ctx context.Context, id int64) (auth.User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, d.q("SELECT "+userCols+" FROM users WHERE id = ?"), id))
	return u, notFound(err, fmt.Sprintf("user %d", id))
}

// GetUserByActivation finds the user an activation link belongs to.
func (d *DB) GetUserByActivation(ctx context.Context, hash string) (auth.User, error) {
	if hash == "" {
		return auth.User{}, fmt.Errorf("activation: %w", ErrNotFound)
	}
	u, err := scanUser(d.db.QueryRowContext(ctx, d.q("SELECT "+userCols+" FROM users WHERE activation_hash = ?"), hash))
	return u, notFound(err, "activation")
}

func (d *DB) GetUserByLogin(ctx context.Context, login string) (auth.User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, d.q("SELECT "+userCols+" FROM users WHERE login = ?"), login))
	return u, notFound(err, fmt.Sprintf("user %q", login))
}

func (d *DB) ListUsers(ctx context.Context) ([]auth.User, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

const sessionCols = "id, user_id, token_hash, csrf_token, remote_addr, user_agent, created_at, last_seen, expires_at"

func scanSession(row interface{ Scan(...any) error }) (auth.Session, error) {
	var s auth.Session
	var c, l, e int64
	err := row.Scan(&s.ID, &s.UserID, &s.TokenHash, &s.CSRFToken, &s.RemoteAddr, &s.UserAgent, &c, &l, &e)
	s.CreatedAt, s.LastSeen, s.ExpiresAt = fromMS(c), fromMS(l), fromMS(e)
	return s, err
}

func (d *DB) CreateSession(ctx context.Context, s *auth.Session) error {
	id, err := d.insert(ctx, "INSERT INTO sessions (user_id, token_hash, csrf_token, remote_addr, user_agent, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		s.UserID, s.TokenHash, s.CSRFToken, s.RemoteAddr, s.UserAgent, ms(s.CreatedAt), ms(s.LastSeen), ms(s.ExpiresAt))
	if err != nil {
		return d.conflict(err, "session")
	}
	s.ID = id
	return nil
}

func (d *DB) GetSessionByHash(ctx context.Context, hash string) (auth.Session, error) {
	s, err := scanSession(d.db.QueryRowContext(ctx, d.q("SELECT "+sessionCols+" FROM sessions WHERE token_hash = ?"), hash))
	return s, notFound(err, "session")
}

func (d *DB) TouchSession(ctx context.Context, id int64, lastSeen, expiresAt time.Time) error {
	return d.execOne(ctx, fmt.Sprintf("session %d", id), "UPDATE sessions SET last_seen = ?, expires_at = ? WHERE id = ?", ms(lastSeen), ms(expiresAt), id)
}

func (d *DB) DeleteSession(ctx context.Context, id int64) error {
	return d.execOne(ctx, fmt.Sprintf("session %d", id), "DELETE FROM sessions WHERE id = ?", id)
}

func (d *DB) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := d.db.ExecContext(ctx, d.q("DELETE FROM sessions WHERE user_id = ?"), userID)
	return err
}

func (d *DB) DeleteExpiredSessions(ctx context.Context, t time.Time) (int, error) {
	res, err := d.db.ExecContext(ctx, d.q("DELETE FROM sessions WHERE expires_at <= ?"), ms(t))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (d *DB) ListSessions(ctx context.Context, userID int64) ([]auth.Session, error) {
	rows, err := d.db.QueryContext(ctx, d.q("SELECT "+sessionCols+" FROM sessions WHERE user_id = ? ORDER BY id"), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

const tokenCols = "id, user_id, name, token_hash, created_at, expires_at, last_used, permissions_json"

func scanToken(row interface{ Scan(...any) error }) (auth.Token, error) {
	var t auth.Token
	var c int64
	var e, l sql.NullInt64
	var perms string
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.TokenHash, &c, &e, &l, &perms); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsed = fromMS(c), fromMSPtr(e), fromMSPtr(l)
	return t, json.Unmarshal([]byte(perms), &t.Permissions)
}

func (d *DB) CreateToken(ctx context.Context, t *auth.Token) error {
	perms := t.Permissions
	if perms == nil {
		perms = []auth.Permission{}
	}
	pj, err := json.Marshal(perms)
	if err != nil {
		return err
	}
	id, err := d.insert(ctx, "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at, last_used, permissions_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
		t.UserID, t.Name, t.TokenHash, ms(t.CreatedAt), msPtr(t.ExpiresAt), msPtr(t.LastUsed), string(pj))
	if err != nil {
		return d.conflict(err, "token")
	}
	t.ID = id
	return nil
}

func (d *DB) GetTokenByHash(ctx context.Context, hash string) (auth.Token, error) {
	t, err := scanToken(d.db.QueryRowContext(ctx, d.q("SELECT "+tokenCols+" FROM api_tokens WHERE token_hash = ?"), hash))
	return t, notFound(err, "token")
}

func (d *DB) TouchToken(ctx context.Context, id int64, used time.Time) error {
	return d.execOne(ctx, fmt.Sprintf("token %d", id), "UPDATE api_tokens SET last_used = ? WHERE id = ?", ms(used), id)
}

func (d *DB) DeleteToken(ctx context.Context, id int64) error {
	return d.execOne(ctx, fmt.Sprintf("token %d", id), "DELETE FROM api_tokens WHERE id = ?", id)
}

func (d *DB) ListTokens(ctx context.Context, userID int64) ([]auth.Token, error) {
	rows, err := d.db.QueryContext(ctx, d.q("SELECT "+tokenCols+" FROM api_tokens WHERE user_id = ? ORDER BY id"), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
