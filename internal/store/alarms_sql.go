package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/events"
)

var _ alarms.Store = (*DB)(nil)

// alarmKeyCols are written once, when the alarm opens; alarmCols change.
const (
	alarmKeyCols = "connector, connector_name, component, resource, opened_ms"
	alarmCols    = "status, state, worst_state, criticality, criticality_locked, output, long_output, count, domain, category, " +
		"tags_json, last_event_ms, updated_ms, resolved_ms, resolve_at_ms, acked, ack_by, ack_ms, ack_comment, snooze_until_ms, assignees_json, flapping, in_maintenance"
	alarmWidth = 23
)

func scanAlarm(row scanner) (alarms.Alarm, error) {
	var (
		a                                               alarms.Alarm
		locked, acked, flapping, maint                  int
		tags, assignees                                 string
		opened, last, updated, resolved, resolveAt, ack int64
		snooze                                          int64
	)
	err := row.Scan(&a.ID, &a.Connector, &a.ConnectorName, &a.Component, &a.Resource, &opened,
		&a.Status, &a.State, &a.WorstState, &a.Criticality, &locked, &a.Output, &a.LongOutput, &a.Count, &a.Domain, &a.Category,
		&tags, &last, &updated, &resolved, &resolveAt, &acked, &a.AckBy, &ack, &a.AckComment, &snooze, &assignees, &flapping, &maint)
	if err != nil {
		return a, err
	}
	a.CriticalityLocked, a.Acked, a.Flapping, a.InMaintenance = locked != 0, acked != 0, flapping != 0, maint != 0
	a.Opened, a.LastEvent, a.Updated, a.Resolved = fromMS(opened), fromMS(last), fromMS(updated), fromMS(resolved)
	a.ResolveAt, a.AckTime, a.SnoozeUntil = fromMS(resolveAt), fromMS(ack), fromMS(snooze)
	if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
		return a, fmt.Errorf("decoding the tags of alarm %d: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(assignees), &a.Assignees); err != nil {
		return a, fmt.Errorf("decoding the assignees of alarm %d: %w", a.ID, err)
	}
	if a.Assignees == nil {
		a.Assignees = []string{}
	}
	return a, nil
}

const alarmSelect = "SELECT id, " + alarmKeyCols + ", " + alarmCols + " FROM alarms a"

// alarmColumnsA are the columns of alarmSelect, each qualified by a., for
// a list joined to the text index (whose columns share their names).
var alarmColumnsA = "a.id, a." + strings.ReplaceAll(alarmKeyCols+", "+alarmCols, ", ", ", a.")

// alarmArgs are the values of alarmCols.
func alarmArgs(a *alarms.Alarm) ([]any, error) {
	tags, err := json.Marshal(a.Tags)
	if err != nil {
		return nil, fmt.Errorf("encoding the tags of alarm %d: %w", a.ID, err)
	}
	if a.Tags == nil {
		tags = []byte("{}")
	}
	assignees := []byte("[]")
	if len(a.Assignees) > 0 {
		if assignees, err = json.Marshal(a.Assignees); err != nil {
			return nil, fmt.Errorf("encoding the assignees of alarm %d: %w", a.ID, err)
		}
	}
	return []any{a.Status, a.State, a.WorstState, a.Criticality, b2i(a.CriticalityLocked), a.Output, a.LongOutput, a.Count,
		a.Domain, a.Category, string(tags), ms(a.LastEvent), ms(a.Updated), ms(a.Resolved), ms(a.ResolveAt), b2i(a.Acked),
		a.AckBy, ms(a.AckTime), a.AckComment, ms(a.SnoozeUntil), string(assignees), b2i(a.Flapping), b2i(a.InMaintenance)}, nil
}

// OpenAlarms returns every open alarm.
func (d *DB) OpenAlarms(ctx context.Context) ([]alarms.Alarm, error) {
	out, err := list(ctx, d, scanAlarm, alarmSelect+" WHERE status = ? ORDER BY id", alarms.StatusOpen)
	if err != nil {
		return nil, fmt.Errorf("loading the open alarms: %w", err)
	}
	return out, nil
}

