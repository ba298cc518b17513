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

const statusWidth = 20

func scanStatus(row scanner) (state.Status, error) {
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
// of checks a second. Statuses are upserted; each change closes the
// object's open period at its start and opens a new one.
func (d *DB) ApplyStatus(ctx context.Context, batch []StatusUpdate) error {
	if len(batch) == 0 {
		return nil
	}
	statuses, err := statusRows(batch)
	if err != nil {
		return err
	}
	closing, opening := changeRows(batch)
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		if err := d.batchExec(ctx, tx, "INSERT INTO status ("+statusCols+") VALUES ", "("+placeholders(statusWidth)+")",
			" ON CONFLICT (kind, object_id) DO UPDATE SET state = excluded.state, state_type = excluded.state_type, "+
				"attempt = excluded.attempt, output = excluded.output, long_output = excluded.long_output, "+
				"perfdata_json = excluded.perfdata_json, duration_us = excluded.duration_us, checked = excluded.checked, "+
				"last_check = excluded.last_check, next_check = excluded.next_check, last_state_change = excluded.last_state_change, "+
				"last_hard_state_change = excluded.last_hard_state_change, last_hard_state = excluded.last_hard_state, "+
				"flapping = excluded.flapping, percent_state_change = excluded.percent_state_change, "+
				"flap_history = excluded.flap_history, flap_count = excluded.flap_count, unreachable = excluded.unreachable",
			statusWidth, statuses); err != nil {
			return fmt.Errorf("writing statuses: %w", err)
		}
		// Columns of a VALUES list are column1, column2… on both databases.
		if err := d.batchExec(ctx, tx, "UPDATE state_changes SET end_ms = v.column3 FROM (VALUES ",
			"(?, CAST(? AS BIGINT), CAST(? AS BIGINT))",
			") AS v WHERE state_changes.kind = v.column1 AND state_changes.object_id = v.column2 AND state_changes.end_ms IS NULL",
			3, closing); err != nil {
			return fmt.Errorf("closing state periods: %w", err)
		}
		if err := d.batchExec(ctx, tx, "INSERT INTO state_changes (kind, object_id, state, state_type, output, start_ms, end_ms) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?)", "", 7, opening); err != nil {
			return fmt.Errorf("opening state periods: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("applying %d status updates: %w", len(batch), err)
	}
	return nil
}

type objectKey struct {
	kind string
	id   int64
}

// statusRows is the upsert's arguments: the last status of every object in
// the batch (one statement may not touch a row twice, and the last is the
// newest).
func statusRows(batch []StatusUpdate) ([]any, error) {
	last := make(map[objectKey]int, len(batch))
	for i, u := range batch {
		last[objectKey{u.Status.Kind, u.Status.ObjectID}] = i
	}
	args := make([]any, 0, statusWidth*len(last))
	for i := range batch {
		st := &batch[i].Status
		if last[objectKey{st.Kind, st.ObjectID}] != i {
			continue
		}
		perf := "[]"
		if len(st.Perfdata) > 0 {
			b, err := json.Marshal(st.Perfdata)
			if err != nil {
				return nil, fmt.Errorf("encoding the perfdata of %s %d: %w", st.Kind, st.ObjectID, err)
			}
			perf = string(b)
		}
		args = append(args, st.Kind, st.ObjectID, st.State, st.StateType, st.Attempt, st.Output, st.LongOutput,
			perf, st.Duration.Microseconds(), b2i(st.Checked), ms(st.LastCheck), ms(st.NextCheck), ms(st.LastStateChange),
			ms(st.LastHardStateChange), st.LastHardState, b2i(st.Flapping), st.PercentStateChange, int64(st.FlapHistory),
			st.FlapCount, b2i(st.Unreachable))
	}
	return args, nil
}

// changeRows is what the changes of a batch write: for each object that
// changed, the open period to close at its first change, and every new
// period, all but the object's last one already closed by the next. So an
// object changing twice in one batch needs no statement order.
func changeRows(batch []StatusUpdate) (closing, opening []any) {
	var order []objectKey
	changes := map[objectKey][]*state.Change{}
	for _, u := range batch {
		if c := u.Change; c != nil {
			k := objectKey{c.Kind, c.ObjectID}
			if changes[k] == nil {
				order = append(order, k)
			}
			changes[k] = append(changes[k], c)
		}
	}
	for _, k := range order {
		cs := changes[k]
		closing = append(closing, k.kind, k.id, ms(cs[0].Start))
		for i, c := range cs {
			var end any
			if i+1 < len(cs) {
				end = ms(cs[i+1].Start)
			}
			opening = append(opening, c.Kind, c.ObjectID, c.State, c.StateType, c.Output, ms(c.Start), end)
		}
	}
	return closing, opening
}

// batchExec runs head + "(row), (row), …" + tail over args, width
// arguments a row, the dialect's chunk of rows a statement. On SQLite, whose
// driver keeps no statement cache, full chunks share a statement prepared
// in the transaction; pgx caches prepared statements by itself.
func (d *DB) batchExec(ctx context.Context, tx *sql.Tx, head, row, tail string, width int, args []any) error {
	chunk := d.d.statusChunk
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for len(args) > 0 {
		n := min(len(args)/width, chunk)
		part := args[:n*width]
		args = args[n*width:]
		q := d.q(head + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + tail)
		var err error
		switch {
		case n == chunk && d.d.prepare:
			if full == nil {
				if full, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, part...)
		default:
			_, err = tx.ExecContext(ctx, q, part...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// LoadStatus returns the stored status of every object of a kind.
func (d *DB) LoadStatus(ctx context.Context, kind string) ([]state.Status, error) {
	out, err := list(ctx, d, scanStatus, "SELECT "+statusCols+" FROM status WHERE kind = ?", kind)
	if err != nil {
		return nil, fmt.Errorf("loading %s statuses: %w", kind, err)
	}
	return out, nil
}

func (d *DB) GetStatus(ctx context.Context, kind string, id int64) (state.Status, error) {
	return get(ctx, d, scanStatus, fmt.Sprintf("status of %s %d", kind, id),
		"SELECT "+statusCols+" FROM status WHERE kind = ? AND object_id = ?", kind, id)
}

func scanChange(row scanner) (state.Change, error) {
	var (
		c     state.Change
		start int64
		end   sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.Kind, &c.ObjectID, &c.State, &c.StateType, &c.Output, &start, &end)
	c.Start, c.End = fromMS(start), fromMSPtr(end)
	return c, err
}

// ListChanges returns the periods overlapping [from, to): begun before to,
// and open or ended after from. A limit of 0 means 1,000; at most 10,000.
func (d *DB) ListChanges(ctx context.Context, kind string, id int64, from, to time.Time, limit int) ([]state.Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	out, err := list(ctx, d, scanChange, "SELECT id, kind, object_id, state, state_type, output, start_ms, end_ms FROM state_changes "+
		"WHERE kind = ? AND object_id = ? AND start_ms < ? AND (end_ms IS NULL OR end_ms > ?) ORDER BY start_ms DESC, id DESC"+
		fmt.Sprintf(" LIMIT %d", limit), kind, id, to.UnixMilli(), from.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("listing the state changes of %s %d: %w", kind, id, err)
	}
	return out, nil
}

// CountStates counts the enabled hosts or services per current state; an
// object without a status, or never checked, counts under -1 (pending).
// Disabled objects are left out: they are not checked, so their pending or
// last state would linger in the overview forever.
func (d *DB) CountStates(ctx context.Context, kind string) (map[int]int, error) {
	table := "services"
	if kind == state.KindHost {
		table = "hosts"
	} else if kind != state.KindService {
		return nil, fmt.Errorf("counting states: unknown kind %q", kind)
	}
	type count struct{ state, n int }
	rows, err := list(ctx, d, func(r scanner) (count, error) {
		var c count
		return c, r.Scan(&c.state, &c.n)
	}, "SELECT CASE WHEN st.checked = 1 THEN st.state ELSE -1 END AS s, COUNT(*) FROM "+table+
		" o LEFT JOIN status st ON st.kind = ? AND st.object_id = o.id WHERE o.enabled = 1 GROUP BY s", kind)
	if err != nil {
		return nil, fmt.Errorf("counting %s states: %w", kind, err)
	}
	out := map[int]int{}
	for _, c := range rows {
		out[c.state] += c.n
	}
	return out, nil
}
