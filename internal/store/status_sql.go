package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-monitoring/vigie/internal/state"
)

const statusCols = "kind, object_id, state, state_type, attempt, output, long_output, perfdata_json, duration_us, checked, " +
	"last_check, next_check, last_state_change, last_hard_state_change, last_hard_state, flapping, percent_state_change, " +
	"flap_history, flap_count, unreachable"

func scanStatus(row interface{ Scan(...any) error }) (state.Status, error) {
	var (
		st                                      state.Status
		perf                                    string
		dur, checked, lc, nc, lsc, lhsc, fl, un int64
		hist                                    int64
	)
	err := row.Scan(&st.Kind, &st.ObjectID, &st.State, &st.StateType, &st.Attempt, &st.Output, &st.LongOutput, &perf, &dur,
		&checked, &lc, &nc, &lsc, &lhsc, &st.LastHardState, &fl, &st.PercentStateChange, &hist, &st.FlapCount, &un)
	if err != nil {
		return st, err
	}
	st.Duration = time.Duration(dur) * time.Microsecond
	st.Checked, st.Flapping, st.Unreachable = checked != 0, fl != 0, un != 0
	st.LastCheck, st.NextCheck, st.LastStateChange, st.LastHardStateChange = fromMS(lc), fromMS(nc), fromMS(lsc), fromMS(lhsc)
	st.FlapHistory = uint32(hist)
	if err := json.Unmarshal([]byte(perf), &st.Perfdata); err != nil {
		return st, fmt.Errorf("decoding perfdata of %s %d: %w", st.Kind, st.ObjectID, err)
	}
	return st, nil
}

// ApplyStatus writes a batch of check outcomes in one transaction: one
// commit for thousands of results is what lets the scheduler run thousands
// of checks a second.
func (d *DB) ApplyStatus(ctx context.Context, batch []StatusUpdate) error {
	if len(batch) == 0 {
		return nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a status batch: %w", err)
	}
	defer tx.Rollback()
	if err := d.upsertStatus(ctx, tx, batch); err != nil {
		return err
	}
	var closeOpen, open *sql.Stmt
	for _, u := range batch {
		if c := u.Change; c != nil {
			if closeOpen == nil {
				if closeOpen, err = tx.PrepareContext(ctx, d.q("UPDATE state_changes SET end_ms = ? WHERE kind = ? AND object_id = ? AND end_ms IS NULL")); err != nil {
					return err
				}
				defer closeOpen.Close()
				if open, err = tx.PrepareContext(ctx, d.q("INSERT INTO state_changes (kind, object_id, state, state_type, output, start_ms) VALUES (?, ?, ?, ?, ?, ?)")); err != nil {
					return err
				}
				defer open.Close()
			}
			if _, err := closeOpen.ExecContext(ctx, ms(c.Start), c.Kind, c.ObjectID); err != nil {
				return fmt.Errorf("closing the state period of %s %d: %w", c.Kind, c.ObjectID, err)
			}
			if _, err := open.ExecContext(ctx, c.Kind, c.ObjectID, c.State, c.StateType, c.Output, ms(c.Start)); err != nil {
				return fmt.Errorf("opening a state period of %s %d: %w", c.Kind, c.ObjectID, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing a status batch: %w", err)
	}
	return nil
}

// upsertChunk is how many statuses one INSERT carries: 20 parameters each
// stays far below both databases' limits, and a few round trips per batch
// instead of one per row is what makes PostgreSQL keep up.
const upsertChunk = 500

// upsertStatus writes the latest status of every object in the batch with
// multi-row INSERT … ON CONFLICT statements. An object may appear twice in
// a batch; only its last status counts (and one statement may not touch a
// row twice).
func (d *DB) upsertStatus(ctx context.Context, tx *sql.Tx, batch []StatusUpdate) error {
	type key struct {
		kind string
		id   int64
	}
	last := make(map[key]int, len(batch))
	for i, u := range batch {
		last[key{u.Status.Kind, u.Status.ObjectID}] = i
	}
	rows := make([]*state.Status, 0, len(last))
	for i := range batch {
		if last[key{batch[i].Status.Kind, batch[i].Status.ObjectID}] == i {
			rows = append(rows, &batch[i].Status)
		}
	}
	const one = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), upsertChunk)]
		rows = rows[len(chunk):]
		args := make([]any, 0, 20*len(chunk))
		for _, st := range chunk {
			perf := "[]"
			if len(st.Perfdata) > 0 {
				b, err := json.Marshal(st.Perfdata)
				if err != nil {
					return fmt.Errorf("encoding perfdata: %w", err)
				}
				perf = string(b)
			}
			args = append(args, st.Kind, st.ObjectID, st.State, st.StateType, st.Attempt, st.Output, st.LongOutput,
				perf, st.Duration.Microseconds(), b2i(st.Checked), ms(st.LastCheck), ms(st.NextCheck), ms(st.LastStateChange),
				ms(st.LastHardStateChange), st.LastHardState, b2i(st.Flapping), st.PercentStateChange, int64(st.FlapHistory),
				st.FlapCount, b2i(st.Unreachable))
		}
		q := "INSERT INTO status (" + statusCols + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", len(chunk)), ", ") +
			" ON CONFLICT (kind, object_id) DO UPDATE SET state = excluded.state, state_type = excluded.state_type, " +
			"attempt = excluded.attempt, output = excluded.output, long_output = excluded.long_output, " +
			"perfdata_json = excluded.perfdata_json, duration_us = excluded.duration_us, checked = excluded.checked, " +
			"last_check = excluded.last_check, next_check = excluded.next_check, last_state_change = excluded.last_state_change, " +
			"last_hard_state_change = excluded.last_hard_state_change, last_hard_state = excluded.last_hard_state, " +
			"flapping = excluded.flapping, percent_state_change = excluded.percent_state_change, " +
			"flap_history = excluded.flap_history, flap_count = excluded.flap_count, unreachable = excluded.unreachable"
		if _, err := tx.ExecContext(ctx, d.q(q), args...); err != nil {
			return fmt.Errorf("writing %d statuses: %w", len(chunk), err)
		}
	}
	return nil
}

