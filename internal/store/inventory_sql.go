package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
)

// host groups

const groupCols = "id, name, description, snmp_template_json, source, created_at, updated_at"

func scanGroup(row scanner) (inventory.HostGroup, error) {
	var g inventory.HostGroup
	var c, u int64
	var tmpl string
	err := row.Scan(&g.ID, &g.Name, &g.Description, &tmpl, &g.Source, &c, &u)
	g.CreatedAt, g.UpdatedAt = fromMS(c), fromMS(u)
	if err == nil && tmpl != "" {
		g.SNMPTemplate = &inventory.SNMPTemplate{}
		if err := json.Unmarshal([]byte(tmpl), g.SNMPTemplate); err != nil {
			return g, fmt.Errorf("decoding the SNMP template of host group %d: %w", g.ID, err)
		}
	}
	return g, err
}

// templateArg encodes a group's template; no template is "".
func templateArg(g *inventory.HostGroup) (string, error) {
	if g.SNMPTemplate == nil {
		return "", nil
	}
	b, err := json.Marshal(g.SNMPTemplate)
	if err != nil {
		return "", fmt.Errorf("encoding the SNMP template of host group %q: %w", g.Name, err)
	}
	return string(b), nil
}

func (d *DB) CreateHostGroup(ctx context.Context, g *inventory.HostGroup) error {
	tmpl, err := templateArg(g)
	if err != nil {
		return err
	}
	t := d.stamp()
	id, err := d.insert(ctx, "INSERT INTO hostgroups (name, description, snmp_template_json, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		g.Name, g.Description, tmpl, g.Source, ms(t), ms(t))
	if err != nil {
		return d.conflict(err, "creating a host group", fmt.Sprintf("host group %q", g.Name))
	}
	g.ID, g.CreatedAt, g.UpdatedAt = id, t, t
	return nil
}

func (d *DB) UpdateHostGroup(ctx context.Context, g *inventory.HostGroup) error {
	tmpl, err := templateArg(g)
	if err != nil {
		return err
	}
	t := d.stamp()
	err = d.execOne(ctx, fmt.Sprintf("host group %d", g.ID),
		"UPDATE hostgroups SET name = ?, description = ?, snmp_template_json = ?, source = ?, updated_at = ? WHERE id = ?",
		g.Name, g.Description, tmpl, g.Source, ms(t), g.ID)
	if err != nil {
		return d.conflict(err, fmt.Sprintf("updating host group %d", g.ID), fmt.Sprintf("host group %q", g.Name))
	}
	g.UpdatedAt = t
	return nil
}

// DeleteHostGroup deletes a group; hosts keep the name in their groups, as
// a group is only a name they share.
func (d *DB) DeleteHostGroup(ctx context.Context, id int64) error {
	return wrap(d.execOne(ctx, fmt.Sprintf("host group %d", id), "DELETE FROM hostgroups WHERE id = ?", id),
		fmt.Sprintf("deleting host group %d", id))
}

func (d *DB) GetHostGroup(ctx context.Context, id int64) (inventory.HostGroup, error) {
	return get(ctx, d, scanGroup, fmt.Sprintf("host group %d", id), "SELECT "+groupCols+" FROM hostgroups WHERE id = ?", id)
}

func (d *DB) GetHostGroupByName(ctx context.Context, name string) (inventory.HostGroup, error) {
	return get(ctx, d, scanGroup, fmt.Sprintf("host group %q", name), "SELECT "+groupCols+" FROM hostgroups WHERE name = ?", name)
}

func (d *DB) ListHostGroups(ctx context.Context, f HostGroupFilter) ([]inventory.HostGroup, error) {
	var w where
	w.add("id > ?", f.After)
	if f.Name != "" {
		w.add("name = ?", f.Name)
	}
	out, err := list(ctx, d, scanGroup, "SELECT "+groupCols+" FROM hostgroups"+w.sql()+
		fmt.Sprintf(" ORDER BY id LIMIT %d", limitOf(f.Page)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("listing host groups: %w", err)
	}
	return out, nil
}

// hosts

const hostCols = "h.id, h.name, h.address, h.groups_json, h.tags_json, h.domain, h.location, h.notes, h.check_json, h.snmp_json, " +
	"h.interval_ms, h.retry_interval_ms, h.max_attempts, h.enabled, h.source, h.created_at, h.updated_at"

func scanHost(row scanner) (inventory.Host, error) {
	var (
		h                         inventory.Host
		groups, tags, check, snmp string
		iv, retry, c, u, en       int64
	)
	err := row.Scan(&h.ID, &h.Name, &h.Address, &groups, &tags, &h.Domain, &h.Location, &h.Notes, &check, &snmp,
		&iv, &retry, &h.MaxAttempts, &en, &h.Source, &c, &u)
	if err != nil {
		return h, err
	}
	h.Interval, h.RetryInterval = msDuration(iv), msDuration(retry)
	h.Enabled, h.CreatedAt, h.UpdatedAt = en != 0, fromMS(c), fromMS(u)
	if err := json.Unmarshal([]byte(groups), &h.Groups); err != nil {
		return h, fmt.Errorf("decoding the groups of host %d: %w", h.ID, err)
	}
	if err := json.Unmarshal([]byte(tags), &h.Tags); err != nil {
		return h, fmt.Errorf("decoding the tags of host %d: %w", h.ID, err)
	}
	if check != "" {
		if err := json.Unmarshal([]byte(check), &h.Check); err != nil {
			return h, fmt.Errorf("decoding the check of host %d: %w", h.ID, err)
		}
	}
	if snmp != "" {
		if err := json.Unmarshal([]byte(snmp), &h.SNMP); err != nil {
			return h, fmt.Errorf("decoding the SNMP settings of host %d: %w", h.ID, err)
		}
	}
	return h, nil
}

// hostArgs encodes a host's columns. Groups and tags are stored as [] and
// {} when empty, so that they read back as empty rather than nil and the
// JSON functions of the filters always see valid JSON; a nil check (the
// default check) is stored as "".
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
		return nil, fmt.Errorf("encoding the groups of host %q: %w", h.Name, err)
	}
	tj, err := json.Marshal(tags)
	if err != nil {
		return nil, fmt.Errorf("encoding the tags of host %q: %w", h.Name, err)
	}
	cj := ""
	if h.Check != nil {
		b, err := json.Marshal(h.Check)
		if err != nil {
			return nil, fmt.Errorf("encoding the check of host %q: %w", h.Name, err)
		}
		cj = string(b)
	}
	sj := ""
	if len(h.SNMP) > 0 {
		b, err := json.Marshal(h.SNMP)
		if err != nil {
			return nil, fmt.Errorf("encoding the SNMP settings of host %q: %w", h.Name, err)
		}
		sj = string(b)
	}
	return []any{h.Name, h.Address, string(gj), string(tj), h.Domain, h.Location, h.Notes, cj, sj,
		h.Interval.D().Milliseconds(), h.RetryInterval.D().Milliseconds(), h.MaxAttempts, b2i(h.Enabled), h.Source}, nil
}

