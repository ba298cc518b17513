package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

// DB is the store over database/sql; the dialect decides placeholders and
// how a unique violation is recognised, everything else is shared.
type DB struct {
	db       *sql.DB
	postgres bool
}

var _ Store = (*DB)(nil)

// Open opens (creating if needed) and migrates the database.
func Open(ctx context.Context, opts Options) (*DB, error) {
	var (
		db      *sql.DB
		err     error
		dialect goose.Dialect
		dir     string
	)
	switch opts.Driver {
	case "", "sqlite":
		if opts.DSN == "" {
			return nil, errors.New("opening sqlite: no file name")
		}
		db, err = sql.Open("sqlite", sqliteDSN(opts.DSN))
		dialect, dir = goose.DialectSQLite3, "migrations/sqlite"
		if err == nil {
			// WAL lets readers run beside the one writer; a few
			// connections are plenty and keep writers from queueing on
			// busy_timeout.
			db.SetMaxOpenConns(4)
		}
	case "postgres":
		db, err = sql.Open("pgx", opts.DSN)
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		if err == nil {
			db.SetMaxOpenConns(16)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	default:
		return nil, fmt.Errorf("opening the store: unknown driver %q (sqlite or postgres)", opts.Driver)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the %s database: %w", opts.Driver, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to the database: %w", err)
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		db.Close()
		return nil, err
	}
	p, err := goose.NewProvider(dialect, db, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating the database: %w", err)
	}
	return &DB{db: db, postgres: opts.Driver == "postgres"}, nil
}

// sqliteDSN adds the pragmas every connection needs: WAL (durable against a
// crash of the process once a transaction commits, and readers never block
// the writer), foreign keys for the cascades, a busy timeout, and IMMEDIATE
// write transactions so that two writers wait instead of failing.
func sqliteDSN(path string) string {
	if strings.HasPrefix(path, "file:") {
		return path
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// q rewrites ? placeholders into $n for PostgreSQL. No query here has a ?
// inside a string literal.
func (d *DB) q(query string) string {
	if !d.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// conflict turns a unique violation into ErrConflict naming what clashed.
func (d *DB) conflict(err error, what string) error {
	if err == nil {
		return nil
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" || strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return err
}

// insert runs an INSERT … RETURNING id.
func (d *DB) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := d.db.QueryRowContext(ctx, d.q(query+" RETURNING id"), args...).Scan(&id)
	return id, err
}

// exec runs a statement that must touch a row; none is ErrNotFound.
func (d *DB) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := d.db.ExecContext(ctx, d.q(query), args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

func limitOf(p Page) int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > 1000:
		return 1000
	}
	return p.Limit
}

// Times are stored as Unix milliseconds; zero stays zero.
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// now is the write time, at the storage precision so that what a Create
// returns equals what a Get reads back.
func now() time.Time { return time.UnixMilli(time.Now().UnixMilli()).UTC() }

// likeEscape escapes LIKE wildcards; queries use ESCAPE '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