// WriteAlarms writes a batch of alarm changes in one transaction. Changed
// alarms are written before new ones, so that an alarm resolved and its
// successor opened in one batch never hold the open key together.
func (d *DB) WriteAlarms(ctx context.Context, w *alarms.Write) error {
	var changed []any
	var fresh []*alarms.Alarm
	for _, a := range w.Alarms {
		if a.ID == 0 {
			fresh = append(fresh, a)
			continue
		}
		args, err := alarmArgs(a)
		if err != nil {
			return err
		}
		changed = append(changed, append([]any{a.ID}, args...)...)
	}
	logs, err := logRows(w.Logs)
	if err != nil {
		return err
	}
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		// Columns of a VALUES list are column1, column2… on both databases;
		// PostgreSQL types untyped parameters as text, hence the casts.
		sets := make([]string, 0, alarmWidth)
		row := make([]string, 0, alarmWidth+1)
		row = append(row, "CAST(? AS BIGINT)")
		for i, c := range strings.Split(alarmCols, ", ") {
			sets = append(sets, fmt.Sprintf("%s = v.column%d", c, i+2))
			if strings.HasSuffix(c, "_json") || c == "status" || c == "criticality" || c == "output" || c == "long_output" ||
				c == "domain" || c == "category" || c == "ack_by" || c == "ack_comment" {
				row = append(row, "CAST(? AS TEXT)")
			} else {
				row = append(row, "CAST(? AS BIGINT)")
			}
		}
		if err := d.batchExec(ctx, tx, "UPDATE alarms SET "+strings.Join(sets, ", ")+" FROM (VALUES ",
			"("+strings.Join(row, ", ")+")", ") AS v WHERE alarms.id = v.column1", alarmWidth+1, changed); err != nil {
			return fmt.Errorf("updating alarms: %w", err)
		}
		if err := d.insertAlarms(ctx, tx, fresh); err != nil {
			return fmt.Errorf("opening alarms: %w", err)
		}
		steps := make([]any, 0, 7*len(w.Steps))
		for _, s := range w.Steps {
			if s.Alarm.ID == 0 {
				return fmt.Errorf("writing a step of an alarm without id")
			}
			steps = append(steps, s.Alarm.ID, s.Step.Type, s.Step.Author, ms(s.Step.Time), s.Step.Comment, s.Step.State, s.Step.Value)
		}
		if err := d.batchExec(ctx, tx, "INSERT INTO alarm_steps (alarm_id, type, author, time_ms, comment, state, value) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?)", "", 7, steps); err != nil {
			return fmt.Errorf("adding alarm steps: %w", err)
		}
		if err := d.batchExec(ctx, tx, "INSERT INTO event_log (time_ms, connector, connector_name, component, resource, state, output, event_json) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?, ?)", "", 8, logs); err != nil {
			return fmt.Errorf("keeping log events: %w", err)
		}
		return nil
	})
	if err != nil {
		for _, a := range fresh {
			a.ID = 0
		}
		return fmt.Errorf("writing %d alarms and %d log events: %w", len(w.Alarms), len(w.Logs), err)
	}
	return nil
}