func (d *DB) CreateHost(ctx context.Context, h *inventory.Host) error {
	args, err := hostArgs(h)
	if err != nil {
		return err
	}
	t := d.stamp()
	id, err := d.insert(ctx, "INSERT INTO hosts (name, address, groups_json, tags_json, domain, location, notes, check_json, snmp_json, "+
		"interval_ms, retry_interval_ms, max_attempts, enabled, source, created_at, updated_at) VALUES ("+placeholders(16)+")",
		append(args, ms(t), ms(t))...)
	if err != nil {
		return d.conflict(err, "creating a host", fmt.Sprintf("host %q", h.Name))
	}
	h.ID, h.CreatedAt, h.UpdatedAt = id, t, t
	return nil
}

// UpdateHost replaces every column of the host but CreatedAt.
func (d *DB) UpdateHost(ctx context.Context, h *inventory.Host) error {
	args, err := hostArgs(h)
	if err != nil {
		return err
	}
	t := d.stamp()
	err = d.execOne(ctx, fmt.Sprintf("host %d", h.ID), "UPDATE hosts SET name = ?, address = ?, groups_json = ?, tags_json = ?, "+
		"domain = ?, location = ?, notes = ?, check_json = ?, snmp_json = ?, interval_ms = ?, retry_interval_ms = ?, max_attempts = ?, "+
		"enabled = ?, source = ?, updated_at = ? WHERE id = ?", append(args, ms(t), h.ID)...)
	if err != nil {
		return d.conflict(err, fmt.Sprintf("updating host %d", h.ID), fmt.Sprintf("host %q", h.Name))
	}
	h.UpdatedAt = t
	return nil
}

// DeleteHost deletes a host, its services (the foreign key cascades) and
// the status and history of both. Status and history hold hosts and
// services alike, so no foreign key can reach them: they go in the same
// transaction instead.
func (d *DB) DeleteHost(ctx context.Context, id int64) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM status WHERE kind = 'service' AND object_id IN (SELECT id FROM services WHERE host_id = ?)",
			"DELETE FROM state_changes WHERE kind = 'service' AND object_id IN (SELECT id FROM services WHERE host_id = ?)",
			"DELETE FROM status WHERE kind = 'host' AND object_id = ?",
			"DELETE FROM state_changes WHERE kind = 'host' AND object_id = ?",
		} {
			if _, err := tx.ExecContext(ctx, d.q(q), id); err != nil {
				return err
			}
		}
		return deleteOne(ctx, tx, d.q("DELETE FROM hosts WHERE id = ?"), fmt.Sprintf("host %d", id), id)
	})
	return wrap(err, fmt.Sprintf("deleting host %d", id))
}

