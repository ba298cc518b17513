package store

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// postgresDialect: $n placeholders, identity columns (in the migrations),
// jsonb containment for group membership, SQLSTATE codes for constraint
// violations, and an advisory lock around migrations since several vigie
// processes may share one database.
var postgresDialect = &dialect{
	name:         "postgres",
	goose:        goose.DialectPostgres,
	rebind:       rebindDollar,
	isUnique:     func(err error) bool { return pgCode(err) == "23505" },
	isForeignKey: func(err error) bool { return pgCode(err) == "23503" },
	ilike:        "ILIKE",
	// PostgreSQL's planner weighs the indexes by its statistics.
	unindexed: func(col string) string { return col },
	// A search pattern goes into the query as a literal: a prepared
	// statement run a few times gets a generic plan, which cannot see
	// that a pattern is rare and walks the whole id index instead of the
	// trigram indexes (measured: 150 ms for 1.9 ms).
	searchLiteral: pgLiteral,
	inGroup:       "h.groups_json::jsonb @> jsonb_build_array(CAST(? AS TEXT))",
	// One statement per 500 rows (10,000 parameters, under the 65,535
	// limit): round trips, not rows, are what PostgreSQL's speed depends on.
	statusChunk: 500,
	locker: func() (lock.SessionLocker, error) {
		// Retry every second for five minutes rather than every five.
		return lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	},
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// pgLiteral quotes s as an escape string constant, which reads the same
// whatever standard_conforming_strings says: backslashes and quotes
// escaped, and ? written \x3f so that rebindDollar leaves it alone.
func pgLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, `?`, `\x3f`).Replace(s) + "'"
}

// rebindDollar rewrites ? placeholders into $1, $2, … No query of the store
// has a ? inside a string literal or uses the jsonb ? operator.
func rebindDollar(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
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

// openPostgres opens one pool for reads and writes; PostgreSQL handles
// concurrent writers itself.
func openPostgres(dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	// Idle connections equal to open ones: the default of 2 would close
	// and reopen connections under any concurrency.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return &DB{w: db, r: db, d: postgresDialect}, nil
}
