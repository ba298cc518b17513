package store

import (
	"database/sql"
	"errors"
	"net/url"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDialect: ? placeholders, INTEGER PRIMARY KEY AUTOINCREMENT ids (in
// the migrations), json_each for group membership, constraint violations
// recognised by their extended result codes.
var sqliteDialect = &dialect{
	name:   "sqlite",
	goose:  goose.DialectSQLite3,
	rebind: func(q string) string { return q },
	isUnique: func(err error) bool {
		c := sqliteCode(err)
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	isForeignKey: func(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
	ilike:        "LIKE",
	// SQLite's planner, without ANALYZE statistics, prefers any index
	// with an equality; a unary + makes the term no index's.
	unindexed: func(col string) string { return "+" + col },
	// The trigram FTS5 index of migration 00012.
	alarmFTS: "alarms_fts",
	inGroup:  "EXISTS (SELECT 1 FROM json_each(h.groups_json) g WHERE g.value = ?)",
	// 50 rows a statement, prepared once in the transaction: measured
	// with BenchmarkApplyStatus, 1.5 times faster than one row (per-call
	// overhead) or 500 (compiling a 10,000-parameter statement).
	statusChunk: 50,
	prepare:     true,
}

func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// sqliteReaders is the size of the read pool: enough for the API's
// concurrent requests, each reader costing a page cache.
var sqliteReaders = max(4, runtime.NumCPU())

// openSQLite opens one writer connection and a pool of read-only readers on
// the same file.
//
// Every connection gets busy_timeout (another process, such as a backup,
// may hold the lock for a moment) and foreign_keys (the cascades). The
// writer also sets WAL, under which readers never block the writer nor the
// writer the readers, and synchronous=NORMAL: in WAL mode a committed
// transaction survives a crash of the process (it is in the WAL file, in
// the OS page cache), only an OS crash or power loss may lose the last
// ones, which is the durability vigie promises. Its transactions begin
// IMMEDIATE, taking the write lock up front, so a transaction never fails
// upgrading from read to write.
func openSQLite(dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("no file name")
	}
	if dsn == ":memory:" || strings.Contains(dsn, "mode=memory") {
		// Each connection would get a database of its own.
		return nil, errors.New("in-memory databases are not supported; use a file (in t.TempDir() for tests)")
	}
	common := []string{"busy_timeout(10000)", "foreign_keys(1)"}
	w, err := sql.Open("sqlite", sqliteURI(dsn, append(common, "journal_mode(WAL)", "synchronous(NORMAL)"), "immediate"))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", sqliteURI(dsn, append(common, "query_only(1)"), ""))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(sqliteReaders)
	r.SetMaxIdleConns(sqliteReaders)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	return &DB{w: w, r: r, d: sqliteDialect}, nil
}

// sqliteURI turns a path (or a file: URI with parameters of its own) into
// a file: URI carrying the pragmas. A plain path is escaped, so that a ?, #
// or % in a file name is not taken for URI syntax.
func sqliteURI(dsn string, pragmas []string, txlock string) string {
	var path, query string
	if rest, ok := strings.CutPrefix(dsn, "file:"); ok {
		path, query, _ = strings.Cut(rest, "?")
	} else {
		path = (&url.URL{Path: dsn}).EscapedPath()
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		q = url.Values{}
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	return "file:" + path + "?" + q.Encode()
}
