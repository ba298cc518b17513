package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// DB is the store over database/sql. The SQL is shared; what differs between
// SQLite and PostgreSQL is in the dialect (dialect_sqlite.go,
// dialect_postgres.go) and in the migrations.
type DB struct {
	// w runs every write and every transaction; r runs the reads. They are
	// the same pool on PostgreSQL. On SQLite w holds a single connection,
	// so writers queue in Go, fairly and cancellably, instead of polling
	// the file lock and failing with "database is locked", while readers
	// keep their own connections and never wait for a writer (WAL).
	w, r *sql.DB
	d    *dialect
	// now is the clock stamping CreatedAt and UpdatedAt; tests replace it.
	now func() time.Time
	// stopSync ends the loop that keeps SQLite's text index up to date;
	// syncDone closes when it has.
	stopSync, syncDone chan struct{}
}

var _ Store = (*DB)(nil)

// Open opens the database (creating the SQLite file if needed) and brings its
// schema up to date. opts.Driver is "sqlite" (the default; DSN is a file
// path or a file: URI) or "postgres" (DSN is a libpq or pgx connection
// string).
func Open(ctx context.Context, opts Options) (Store, error) {
	var (
		d    *DB
		err  error
		name = opts.Driver
	)
	switch opts.Driver {
	case "", "sqlite":
		name = "sqlite"
		d, err = openSQLite(opts.DSN)
	case "postgres":
		d, err = openPostgres(opts.DSN)
	default:
		return nil, fmt.Errorf("opening the store: unknown driver %q (sqlite or postgres)", opts.Driver)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the %s database: %w", name, err)
	}
	d.now = time.Now
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := d.w.PingContext(pctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("connecting to the %s database: %w", name, err)
	}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("migrating the %s database: %w", name, err)
	}
	if d.d.alarmFTS != "" {
		d.stopSync, d.syncDone = make(chan struct{}), make(chan struct{})
		go d.syncSearchLoop(d.stopSync, d.syncDone)
	}
	return d, nil
}

// migrate applies the migrations of the dialect that are not applied yet;
// goose records the applied versions, so reopening is a no-op.
func (d *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+d.d.name)
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if d.d.locker != nil {
		l, err := d.d.locker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	p, err := goose.NewProvider(d.d.goose, d.w, sub, opts...)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.r.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging the database: %w", err)
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error {
	if d.stopSync != nil {
		close(d.stopSync)
		<-d.syncDone
		d.stopSync = nil
	}
	err := d.w.Close()
	if d.r != d.w {
		err = errors.Join(err, d.r.Close())
	}
	return err
}

// stamp is the write time, at the storage precision, so that what a Create
// returns equals what a Get reads back.
func (d *DB) stamp() time.Time { return time.UnixMilli(d.now().UnixMilli()).UTC() }

// q rewrites the shared SQL, written with ? placeholders, for the dialect.
func (d *DB) q(query string) string { return d.d.rebind(query) }

// wrap says what was being done when err happened; ErrNotFound errors,
// which already name what is missing, pass as they are.
func wrap(err error, doing string) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// conflict is wrap, but a unique violation becomes ErrConflict naming what
// clashed.
func (d *DB) conflict(err error, doing, what string) error {
	if err != nil && d.d.isUnique(err) {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return wrap(err, doing)
}

// insert runs an INSERT … RETURNING id on the writer.
func (d *DB) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := d.w.QueryRowContext(ctx, d.q(query+" RETURNING id"), args...).Scan(&id)
	return id, err
}

// execOne runs a write that must touch a row; touching none is ErrNotFound.
func (d *DB) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := d.w.ExecContext(ctx, d.q(query), args...)
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

// exec runs a write whose row count is the answer.
func (d *DB) exec(ctx context.Context, query string, args ...any) (int, error) {
	res, err := d.w.ExecContext(ctx, d.q(query), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// inTx runs f in a write transaction, committed when f returns nil.
func (d *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// list runs a read and scans every row; the result is never nil, so that an
// empty list encodes as [] in the API.
func list[T any](ctx context.Context, d *DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := d.r.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// get reads one row; no row is ErrNotFound naming what was asked for.
func get[T any](ctx context.Context, d *DB, scan func(scanner) (T, error), what, query string, args ...any) (T, error) {
	v, err := scan(d.r.QueryRowContext(ctx, d.q(query), args...))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return v, fmt.Errorf("%s: %w", what, ErrNotFound)
	case err != nil:
		return v, fmt.Errorf("reading %s: %w", what, err)
	}
	return v, nil
}

// limitOf bounds a page. The API asks for one row more than its largest
// page (1,000) to tell whether another page follows.
func limitOf(p Page) int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > 1001:
		return 1001
	}
	return p.Limit
}

// Times are stored as Unix milliseconds, UTC by construction; the zero time
// is stored as 0 and read back as the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMSPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

// Booleans are 0/1 integers on both databases, so that one set of queries
// serves both.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// likeEscape escapes LIKE wildcards; queries use ESCAPE '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// placeholders is "?, ?, …" n times.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// dialect is everything that differs between the databases; the rest of the
// store is one set of queries.
type dialect struct {
	// name is the driver name of Options and the migrations directory.
	name  string
	goose goose.Dialect
	// rebind turns the shared SQL's ? placeholders into the database's.
	rebind func(query string) string
	// isUnique and isForeignKey recognise constraint violations.
	isUnique, isForeignKey func(err error) bool
	// unindexed wraps a column so that the planner uses no index for a
	// condition on it (see alarmWhere).
	unindexed func(col string) string
	// searchLiteral, when set, writes a search's LIKE pattern into the
	// query as a literal rather than a parameter (see postgresDialect).
	searchLiteral func(pattern string) string
	// alarmFTS, when set, is the FTS5 table indexing the alarms' text
	// (rowid the alarm's id); empty when the dialect's indexes serve
	// ILIKE themselves.
	alarmFTS string
	// inGroup is a condition, with one placeholder for the group name,
	// true when host h lists the group in its groups_json array.
	inGroup string
	// ilike is the case-insensitive LIKE operator (SQLite's LIKE already
	// ignores ASCII case, and is faster than LIKE over LOWER()).
	ilike string
	// statusChunk is how many rows one statement of a batch carries.
	statusChunk int
	// prepare says to prepare a batch's repeated statement in the
	// transaction, for drivers that keep no statement cache.
	prepare bool
	// locker, when set, keeps two processes from migrating at once.
	locker func() (lock.SessionLocker, error)
}