// insertAlarms inserts new alarms and sets their ids. The ids come back
// by key, which is unique among one statement's rows: an alarm resolved
// and reopened within one batch goes in a later round.
func (d *DB) insertAlarms(ctx context.Context, tx *sql.Tx, fresh []*alarms.Alarm) error {
	seen := map[events.Key]int{}
	var rounds [][]*alarms.Alarm
	for _, a := range fresh {
		r := seen[a.Key()]
		seen[a.Key()] = r + 1
		if r == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[r] = append(rounds[r], a)
	}
	const width = 5 + alarmWidth
	rowSQL := "(" + placeholders(width) + ")"
	// Full chunks share one statement prepared in the transaction on
	// SQLite, whose driver keeps no statement cache (see batchExec).
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for _, round := range rounds {
		for len(round) > 0 {
			n := min(len(round), d.d.statusChunk)
			part := round[:n]
			round = round[n:]
			args := make([]any, 0, width*n)
			byKey := make(map[events.Key]*alarms.Alarm, n)
			for _, a := range part {
				rest, err := alarmArgs(a)
				if err != nil {
					return err
				}
				args = append(args, a.Connector, a.ConnectorName, a.Component, a.Resource, ms(a.Opened))
				args = append(args, rest...)
				byKey[a.Key()] = a
			}
			q := d.q("INSERT INTO alarms (" + alarmKeyCols + ", " + alarmCols + ") VALUES " +
				strings.TrimSuffix(strings.Repeat(rowSQL+", ", n), ", ") + " RETURNING id, connector, connector_name, component, resource")
			var (
				rows *sql.Rows
				err  error
			)
			if n == d.d.statusChunk && d.d.prepare {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, q); err != nil {
						return err
					}
				}
				rows, err = full.QueryContext(ctx, args...)
			} else {
				rows, err = tx.QueryContext(ctx, q, args...)
			}
			if err != nil {
				return err
			}
			for rows.Next() {
				var (
					id int64
					k  events.Key
				)
				if err := rows.Scan(&id, &k.Connector, &k.ConnectorName, &k.Component, &k.Resource); err != nil {
					rows.Close()
					return err
				}
				if a := byKey[k]; a != nil {
					a.ID = id
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	for _, a := range fresh {
		if a.ID == 0 {
			return fmt.Errorf("no id returned for the alarm of %s/%s", a.Component, a.Resource)
		}
	}
	return nil
}

func logRows(evs []events.Event) ([]any, error) {
	out := make([]any, 0, 8*len(evs))
	for i := range evs {
		e := &evs[i]
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encoding a log event of %s: %w", e.Component, err)
		}
		out = append(out, ms(e.Time), e.Connector, e.ConnectorName, e.Component, e.Resource, e.State, e.Output, string(b))
	}
	return out, nil
}

func (d *DB) GetAlarm(ctx context.Context, id int64) (alarms.Alarm, error) {
	return get(ctx, d, scanAlarm, fmt.Sprintf("alarm %d", id), alarmSelect+" WHERE id = ?", id)
}

// sortExprs are the columns of the sort keys, each indexed with the id
// (the migrations' alarms_opened, alarms_last_event, …).
var sortExprs = map[string]string{
	alarms.SortOpened:      "a.opened_ms",
	alarms.SortLast:        "a.last_event_ms",
	alarms.SortCriticality: "a.criticality_rank", // generated by the migrations
	alarms.SortState:       "a.state",
	alarms.SortComponent:   "a.component",
	alarms.SortCount:       "a.count",
}

// alarmWhere turns a filter into conditions and their arguments; none
// tells a filter that matches nothing (an empty scope). With join, an
// indexed text search is left to the caller (joined says so): the
// newest-first list joins the index rather than filtering by it.
//
// In a sorted list, the few-valued columns (status, state, criticality)
// are kept from steering the plan: an index on one of them would read a
// third of the table and sort it, where walking the sort's index and
// filtering stops after one page. In a count, state and criticality are,
// so that the status index, which covers them, answers alone.
func (d *DB) alarmWhere(f alarms.Filter, join, count bool, probe *ftsProbe) (where []string, args []any, joined, none bool) {
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Search != "" {
		// PostgreSQL's trigram indexes serve the LIKE below themselves.
		// On SQLite, the newest-first list joins the FTS5 index. On both,
		// the sorted list and the count take the probe's matching ids, or,
		// when the text is in too many alarms for a list of ids, the LIKE
		// scan along the sort's index, which then meets a page of matches
		// soon unless they bunch far from its start. (Filtering by the set
		// of all matches instead measured worse there: building a set of
		// 100,000 matches alone takes about 100 ms.) Searches under three
		// characters (no trigram) scan.
		switch {
		case join && d.ftsSearch(f.Search):
			add(d.d.alarmFTS+" MATCH ?", ftsPhrase(f.Search))
			joined = true
		case probe != nil && !probe.broad:
			if len(probe.ids) == 0 {
				return nil, nil, false, true
			}
			ids := make([]any, len(probe.ids))
			for i, id := range probe.ids {
				ids[i] = id
			}
			add("a.id IN ("+placeholders(len(ids))+")", ids...)
		default:
			cond, a := d.searchLike(f.Search)
			add(cond, a...)
		}
	}
	col := func(c string) string { return "a." + c }
	if f.Sort.Key != "" || count {
		col = func(c string) string {
			if count && c == "status" {
				return "a." + c
			}
			return d.d.unindexed("a." + c)
		}
	}
	for _, c := range []struct{ col, v string }{{"component", f.Component}, {"resource", f.Resource}, {"connector", f.Connector}} {
		if c.v != "" {
			add("a."+c.col+" = ?", c.v)
		}
	}
	if f.Criticality != "" {
		add(col("criticality")+" = ?", f.Criticality)
	}
	if f.State != nil {
		add(col("state")+" = ?", *f.State)
	}
	if f.Acked != nil {
		add(col("acked")+" = ?", b2i(*f.Acked))
	}
	if f.Snoozed != nil {
		if *f.Snoozed {
			add("a.snooze_until_ms > ?", f.SnoozedAt.UnixMilli())
		} else {
			add("a.snooze_until_ms <= ?", f.SnoozedAt.UnixMilli())
		}
	}
	if f.Domain != "" {
		add("(a.domain = ? OR a.component IN (SELECT h.name FROM hosts h WHERE h.domain = ?))", f.Domain, f.Domain)
	}
	if f.Group != "" {
		add("a.component IN (SELECT h.name FROM hosts h WHERE "+d.d.inGroup+")", f.Group)
	}
	if f.Key != nil {
		add("a.connector = ? AND a.connector_name = ? AND a.component = ? AND a.resource = ?", f.Key.Connector, f.Key.ConnectorName, f.Key.Component, f.Key.Resource)
	}
	if f.Flapping != nil {
		add("a.flapping = ?", b2i(*f.Flapping))
	}
	if f.Status == alarms.StatusFlapping {
		add(col("status")+" = ? AND a.flapping = 1", alarms.StatusOpen)
	} else if f.Status != "" {
		add(col("status")+" = ?", f.Status)
	} else if !f.AllStatuses {
		add(col("status")+" <> ?", alarms.StatusArchived)
	}
	if !f.Since.IsZero() {
		add("a.last_event_ms >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		add("a.opened_ms < ?", f.Until.UnixMilli())
	}
	if f.Domains != nil {
		if len(f.Domains) == 0 {
			return nil, nil, false, true
		}
		ds := make([]any, 0, 2*len(f.Domains))
		for _, dm := range f.Domains {
			ds = append(ds, dm)
		}
		ds = append(ds, ds...)
		p := placeholders(len(f.Domains))
		add("(a.domain IN ("+p+") OR a.component IN (SELECT h.name FROM hosts h WHERE h.domain IN ("+p+")))", ds...)
	}
	return where, args, joined, false
}

// searchLike is the condition of a search as a scan: a case-insensitive
// LIKE on each searched column (which PostgreSQL's trigram indexes
// serve).
func (d *DB) searchLike(text string) (string, []any) {
	s := "%" + likeEscape(text) + "%"
	if d.d.searchLiteral != nil {
		like := " " + d.d.ilike + " " + d.d.searchLiteral(s) + ` ESCAPE '\'`
		return "(a.component" + like + " OR a.resource" + like + " OR a.output" + like + " OR a.connector_name" + like + ")", nil
	}
	like := " " + d.d.ilike + ` ? ESCAPE '\'`
	return "(a.component" + like + " OR a.resource" + like + " OR a.output" + like + " OR a.connector_name" + like + ")", []any{s, s, s, s}
}

// ftsProbeMax is how many matches of a text the probe reads before
// calling it broad (a variable for the tests). Measured at 100,000
// alarms, a sorted page costs about as much either way at a few thousand
// matches: reading and sorting the matches grows with their number, the
// scan along the sort's index shrinks with it (1,100 matches bunched in
// one part of the list: 75 ms by the scan, 13 by the ids).
var ftsProbeMax = 4000

// ftsProbe is what the text indexes say of a search: the ids of the
// alarms whose text has it, or broad when more than ftsProbeMax do.
type ftsProbe struct {
	ids   []int64
	broad bool
}

// ftsSearch tells a search the dialect's FTS5 index serves: three
// characters or more (one trigram).
func (d *DB) ftsSearch(text string) bool {
	return d.d.alarmFTS != "" && utf8.RuneCountInString(text) >= 3
}

// ftsPhrase is text as an FTS5 phrase: between double quotes, its own
// double quotes doubled.
func ftsPhrase(text string) string {
	return `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
}

// probeSearch reads up to ftsProbeMax+1 alarms whose text has a search,
// from SQLite's FTS5 index (newest first, which it yields without reading
// the rest) or PostgreSQL's trigram indexes; nil for a search under three
// characters. A sorted list then reads the few matches and sorts them,
// rather than walk its sort's index in the hope of meeting them: they may
// all lie at its far end (PostgreSQL's planner, misjudging how rare a
// text is, walks; measured 125 ms where the ids take 2). Between the
// probe and the query an alarm may open that matches: it is in the next
// answer.
func (d *DB) probeSearch(ctx context.Context, text string) (*ftsProbe, error) {
	var (
		q    string
		args []any
	)
	switch {
	case text == "" || utf8.RuneCountInString(text) < 3:
		return nil, nil
	case d.d.alarmFTS != "":
		q, args = fmt.Sprintf("SELECT rowid FROM %s WHERE %s MATCH ? ORDER BY rowid DESC", d.d.alarmFTS, d.d.alarmFTS), []any{ftsPhrase(text)}
	default:
		var cond string
		cond, args = d.searchLike(text)
		q = "SELECT a.id FROM alarms a WHERE " + cond
	}
	ids, err := list(ctx, d, func(r scanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	}, fmt.Sprintf("%s LIMIT %d", q, ftsProbeMax+1), args...)
	if err != nil {
		return nil, fmt.Errorf("searching the alarms' text: %w", err)
	}
	if len(ids) > ftsProbeMax {
		return &ftsProbe{broad: true}, nil
	}
	return &ftsProbe{ids: ids}, nil
}

// ListAlarms returns alarms in the filter's sort, newest first by default.
func (d *DB) ListAlarms(ctx context.Context, f alarms.Filter) ([]alarms.Alarm, error) {
	if d.ftsSearch(f.Search) {
		if err := d.syncSearch(ctx); err != nil {
			return nil, fmt.Errorf("listing alarms: %w", err)
		}
	}
	var probe *ftsProbe
	if f.Sort.Key != "" {
		var err error
		if probe, err = d.probeSearch(ctx, f.Search); err != nil {
			return nil, fmt.Errorf("listing alarms: %w", err)
		}
	}
	where, args, joined, none := d.alarmWhere(f, f.Sort.Key == "", false, probe)
	if none {
		return []alarms.Alarm{}, nil
	}
	q, order := alarmSelect, "a.id DESC"
	if joined {
		// Newest first with an indexed search: the text index yields its
		// matches newest first and the list stops after a page, where
		// filtering by the set of all matches would first read them all
		// (a text in every alarm: 80 ms at 100,000 alarms, against 1).
		q = "SELECT " + alarmColumnsA + " FROM " + d.d.alarmFTS + " f JOIN alarms a ON a.id = f.rowid"
		order = "f.rowid DESC"
	}
	if f.Sort.Key == "" {
		if f.Before > 0 {
			id := "a.id"
			if joined {
				id = "f.rowid" // a bound the index applies itself
			}
			where, args = append(where, id+" < ?"), append(args, f.Before)
		}
	} else {
		expr, ok := sortExprs[f.Sort.Key]
		if !ok {
			return nil, fmt.Errorf("listing alarms: unknown sort %q", f.Sort.Key)
		}
		dir, cmp := "ASC", ">"
		if f.Sort.Desc {
			dir, cmp = "DESC", "<"
		}
		// Keyset: rows after the cursor's (value, id) in the sort's
		// direction; the row-value comparison starts the walk of the
		// (column, id) index right at the cursor.
		if c := f.After; c != nil {
			var v any = c.Int
			if f.Sort.Key == alarms.SortComponent {
				v = c.Str
			}
			where, args = append(where, "("+expr+", a.id) "+cmp+" (?, ?)"), append(args, v, c.ID)
		}
		order = expr + " " + dir + ", a.id " + dir
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s LIMIT %d", order, limitOf(Page{Limit: f.Limit}))
	out, err := list(ctx, d, scanAlarm, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing alarms: %w", err)
	}
	return out, nil
}

// CountAlarms counts the alarms matching f by criticality.
func (d *DB) CountAlarms(ctx context.Context, f alarms.Filter) (alarms.Counts, error) {
	c := alarms.Counts{ByCriticality: map[string]int64{events.Green: 0, events.Orange: 0, events.Red: 0}}
	if d.ftsSearch(f.Search) {
		if err := d.syncSearch(ctx); err != nil {
			return c, fmt.Errorf("counting alarms: %w", err)
		}
	}
	probe, err := d.probeSearch(ctx, f.Search)
	if err != nil {
		return c, fmt.Errorf("counting alarms: %w", err)
	}
	where, args, _, none := d.alarmWhere(f, false, true, probe)
	if none {
		return c, nil
	}
	q := "SELECT a.criticality, COUNT(*) FROM alarms a"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	type row struct {
		crit string
		n    int64
	}
	rows, err := list(ctx, d, func(r scanner) (row, error) {
		var x row
		return x, r.Scan(&x.crit, &x.n)
	}, q+" GROUP BY a.criticality", args...)
	if err != nil {
		return c, fmt.Errorf("counting alarms: %w", err)
	}
	for _, r := range rows {
		c.ByCriticality[r.crit] += r.n
		c.Total += r.n
	}
	return c, nil
}

func scanStep(row scanner) (alarms.Step, error) {
	var (
		s alarms.Step
		t int64
	)
	err := row.Scan(&s.ID, &s.AlarmID, &s.Type, &s.Author, &t, &s.Comment, &s.State, &s.Value)
	s.Time = fromMS(t)
	return s, err
}

// ListSteps returns the steps of an alarm, oldest first.
func (d *DB) ListSteps(ctx context.Context, alarmID int64) ([]alarms.Step, error) {
	out, err := list(ctx, d, scanStep, "SELECT id, alarm_id, type, author, time_ms, comment, state, value FROM alarm_steps WHERE alarm_id = ? ORDER BY id", alarmID)
	if err != nil {
		return nil, fmt.Errorf("listing the steps of alarm %d: %w", alarmID, err)
	}
	return out, nil
}

// ListLogs returns log events, newest first.
func (d *DB) ListLogs(ctx context.Context, f alarms.LogFilter) ([]alarms.LogEvent, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Component != "" {
		add("component = ?", f.Component)
	}
	if f.Connector != "" {
		add("connector = ?", f.Connector)
	}
	if f.Search != "" {
		s := "%" + likeEscape(f.Search) + "%"
		like := " " + d.d.ilike + ` ? ESCAPE '\'`
		add("(output"+like+" OR component"+like+")", s, s)
	}
	if !f.Since.IsZero() {
		add("time_ms >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		add("time_ms < ?", f.Until.UnixMilli())
	}
	if f.Domains != nil {
		if len(f.Domains) == 0 {
			return []alarms.LogEvent{}, nil
		}
		ds := make([]any, 0, len(f.Domains))
		for _, dm := range f.Domains {
			ds = append(ds, dm)
		}
		add("component IN (SELECT h.name FROM hosts h WHERE h.domain IN ("+placeholders(len(f.Domains))+"))", ds...)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := "SELECT id, event_json FROM event_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limitOf(Page{Limit: f.Limit}))
	out, err := list(ctx, d, func(r scanner) (alarms.LogEvent, error) {
		var (
			e alarms.LogEvent
			b string
		)
		if err := r.Scan(&e.ID, &b); err != nil {
			return e, err
		}
		if err := json.Unmarshal([]byte(b), &e.Event); err != nil {
			return e, fmt.Errorf("decoding log event %d: %w", e.ID, err)
		}
		return e, nil
	}, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing log events: %w", err)
	}
	return out, nil
}

// DeleteLogsBefore drops the log events older than t.
func (d *DB) DeleteLogsBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := d.exec(ctx, "DELETE FROM event_log WHERE time_ms < ?", t.UnixMilli())
	return n, wrap(err, "deleting old log events")
}

// DeleteAlarm purges an alarm; its steps go with it.
func (d *DB) DeleteAlarm(ctx context.Context, id int64) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, d.q("DELETE FROM alarm_steps WHERE alarm_id = ?"), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, d.q("DELETE FROM alarms WHERE id = ?"), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("alarm %d: %w", id, ErrNotFound)
		}
		return nil
	})
	return wrap(err, fmt.Sprintf("deleting alarm %d", id))
}

