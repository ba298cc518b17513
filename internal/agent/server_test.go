package agent

import (
	"testing"
	"time"
)

func TestLiveness(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	now := t0
	l := NewLiveness(func() time.Time { return now })
	started := t0
	// Unknown since the start: up for a grace period, then down.
	if up, _ := l.HostState("h", started); !up {
		t.Fatal("an agent not heard from yet is given time after a server start")
	}
	now = t0.Add(4 * time.Minute)
	if up, _ := l.HostState("h", started); up {
		t.Fatal("still unknown 4 minutes after the start: down")
	}
	l.Seen("h", 10*time.Second)
	tests := []struct {
		after time.Duration
		up    bool
	}{
		{0, true}, {29 * time.Second, true}, {30 * time.Second, false}, {time.Hour, false},
	}
	seen := now
	for _, tt := range tests {
		now = seen.Add(tt.after)
		up, silent := l.HostState("h", started)
		if up != tt.up || silent != tt.after {
			t.Errorf("after %s: up %v silent %s, want up %v", tt.after, up, silent, tt.up)
		}
	}
	// The newest result of a service wins, whatever the order of arrival
	// (a backlog replayed after newer batches).
	l.Report("h", seen.Add(20*time.Second), []Result{{Service: "disk", State: 2, Output: "new"}})
	l.Report("h", seen.Add(10*time.Second), []Result{{Service: "disk", State: 0, Output: "old"}})
	r, _, iv, ok := l.ServiceResult("h", "disk")
	if !ok || r.State != 2 || r.Output != "new" || iv != 10*time.Second {
		t.Fatalf("%+v %v %s", r, ok, iv)
	}
	if _, _, _, ok := l.ServiceResult("h", "nope"); ok {
		t.Fatal("unknown service reported")
	}

	// After a server restart, silence counts from the stored last contact.
	l2 := NewLiveness(func() time.Time { return now })
	l2.Restore("h", now.Add(-time.Minute), 10*time.Second)
	if up, silent := l2.HostState("h", now); up || silent != time.Minute {
		t.Fatalf("restored: up %v silent %s, want down for a minute", up, silent)
	}
}
