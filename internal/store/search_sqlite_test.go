package store

import (
	"context"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/alarms"
)

// SQLite's text index catches up by itself, without a search asking: the
// alarms written wait in alarms_fts_pending a sync period at most, and a
// changed alarm is indexed under its new text only.
func TestSearchIndexCatchesUp(t *testing.T) {
	defer func(d time.Duration) { searchSyncEvery = d }(searchSyncEvery)
	searchSyncEvery = 50 * time.Millisecond
	st, err := Open(context.Background(), Options{DSN: t.TempDir() + "/v.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := st.(*DB)
	a := newAlarm("web1", "http", 2, time.UnixMilli(1_700_000_000_000).UTC())
	a.Output = "first text"
	if err := st.WriteAlarms(ctx, &alarms.Write{Alarms: []*alarms.Alarm{a}}); err != nil {
		t.Fatal(err)
	}
	a.Output = "second words"
	if err := st.WriteAlarms(ctx, &alarms.Write{Alarms: []*alarms.Alarm{a}}); err != nil {
		t.Fatal(err)
	}
	indexed := func(text string) int {
		var n int
		if err := d.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM alarms_fts WHERE alarms_fts MATCH ?`, ftsPhrase(text)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for indexed("second") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the text index did not catch up by itself")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var pending int
	if err := d.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM alarms_fts_pending").Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("pending after the sync: %d %v", pending, err)
	}
	if n := indexed("first"); n != 0 {
		t.Fatalf("the old text is still indexed: %d", n)
	}
}
