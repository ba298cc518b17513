package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// A second server on the same PostgreSQL database is refused while the
// first holds the writer lock, and gets it once the first lets go. (A
// holder that dies lets go with its session: TestKill9Events restarts a
// killed server on PostgreSQL.)
func TestWriterLockPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t, "vigie_lock")
	open := func() Store {
		st, err := Open(ctx, Options{Driver: "postgres", DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	first, second := open(), open()
	release, err := first.HoldWriterLock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.HoldWriterLock(ctx, 500*time.Millisecond); !errors.Is(err, ErrWriterLocked) {
		t.Fatalf("second writer: %v, want ErrWriterLocked", err)
	}
	// The waiting one gets it as soon as the first releases.
	go func() {
		time.Sleep(300 * time.Millisecond)
		release()
	}()
	release2, err := second.HoldWriterLock(ctx, 10*time.Second)
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	release2()
	third := open()
	r3, err := third.HoldWriterLock(ctx, 10*time.Second)
	if err != nil {
		t.Fatalf("after the holder closed: %v", err)
	}
	r3()
}

// SQLite needs no lock: its database sits in the data dir, which the
// time-series store locks.
func TestWriterLockSQLite(t *testing.T) {
	st, err := Open(context.Background(), Options{DSN: t.TempDir() + "/v.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range 2 {
		release, err := st.HoldWriterLock(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
}