// deleteOne runs a DELETE in a transaction; deleting nothing is
// ErrNotFound, which rolls the transaction back.
func deleteOne(ctx context.Context, tx *sql.Tx, query, what string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

func (d *DB) GetHost(ctx context.Context, id int64) (inventory.Host, error) {
	return get(ctx, d, scanHost, fmt.Sprintf("host %d", id), "SELECT "+hostCols+" FROM hosts h WHERE h.id = ?", id)
}

func (d *DB) GetHostByName(ctx context.Context, name string) (inventory.Host, error) {
	return get(ctx, d, scanHost, fmt.Sprintf("host %q", name), "SELECT "+hostCols+" FROM hosts h WHERE h.name = ?", name)
}

// ListHosts lists hosts by id. The state filter joins the status table:
// -1 (pending) is a host with no status or never checked.
func (d *DB) ListHosts(ctx context.Context, f HostFilter) ([]inventory.Host, error) {
	var w where
	from := "hosts h"
	w.add("h.id > ?", f.After)
	if f.Name != "" {
		w.add("h.name = ?", f.Name)
	}
	if f.Search != "" {
		p := "%" + likeEscape(strings.ToLower(f.Search)) + "%"
		w.add(`(LOWER(h.name) LIKE ? ESCAPE '\' OR LOWER(h.address) LIKE ? ESCAPE '\' OR LOWER(h.notes) LIKE ? ESCAPE '\')`, p, p, p)
	}
	if f.Group != "" {
		w.add(d.d.inGroup, f.Group)
	}
	if f.Domain != "" {
		w.add("h.domain = ?", f.Domain)
	}
	if f.Domains != nil {
		w.in("h.domain", f.Domains)
	}
	if f.Source != "" {
		w.add("h.source = ?", f.Source)
	}
	if f.State != nil {
		from += " LEFT JOIN status st ON st.kind = 'host' AND st.object_id = h.id"
		w.state("st", *f.State)
	}
	out, err := list(ctx, d, scanHost, "SELECT "+hostCols+" FROM "+from+w.sql()+
		fmt.Sprintf(" ORDER BY h.id LIMIT %d", limitOf(f.Page)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("listing hosts: %w", err)
	}
	return out, nil
}

// services

const serviceCols = "s.id, s.host_id, h.name, s.name, s.check_json, s.interval_ms, s.retry_interval_ms, s.max_attempts, " +
	"s.timeout_ms, s.enabled, s.source, s.template, s.created_at, s.updated_at"

// serviceFrom joins the host for HostName.
const serviceFrom = "services s JOIN hosts h ON h.id = s.host_id"

func scanService(row scanner) (inventory.Service, error) {
	var (
		s                       inventory.Service
		check                   string
		iv, retry, to, en, c, u int64
	)
	err := row.Scan(&s.ID, &s.HostID, &s.HostName, &s.Name, &check, &iv, &retry, &s.MaxAttempts, &to, &en, &s.Source, &s.Template, &c, &u)
	if err != nil {
		return s, err
	}
	s.Interval, s.RetryInterval, s.Timeout = msDuration(iv), msDuration(retry), msDuration(to)
	s.Enabled, s.CreatedAt, s.UpdatedAt = en != 0, fromMS(c), fromMS(u)
	if err := json.Unmarshal([]byte(check), &s.Check); err != nil {
		return s, fmt.Errorf("decoding the check of service %d: %w", s.ID, err)
	}
	return s, nil
}

// serviceArgs encodes a service's columns. The check's kind is a column of
// its own so that the kind filter needs no JSON function.
func serviceArgs(s *inventory.Service) ([]any, error) {
	check := s.Check
	if check == nil {
		check = checks.Spec{}
	}
	cj, err := json.Marshal(check)
	if err != nil {
		return nil, fmt.Errorf("encoding the check of service %q: %w", s.Name, err)
	}
	return []any{s.HostID, s.Name, check.Kind(), string(cj), s.Interval.D().Milliseconds(), s.RetryInterval.D().Milliseconds(),
		s.MaxAttempts, s.Timeout.D().Milliseconds(), b2i(s.Enabled), s.Source, s.Template}, nil
}

// serviceErr maps a write's error: a missing host is ErrNotFound, a
// second service of the same name on the host ErrConflict.
func (d *DB) serviceErr(err error, doing string, s *inventory.Service) error {
	if err != nil && d.d.isForeignKey(err) {
		return fmt.Errorf("host %d: %w", s.HostID, ErrNotFound)
	}
	return d.conflict(err, doing, fmt.Sprintf("service %q on host %d", s.Name, s.HostID))
}

func (d *DB) CreateService(ctx context.Context, s *inventory.Service) error {
	args, err := serviceArgs(s)
	if err != nil {
		return err
	}
	t := d.stamp()
	id, err := d.insert(ctx, "INSERT INTO services (host_id, name, kind, check_json, interval_ms, retry_interval_ms, max_attempts, "+
		"timeout_ms, enabled, source, template, created_at, updated_at) VALUES ("+placeholders(13)+")", append(args, ms(t), ms(t))...)
	if err != nil {
		return d.serviceErr(err, "creating a service", s)
	}
	s.ID, s.CreatedAt, s.UpdatedAt = id, t, t
	return nil
}

// UpdateService replaces every column of the service but CreatedAt (the
// host may change too).
func (d *DB) UpdateService(ctx context.Context, s *inventory.Service) error {
	args, err := serviceArgs(s)
	if err != nil {
		return err
	}
	t := d.stamp()
	err = d.execOne(ctx, fmt.Sprintf("service %d", s.ID), "UPDATE services SET host_id = ?, name = ?, kind = ?, check_json = ?, "+
		"interval_ms = ?, retry_interval_ms = ?, max_attempts = ?, timeout_ms = ?, enabled = ?, source = ?, template = ?, updated_at = ? WHERE id = ?",
		append(args, ms(t), s.ID)...)
	if err != nil {
		return d.serviceErr(err, fmt.Sprintf("updating service %d", s.ID), s)
	}
	s.UpdatedAt = t
	return nil
}

// DeleteService deletes a service with its status and history, in one
// transaction.
func (d *DB) DeleteService(ctx context.Context, id int64) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM status WHERE kind = 'service' AND object_id = ?",
			"DELETE FROM state_changes WHERE kind = 'service' AND object_id = ?",
		} {
			if _, err := tx.ExecContext(ctx, d.q(q), id); err != nil {
				return err
			}
		}
		return deleteOne(ctx, tx, d.q("DELETE FROM services WHERE id = ?"), fmt.Sprintf("service %d", id), id)
	})
	return wrap(err, fmt.Sprintf("deleting service %d", id))
}

