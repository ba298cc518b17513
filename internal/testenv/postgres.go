package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// postgresAdmin is the server the tests use: VIGIE_TEST_POSTGRES, else the
// local PostgreSQL with trust authentication.
func postgresAdmin() string {
	if v := os.Getenv("VIGIE_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Postgres creates a throwaway database named after prefix on the test
// PostgreSQL and returns its URL; it is dropped when the test ends. An
// unreachable server skips the test, except under CI=true.
func Postgres(t testing.TB, prefix string) string {
	t.Helper()
	base := postgresAdmin()
	admin, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	Need(t, err == nil, fmt.Sprintf("PostgreSQL unreachable: %v", err))
	name := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
