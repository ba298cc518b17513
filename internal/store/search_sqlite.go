package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// searchSyncEvery is how often the text index catches up with the alarms
// when nobody searches, which bounds the work a search may find waiting.
var searchSyncEvery = 5 * time.Second

// syncSearch re-indexes, in one transaction, the alarms whose text changed
// since it last ran (SQLite's alarms_fts_pending, filled by triggers; see
// migration 00012), each once however often it changed. A search calls it
// first, so it sees every alarm written before it started. Nothing to do
// on PostgreSQL, whose trigram indexes follow the rows themselves.
func (d *DB) syncSearch(ctx context.Context) error {
	if d.d.alarmFTS == "" {
		return nil
	}
	var pending bool
	if err := d.r.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM alarms_fts_pending)").Scan(&pending); err != nil {
		return fmt.Errorf("reading the text index's backlog: %w", err)
	}
	if !pending {
		return nil
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM alarms_fts WHERE rowid IN (SELECT id FROM alarms_fts_pending)",
			`INSERT INTO alarms_fts (rowid, component, resource, output, connector_name)
				SELECT a.id, a.component, a.resource, a.output, a.connector_name
				FROM alarms_fts_pending p JOIN alarms a ON a.id = p.id`,
			"DELETE FROM alarms_fts_pending",
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "bringing the alarms' text index up to date")
}

// syncSearchLoop keeps the text index at most searchSyncEvery behind
// until stop closes.
func (d *DB) syncSearchLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(searchSyncEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			d.syncSearch(ctx) // a failure is retried at the next tick and before each search
			cancel()
		}
	}
}
