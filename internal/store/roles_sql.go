package store

import (
	"context"
	"encoding/json"
	"fmt"
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

const roleCols = "name, permissions_json, builtin, known_json"

func scanRole(row scanner) (auth.Role, error) {
	var r auth.Role
	var perms, known string
	var builtin int
	if err := row.Scan(&r.Name, &perms, &builtin, &known); err != nil {
		return r, err
	}
	r.Builtin = builtin != 0
	if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
		return r, fmt.Errorf("decoding role %q: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(known), &r.Known); err != nil {
		return r, fmt.Errorf("decoding role %q: %w", r.Name, err)
	}
	return r, nil
}

func (d *DB) ListRoles(ctx context.Context) ([]auth.Role, error) {
	out, err := list(ctx, d, scanRole, "SELECT "+roleCols+" FROM roles ORDER BY name")
	return out, wrap(err, "listing roles")
}

func (d *DB) GetRole(ctx context.Context, name string) (auth.Role, error) {
	return get(ctx, d, scanRole, fmt.Sprintf("role %q", name), "SELECT "+roleCols+" FROM roles WHERE name = ?", name)
}

// PutRole creates or replaces a role. Its Known list is kept as it is
// when r.Known is nil (an administrator's edit says nothing of it).
func (d *DB) PutRole(ctx context.Context, r auth.Role) error {
	enc := func(ps []auth.Permission) (string, error) {
		if ps == nil {
			ps = []auth.Permission{}
		}
		b, err := json.Marshal(ps)
		return string(b), err
	}
	perms, err := enc(r.Permissions)
	if err != nil {
		return fmt.Errorf("encoding role %q: %w", r.Name, err)
	}
	known, err := enc(r.Known)
	if err != nil {
		return fmt.Errorf("encoding role %q: %w", r.Name, err)
	}
	update := "permissions_json = excluded.permissions_json, builtin = excluded.builtin"
	if r.Known != nil {
		update += ", known_json = excluded.known_json"
	}
	_, err = d.exec(ctx, "INSERT INTO roles ("+roleCols+") VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "+update,
		r.Name, perms, b2i(r.Builtin), known)
	return wrap(err, fmt.Sprintf("writing role %q", r.Name))
}

func (d *DB) DeleteRole(ctx context.Context, name string) error {
	return wrap(d.execOne(ctx, fmt.Sprintf("role %q", name), "DELETE FROM roles WHERE name = ?", name),
		fmt.Sprintf("deleting role %q", name))
}

// AddAudit appends an entry, stamped now unless At is set.
func (d *DB) AddAudit(ctx context.Context, e *auth.AuditEntry) error {
	if e.At.IsZero() {
		e.At = d.stamp()
	}
	id, err := d.insert(ctx, "INSERT INTO audit (at, login, role, action, object, remote_addr, outcome, detail) VALUES ("+placeholders(8)+")",
		ms(e.At), e.Login, e.Role, e.Action, e.Object, e.RemoteAddr, e.Outcome, e.Detail)
	if err != nil {
		return fmt.Errorf("adding an audit entry: %w", err)
	}
	e.ID = id
	return nil
}

func scanAudit(row scanner) (auth.AuditEntry, error) {
	var e auth.AuditEntry
	var at int64
	err := row.Scan(&e.ID, &at, &e.Login, &e.Role, &e.Action, &e.Object, &e.RemoteAddr, &e.Outcome, &e.Detail)
	e.At = fromMS(at)
	return e, err
}

func (d *DB) ListAudit(ctx context.Context, f AuditFilter) ([]auth.AuditEntry, error) {
	var w where
	if f.Login != "" {
		w.add("login = ?", f.Login)
	}
	if f.Action != "" {
		w.add(`action LIKE ? ESCAPE '\'`, likeEscape(f.Action)+"%")
	}
	if !f.Since.IsZero() {
		w.add("at >= ?", ms(f.Since))
	}
	if f.Before > 0 {
		w.add("id < ?", f.Before)
	}
	out, err := list(ctx, d, scanAudit, "SELECT id, at, login, role, action, object, remote_addr, outcome, detail FROM audit"+
		w.sql()+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limitOf(Page{Limit: f.Limit})), w.args...)
	return out, wrap(err, "listing the audit")
}

// DeleteAuditBefore removes entries older than t (the retention).
func (d *DB) DeleteAuditBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := d.exec(ctx, "DELETE FROM audit WHERE at < ?", ms(t))
	return n, wrap(err, "deleting old audit entries")
}