func (d *DB) LoadStatus(ctx context.Context, kind string) ([]state.Status, error) {
	rows, err := d.db.QueryContext(ctx, d.q("SELECT "+statusCols+" FROM status WHERE kind = ?"), kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []state.Status
	for rows.Next() {
		st, err := scanStatus(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func (d *DB) GetStatus(ctx context.Context, kind string, id int64) (state.Status, error) {
	st, err := scanStatus(d.db.QueryRowContext(ctx, d.q("SELECT "+statusCols+" FROM status WHERE kind = ? AND object_id = ?"), kind, id))
	return st, notFound(err, fmt.Sprintf("status of %s %d", kind, id))
}

func (d *DB) ListChanges(ctx context.Context, kind string, id int64, from, to time.Time, limit int) ([]state.Change, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	rows, err := d.db.QueryContext(ctx, d.q("SELECT id, kind, object_id, state, state_type, output, start_ms, end_ms FROM state_changes "+
		"WHERE kind = ? AND object_id = ? AND start_ms < ? AND (end_ms IS NULL OR end_ms > ?) ORDER BY start_ms DESC, id DESC"+
		fmt.Sprintf(" LIMIT %d", limit)), kind, id, ms(to), ms(from))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []state.Change{}
	for rows.Next() {
		var (
			c     state.Change
			start int64
			end   sql.NullInt64
		)
		if err := rows.Scan(&c.ID, &c.Kind, &c.ObjectID, &c.State, &c.StateType, &c.Output, &start, &end); err != nil {
			return nil, err
		}
		c.Start, c.End = fromMS(start), fromMSPtr(end)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (d *DB) CountStates(ctx context.Context, kind string) (map[int]int, error) {
	table := "services"
	if kind == state.KindHost {
		table = "hosts"
	} else if kind != state.KindService {
		return nil, fmt.Errorf("counting states: unknown kind %q", kind)
	}
	rows, err := d.db.QueryContext(ctx, d.q("SELECT CASE WHEN st.checked = 1 THEN st.state ELSE -1 END AS s, COUNT(*) FROM "+table+
		" o LEFT JOIN status st ON st.kind = ? AND st.object_id = o.id WHERE o.enabled = 1 GROUP BY s"), kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var s, n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] += n
	}
	return out, rows.Err()
}