func (d *DB) GetService(ctx context.Context, id int64) (inventory.Service, error) {
	return get(ctx, d, scanService, fmt.Sprintf("service %d", id), "SELECT "+serviceCols+" FROM "+serviceFrom+" WHERE s.id = ?", id)
}

// ListServices lists services by id, with their host's name.
func (d *DB) ListServices(ctx context.Context, f ServiceFilter) ([]inventory.Service, error) {
	var w where
	from := serviceFrom
	w.add("s.id > ?", f.After)
	if f.HostID != 0 {
		w.add("s.host_id = ?", f.HostID)
	}
	if f.Name != "" {
		w.add("s.name = ?", f.Name)
	}
	if f.Kind != "" {
		w.add("s.kind = ?", f.Kind)
	}
	if f.Source != "" {
		w.add("s.source = ?", f.Source)
	}
	if f.Template != "" {
		w.add("s.template = ?", f.Template)
	}
	if f.Enabled != nil {
		w.add("s.enabled = ?", b2i(*f.Enabled))
	}
	if f.Domains != nil {
		w.in("h.domain", f.Domains)
	}
	if f.State != nil {
		from += " LEFT JOIN status st ON st.kind = 'service' AND st.object_id = s.id"
		w.state("st", *f.State)
	}
	out, err := list(ctx, d, scanService, "SELECT "+serviceCols+" FROM "+from+w.sql()+
		fmt.Sprintf(" ORDER BY s.id LIMIT %d", limitOf(f.Page)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	return out, nil
}

func msDuration(v int64) inventory.Duration {
	return inventory.Duration(time.Duration(v) * time.Millisecond)
}

// where builds a WHERE clause from conditions joined by AND.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in is "col IN (?, …)"; an empty list matches nothing.
func (w *where) in(col string, vals []string) {
	if len(vals) == 0 {
		w.add("1 = 0")
		return
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	w.add(col+" IN ("+placeholders(len(vals))+")", args...)
}

// state filters on the current state of the status joined as alias: -1 is
// pending (no status row, or never checked).
func (w *where) state(alias string, st int) {
	if st < 0 {
		w.add("(" + alias + ".object_id IS NULL OR " + alias + ".checked = 0)")
		return
	}
	w.add("("+alias+".checked = 1 AND "+alias+".state = ?)", st)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
