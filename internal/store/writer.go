package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// writerLockID is the PostgreSQL advisory lock key the serving vigie holds
// ("vigie" in ASCII); migrations use goose's own key.
const writerLockID = 0x7669676965

// ErrWriterLocked says another vigie server already writes to the database.
var ErrWriterLocked = errors.New("another vigie server is running on this database")

// HoldWriterLock makes this process the database's one writer, waiting up
// to wait for a previous one to go (a restart after kill -9, whose session
// PostgreSQL ends when the socket closes). The scheduler's state and the
// alarm engine's open alarms live in memory, so two servers on one
// database would overwrite each other; the second is refused instead. On
// PostgreSQL it is a session advisory lock on a connection of its own,
// let go by release, or by the session's end when the process dies. SQLite's database lives
// in the data dir, which the time-series store locks already: nothing to do.
func (d *DB) HoldWriterLock(ctx context.Context, wait time.Duration) (release func() error, err error) {
	if d.d.name != "postgres" {
		return func() error { return nil }, nil
	}
	conn, err := d.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("taking the writer lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		var got bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", writerLockID).Scan(&got); err != nil {
			conn.Close()
			return nil, fmt.Errorf("taking the writer lock: %w", err)
		}
		if got {
			break
		}
		if !time.Now().Before(deadline) {
			conn.Close()
			return nil, fmt.Errorf("%w (still there after %s); stop it, or give this one a database of its own", ErrWriterLocked, wait)
		}
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return func() error {
		// The connection goes back to the pool, its session with it: the
		// lock is let go explicitly.
		_, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", writerLockID)
		return errors.Join(err, conn.Close())
	}, nil
}
