package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/auth"
)

// AuditFilter narrows ListAudit; newest first.
type AuditFilter struct {
	Login  string
	Action string // prefix of the action
	Since  time.Time
	Limit  int
	Before int64 // id cursor: entries with a smaller id
}

func (d *DB) ListRoles(ctx context.Context) ([]auth.Role, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT name, permissions_json, builtin FROM roles ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.Role{}
	for rows.Next() {
		var r auth.Role
		var perms string
		var builtin int
		if err := rows.Scan(&r.Name, &perms, &builtin); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
			return nil, fmt.Errorf("decoding role %q: %w", r.Name, err)
		}
		r.Builtin = builtin != 0
		out = append(out, r)
	}
	return out, rows.Err()
}

func (d *DB) GetRole(ctx context.Context, name string) (auth.Role, error) {
	var r auth.Role
	var perms string
	var builtin int
	err := d.db.QueryRowContext(ctx, d.q("SELECT name, permissions_json, builtin FROM roles WHERE name = ?"), name).Scan(&r.Name, &perms, &builtin)
	if err != nil {
		return r, notFound(err, fmt.Sprintf("role %q", name))
	}
	r.Builtin = builtin != 0
	return r, json.Unmarshal([]byte(perms), &r.Permissions)
}

// PutRole creates or replaces a role.
func (d *DB) PutRole(ctx context.Context, r auth.Role) error {
	perms := r.Permissions
	if perms == nil {
		perms = []auth.Permission{}
	}
	b, err := json.Marshal(perms)
	if err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx, d.q("INSERT INTO roles (name, permissions_json, builtin) VALUES (?, ?, ?) "+
		"ON CONFLICT (name) DO UPDATE SET permissions_json = excluded.permissions_json, builtin = excluded.builtin"),
		r.Name, string(b), b2i(r.Builtin))
	return err
}

func (d *DB) DeleteRole(ctx context.Context, name string) error {
	return d.execOne(ctx, fmt.Sprintf("role %q", name), "DELETE FROM roles WHERE name = ?", name)
}

func (d *DB) AddAudit(ctx context.Context, e *auth.AuditEntry) error {
	if e.At.IsZero() {
		e.At = now()
	}
	id, err := d.insert(ctx, "INSERT INTO audit (at, login, role, action, object, remote_addr, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		ms(e.At), e.Login, e.Role, e.Action, e.Object, e.RemoteAddr, e.Outcome, e.Detail)
	e.ID = id
	return err
}

func (d *DB) ListAudit(ctx context.Context, f AuditFilter) ([]auth.AuditEntry, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Login != "" {
		where, args = append(where, "login = ?"), append(args, f.Login)
	}
	if f.Action != "" {
		where, args = append(where, `action LIKE ? ESCAPE '\'`), append(args, likeEscape(f.Action)+"%")
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, ms(f.Since))
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	rows, err := d.db.QueryContext(ctx, d.q("SELECT id, at, login, role, action, object, remote_addr, outcome, detail FROM audit WHERE "+
		strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limitOf(Page{Limit: f.Limit}))), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.AuditEntry{}
	for rows.Next() {
		var e auth.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Login, &e.Role, &e.Action, &e.Object, &e.RemoteAddr, &e.Outcome, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteAuditBefore removes entries older than t (the retention).
func (d *DB) DeleteAuditBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := d.db.ExecContext(ctx, d.q("DELETE FROM audit WHERE at < ?"), ms(t))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
