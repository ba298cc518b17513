package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
)

// host groups

const groupCols = "id, name, description, source, created_at, updated_at"

func scanGroup(row interface{ Scan(...any) error }) (inventory.HostGroup, error) {
	var g inventory.HostGroup
	var c, u int64
	err := row.Scan(&g.ID, &g.Name, &g.Description, &g.Source, &c, &u)
	g.CreatedAt, g.UpdatedAt = fromMS(c), fromMS(u)
	return g, err
}

func (d *DB) CreateHostGroup(ctx context.Context, g *inventory.HostGroup) error {
	t := now()
	id, err := d.insert(ctx, "INSERT INTO hostgroups (name, description, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		g.Name, g.Description, g.Source, ms(t), ms(t))
	if err != nil {
		return d.conflict(err, fmt.Sprintf("host group %q", g.Name))
	}
	g.ID, g.CreatedAt, g.UpdatedAt = id, t, t
	return nil
}

func (d *DB) UpdateHostGroup(ctx context.Context, g *inventory.HostGroup) error {
	t := now()
	err := d.execOne(ctx, fmt.Sprintf("host group %d", g.ID),
		"UPDATE hostgroups SET name = ?, description = ?, source = ?, updated_at = ? WHERE id = ?",
		g.Name, g.Description, g.Source, ms(t), g.ID)
	if err != nil {
		return d.conflict(err, fmt.Sprintf("host group %q", g.Name))
	}
	g.UpdatedAt = t
	return nil
}

func (d *DB) DeleteHostGroup(ctx context.Context, id int64) error {
	return d.execOne(ctx, fmt.Sprintf("host group %d", id), "DELETE FROM hostgroups WHERE id = ?", id)
}

func (d *DB) GetHostGroup(ctx context.Context, id int64) (inventory.HostGroup, error) {
	g, err := scanGroup(d.db.QueryRowContext(ctx, d.q("SELECT "+groupCols+" FROM hostgroups WHERE id = ?"), id))
	return g, notFound(err, fmt.Sprintf("host group %d", id))
}

func (d *DB) GetHostGroupByName(ctx context.Context, name string) (inventory.HostGroup, error) {
	g, err := scanGroup(d.db.QueryRowContext(ctx, d.q("SELECT "+groupCols+" FROM hostgroups WHERE name = ?"), name))
	return g, notFound(err, fmt.Sprintf("host group %q", name))
}

func (d *DB) ListHostGroups(ctx context.Context, f HostGroupFilter) ([]inventory.HostGroup, error) {
	where, args := []string{"id > ?"}, []any{f.After}
	if f.Name != "" {
		where, args = append(where, "name = ?"), append(args, f.Name)
	}
	rows, err := d.db.QueryContext(ctx, d.q("SELECT "+groupCols+" FROM hostgroups WHERE "+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY id LIMIT %d", limitOf(f.Page))), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []inventory.HostGroup{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// hosts

const hostCols = "h.id, h.name, h.address, h.groups_json, h.tags_json, h.domain, h.location, h.notes, h.check_json, " +
	"h.interval_ms, h.retry_interval_ms, h.max_attempts, h.enabled, h.source, h.created_at, h.updated_at"

func scanHost(row interface{ Scan(...any) error }) (inventory.Host, error) {
	var (
		h                   inventory.Host
		groups, tags, check string
		iv, retry, c, u, en int64
	)
	err := row.Scan(&h.ID, &h.Name, &h.Address, &groups, &tags, &h.Domain, &h.Location, &h.Notes, &check,
		&iv, &retry, &h.MaxAttempts, &en, &h.Source, &c, &u)
	if err != nil {
		return h, err
	}
	h.Interval, h.RetryInterval = inventory.Duration(iv*int64(time.Millisecond)), inventory.Duration(retry*int64(time.Millisecond))
	h.Enabled, h.CreatedAt, h.UpdatedAt = en != 0, fromMS(c), fromMS(u)
	if err := json.Unmarshal([]byte(groups), &h.Groups); err != nil {
		return h, fmt.Errorf("decoding groups of host %d: %w", h.ID, err)
	}
	if err := json.Unmarshal([]byte(tags), &h.Tags); err != nil {
		return h, fmt.Errorf("decoding tags of host %d: %w", h.ID, err)
	}
	if check != "" {
		if err := json.Unmarshal([]byte(check), &h.Check); err != nil {
			return h, fmt.Errorf("decoding the check of host %d: %w", h.ID, err)
		}
	}
	return h, nil
}

func hostArgs(h *inventory.Host) ([]any, error) {
	groups := h.Groups
	if groups == nil {
		groups = []string{}
	}
	tags := h.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	gj, err := json.Marshal(groups)
	if err != nil {
		return nil, err
	}
	tj, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	cj := ""
	if h.Check != nil {
		b, err := json.Marshal(h.Check)
		if err != nil {
			return nil, fmt.Errorf("encoding the host check: %w", err)
		}
		cj = string(b)
	}
	return []any{h.Name, h.Address, string(gj), string(tj), h.Domain, h.Location, h.Notes, cj,
		h.Interval.D().Milliseconds(), h.RetryInterval.D().Milliseconds(), h.MaxAttempts, b2i(h.Enabled), h.Source}, nil
}

func (d *DB) CreateHost(ctx context.Context, h *inventory.Host) error {
	args, err := hostArgs(h)
	if err != nil {
		return err
	}
	t := now()
	id, err := d.insert(ctx, "INSERT INTO hosts (name, address, groups_json, tags_json, domain, location, notes, check_json, "+
		"interval_ms, retry_interval_ms, max_attempts, enabled, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		append(args, ms(t), ms(t))...)
	if err != nil {
		return d.conflict(err, fmt.Sprintf("host %q", h.Name))
	}
	h.ID, h.CreatedAt, h.UpdatedAt = id, t, t
	return nil
}

func (d *DB) UpdateHost(ctx context.Context, h *inventory.Host) error {
	args, err := hostArgs(h)
	if err != nil {
		return err
	}
	t := now()
	err = d.execOne(ctx, fmt.Sprintf("host %d", h.ID), "UPDATE hosts SET name = ?, address = ?, groups_json = ?, tags_json = ?, "+
		"domain = ?, location = ?, notes = ?, check_json = ?, interval_ms = ?, retry_interval_ms = ?, max_attempts = ?, "+
		"enabled = ?, source = ?, updated_at = ? WHERE id = ?", append(args, ms(t), h.ID)...)
	if err != nil {
		return d.conflict(err, fmt.Sprintf("host %q", h.Name))
	}
	h.UpdatedAt = t
	return nil
}

// DeleteHost deletes a host, its services (by cascade) and the status and
// history of both, in one transaction.
func (d *DB) DeleteHost(ctx context.Context, id int64) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{
		"DELETE FROM status WHERE kind = 'service' AND object_id IN (SELECT id FROM services WHERE host_id = ?)",
		"DELETE FROM state_changes WHERE kind = 'service' AND object_id IN (SELECT id FROM services WHERE host_id = ?)",
		"DELETE FROM status WHERE kind = 'host' AND object_id = ?",
		"DELETE FROM state_changes WHERE kind = 'host' AND object_id = ?",
		"DELETE FROM services WHERE host_id = ?",
	} {
		if _, err := tx.ExecContext(ctx, d.q(q), id); err != nil {
			return fmt.Errorf("deleting host %d: %w", id, err)
		}
	}
	res, err := tx.ExecContext(ctx, d.q("DELETE FROM hosts WHERE id = ?"), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("host %d: %w", id, ErrNotFound)
	}
	return tx.Commit()
}

func (d *DB) GetHost(ctx context.Context, id int64) (inventory.Host, error) {
	h, err := scanHost(d.db.QueryRowContext(ctx, d.q("SELECT "+hostCols+" FROM hosts h WHERE h.id = ?"), id))
	return h, notFound(err, fmt.Sprintf("host %d", id))
}

func (d *DB) GetHostByName(ctx context.Context, name string) (inventory.Host, error) {
	h, err := scanHost(d.db.QueryRowContext(ctx, d.q("SELECT "+hostCols+" FROM hosts h WHERE h.name = ?"), name))
	return h, notFound(err, fmt.Sprintf("host %q", name))
}

// stateWhere filters on the current state of an object: -1 is pending
// (never checked).
func stateWhere(alias string, st *int) (string, []any) {
	if *st < 0 {
		return "(" + alias + ".object_id IS NULL OR " + alias + ".checked = 0)", nil
	}
	return "(" + alias + ".checked = 1 AND " + alias + ".state = ?)", []any{*st}
}

func (d *DB) ListHosts(ctx context.Context, f HostFilter) ([]inventory.Host, error) {
	where, args := []string{"h.id > ?"}, []any{f.After}
	from := "hosts h"
	if f.Name != "" {
		where, args = append(where, "h.name = ?"), append(args, f.Name)
	}
	if f.Search != "" {
		p := "%" + likeEscape(strings.ToLower(f.Search)) + "%"
		where = append(where, `(LOWER(h.name) LIKE ? ESCAPE '\' OR LOWER(h.address) LIKE ? ESCAPE '\' OR LOWER(h.notes) LIKE ? ESCAPE '\')`)
		args = append(args, p, p, p)
	}
	if f.Group != "" {
		// Membership is in the JSON array: match the group's JSON string,
		// quotes included, so "web" does not match "web2".
		g, _ := json.Marshal(f.Group)
		where, args = append(where, `h.groups_json LIKE ? ESCAPE '\'`), append(args, "%"+likeEscape(string(g))+"%")
	}
	if f.Domain != "" {
		where, args = append(where, "h.domain = ?"), append(args, f.Domain)
	}
	if f.Domains != nil {
		w, a := inList("h.domain", f.Domains)
		where, args = append(where, w), append(args, a...)
	}
	if f.Source != "" {
		where, args = append(where, "h.source = ?"), append(args, f.Source)
	}
	if f.State != nil {
		from += " LEFT JOIN status st ON st.kind = 'host' AND st.object_id = h.id"
		w, a := stateWhere("st", f.State)
		where, args = append(where, w), append(args, a...)
	}
	rows, err := d.db.QueryContext(ctx, d.q("SELECT "+hostCols+" FROM "+from+" WHERE "+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY h.id LIMIT %d", limitOf(f.Page))), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []inventory.Host{}
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// services

const serviceCols = "s.id, s.host_id, h.name, s.name, s.check_json, s.interval_ms, s.retry_interval_ms, s.max_attempts, " +
	"s.timeout_ms, s.enabled, s.source, s.created_at, s.updated_at"

func scanService(row interface{ Scan(...any) error }) (inventory.Service, error) {
	var (
		s                       inventory.Service
		check                   string
		iv, retry, to, en, c, u int64
	)
	err := row.Scan(&s.ID, &s.HostID, &s.HostName, &s.Name, &check, &iv, &retry, &s.MaxAttempts, &to, &en, &s.Source, &c, &u)
	if err != nil {
		return s, err
	}
	s.Interval = inventory.Duration(iv * int64(time.Millisecond))
	s.RetryInterval = inventory.Duration(retry * int64(time.Millisecond))
	s.Timeout = inventory.Duration(to * int64(time.Millisecond))
	s.Enabled, s.CreatedAt, s.UpdatedAt = en != 0, fromMS(c), fromMS(u)
	if err := json.Unmarshal([]byte(check), &s.Check); err != nil {
		return s, fmt.Errorf("decoding the check of service %d: %w", s.ID, err)
	}
	return s, nil
}

func serviceArgs(s *inventory.Service) ([]any, error) {
	if s.Check == nil {
		s.Check = checks.Spec{}
	}
	cj, err := json.Marshal(s.Check)
	if err != nil {
		return nil, fmt.Errorf("encoding the check: %w", err)
	}
	return []any{s.HostID, s.Name, s.Check.Kind(), string(cj), s.Interval.D().Milliseconds(), s.RetryInterval.D().Milliseconds(),
		s.MaxAttempts, s.Timeout.D().Milliseconds(), b2i(s.Enabled), s.Source}, nil
}

func (d *DB) CreateService(ctx context.Context, s *inventory.Service) error {
	args, err := serviceArgs(s)
	if err != nil {
		return err
	}
	t := now()
	id, err := d.insert(ctx, "INSERT INTO services (host_id, name, kind, check_json, interval_ms, retry_interval_ms, max_attempts, "+
		"timeout_ms, enabled, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", append(args, ms(t), ms(t))...)
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") || strings.Contains(err.Error(), "23503") {
			return fmt.Errorf("host %d: %w", s.HostID, ErrNotFound)
		}
		return d.conflict(err, fmt.Sprintf("service %q on host %d", s.Name, s.HostID))
	}
	s.ID, s.CreatedAt, s.UpdatedAt = id, t, t
	return nil
}

func (d *DB) UpdateService(ctx context.Context, s *inventory.Service) error {
	args, err := serviceArgs(s)
	if err != nil {
		return err
	}
	t := now()
	err = d.execOne(ctx, fmt.Sprintf("service %d", s.ID), "UPDATE services SET host_id = ?, name = ?, kind = ?, check_json = ?, "+
		"interval_ms = ?, retry_interval_ms = ?, max_attempts = ?, timeout_ms = ?, enabled = ?, source = ?, updated_at = ? WHERE id = ?",
		append(args, ms(t), s.ID)...)
	if err != nil {
		return d.conflict(err, fmt.Sprintf("service %q on host %d", s.Name, s.HostID))
	}
	s.UpdatedAt = t
	return nil
}

func (d *DB) DeleteService(ctx context.Context, id int64) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{
		"DELETE FROM status WHERE kind = 'service' AND object_id = ?",
		"DELETE FROM state_changes WHERE kind = 'service' AND object_id = ?",
	} {
		if _, err := tx.ExecContext(ctx, d.q(q), id); err != nil {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, d.q("DELETE FROM services WHERE id = ?"), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("service %d: %w", id, ErrNotFound)
	}
	return tx.Commit()
}

func (d *DB) GetService(ctx context.Context, id int64) (inventory.Service, error) {
	s, err := scanService(d.db.QueryRowContext(ctx, d.q("SELECT "+serviceCols+" FROM services s JOIN hosts h ON h.id = s.host_id WHERE s.id = ?"), id))
	return s, notFound(err, fmt.Sprintf("service %d", id))
}

func (d *DB) ListServices(ctx context.Context, f ServiceFilter) ([]inventory.Service, error) {
	where, args := []string{"s.id > ?"}, []any{f.After}
	from := "services s JOIN hosts h ON h.id = s.host_id"
	if f.HostID != 0 {
		where, args = append(where, "s.host_id = ?"), append(args, f.HostID)
	}
	if f.Name != "" {
		where, args = append(where, "s.name = ?"), append(args, f.Name)
	}
	if f.Kind != "" {
		where, args = append(where, "s.kind = ?"), append(args, f.Kind)
	}
	if f.Source != "" {
		where, args = append(where, "s.source = ?"), append(args, f.Source)
	}
	if f.Enabled != nil {
		where, args = append(where, "s.enabled = ?"), append(args, b2i(*f.Enabled))
	}
	if f.Domains != nil {
		w, a := inList("h.domain", f.Domains)
		where, args = append(where, w), append(args, a...)
	}
	if f.State != nil {
		from += " LEFT JOIN status st ON st.kind = 'service' AND st.object_id = s.id"
		w, a := stateWhere("st", f.State)
		where, args = append(where, w), append(args, a...)
	}
	rows, err := d.db.QueryContext(ctx, d.q("SELECT "+serviceCols+" FROM "+from+" WHERE "+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY s.id LIMIT %d", limitOf(f.Page))), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []inventory.Service{}
	for rows.Next() {
		s, err := scanService(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// inList is "col IN (?, …)"; an empty list matches nothing.
func inList(col string, vals []string) (string, []any) {
	if len(vals) == 0 {
		return "1 = 0", nil
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args
}