// StateChangesSince returns the state changes (opening, state up or down)
// of every alarm key from since on, oldest first. Step ids grow with time,
// so it reads the steps newest first in pages and stops a minute of slack
// past since: the cost follows the window, not the table.
func (d *DB) StateChangesSince(ctx context.Context, since time.Time) ([]alarms.KeyTime, error) {
	const pageSize = 1000
	stop := ms(since.Add(-time.Minute))
	var (
		out    []alarms.KeyTime
		cursor int64 = math.MaxInt64
	)
	for {
		var (
			n    int
			last int64
			old  bool
		)
		page, err := list(ctx, d, func(r scanner) (alarms.KeyTime, error) {
			var (
				kt alarms.KeyTime
				t  int64
			)
			err := r.Scan(&last, &kt.Key.Connector, &kt.Key.ConnectorName, &kt.Key.Component, &kt.Key.Resource, &t)
			kt.Time = fromMS(t)
			n++
			if t < stop {
				old = true
			}
			return kt, err
		}, `SELECT s.id, a.connector, a.connector_name, a.component, a.resource, s.time_ms
			FROM alarm_steps s JOIN alarms a ON a.id = s.alarm_id
			WHERE s.id < ? AND s.type IN (?, ?, ?) ORDER BY s.id DESC LIMIT `+strconv.Itoa(pageSize),
			cursor, alarms.StepOpen, alarms.StepStateInc, alarms.StepStateDec)
		if err != nil {
			return nil, fmt.Errorf("loading recent state changes: %w", err)
		}
		for _, kt := range page {
			if !kt.Time.Before(since) {
				out = append(out, kt)
			}
		}
		if n < pageSize || old {
			break
		}
		cursor = last
	}
	slices.SortStableFunc(out, func(a, b alarms.KeyTime) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// LastSeenTimes returns the saved last-seen times of idle rules' sources.
func (d *DB) LastSeenTimes(ctx context.Context) ([]alarms.LastSeen, error) {
	out, err := list(ctx, d, func(r scanner) (alarms.LastSeen, error) {
		var (
			l  alarms.LastSeen
			ms int64
		)
		err := r.Scan(&l.Connector, &l.ConnectorName, &l.Component, &ms)
		l.Time = fromMS(ms)
		return l, err
	}, "SELECT connector, connector_name, component, last_ms FROM alarm_last_seen")
	if err != nil {
		return nil, fmt.Errorf("loading last-seen times: %w", err)
	}
	return out, nil
}

// SaveLastSeen adds or updates last-seen times.
func (d *DB) SaveLastSeen(ctx context.Context, l []alarms.LastSeen) error {
	args := make([]any, 0, 4*len(l))
	for _, s := range l {
		args = append(args, s.Connector, s.ConnectorName, s.Component, ms(s.Time))
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		return d.batchExec(ctx, tx, "INSERT INTO alarm_last_seen (connector, connector_name, component, last_ms) VALUES ",
			"(?, ?, ?, ?)", " ON CONFLICT (connector, connector_name, component) DO UPDATE SET last_ms = excluded.last_ms", 4, args)
	})
	return wrap(err, fmt.Sprintf("saving %d last-seen times", len(l)))
}

// ListMaintenances returns the maintenances, oldest first.
func (d *DB) ListMaintenances(ctx context.Context) ([]alarms.Maintenance, error) {
	out, err := list(ctx, d, func(r scanner) (alarms.Maintenance, error) {
		var (
			m       alarms.Maintenance
			created int64
			spec    string
		)
		var id int64
		if err := r.Scan(&id, &created, &spec); err != nil {
			return m, err
		}
		if err := json.Unmarshal([]byte(spec), &m); err != nil {
			return m, fmt.Errorf("decoding maintenance %d: %w", id, err)
		}
		m.ID, m.Created = id, fromMS(created)
		return m, nil
	}, "SELECT id, created_ms, spec_json FROM maintenances ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("listing maintenances: %w", err)
	}
	return out, nil
}

// CreateMaintenance stores a maintenance and sets its id.
func (d *DB) CreateMaintenance(ctx context.Context, m *alarms.Maintenance) error {
	m.ID = 0
	spec, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding maintenance %q: %w", m.Name, err)
	}
	m.ID, err = d.insert(ctx, "INSERT INTO maintenances (name, created_ms, spec_json) VALUES (?, ?, ?)", m.Name, ms(m.Created), string(spec))
	return wrap(err, fmt.Sprintf("creating maintenance %q", m.Name))
}

// DeleteMaintenance deletes a maintenance.
func (d *DB) DeleteMaintenance(ctx context.Context, id int64) error {
	err := d.execOne(ctx, fmt.Sprintf("maintenance %d", id), "DELETE FROM maintenances WHERE id = ?", id)
	return wrap(err, fmt.Sprintf("deleting maintenance %d", id))
}

// GroupHosts returns the names of the hosts of a host group.
func (d *DB) GroupHosts(ctx context.Context, group string) ([]string, error) {
	out, err := list(ctx, d, func(r scanner) (string, error) {
		var n string
		return n, r.Scan(&n)
	}, "SELECT h.name FROM hosts h WHERE "+d.d.inGroup+" ORDER BY h.name", group)
	if err != nil {
		return nil, fmt.Errorf("listing the hosts of group %q: %w", group, err)
	}
	return out, nil
}
