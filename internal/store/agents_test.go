package store

import (
	"errors"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/agent"
)

func testAgents(t *testing.T, st Store) {
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	a := agent.Registration{Name: "edge-1", TokenHash: "h1", CreatedAt: t0, Desired: agent.Desired{Version: 1, Interval: agent.Duration(30 * time.Second)}}
	if err := st.CreateAgent(ctx, &a); err != nil || a.ID == 0 {
		t.Fatalf("create: %v %d", err, a.ID)
	}
	if err := st.CreateAgent(ctx, &agent.Registration{Name: "edge-1", TokenHash: "h2"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second agent of one name: %v", err)
	}
	got, err := st.GetAgentByHash(ctx, "h1")
	if err != nil || got.Name != "edge-1" || got.Desired.Interval.D() != 30*time.Second || !got.CreatedAt.Equal(t0) {
		t.Fatalf("by hash: %+v %v", got, err)
	}
	if _, err := st.GetAgentByHash(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	h := newHost("edge-host")
	if err := st.CreateHost(ctx, &h); err != nil {
		t.Fatal(err)
	}
	got.HostID, got.Host, got.Version = h.ID, h.Name, "1.0"
	got.LastSeen, got.Interval = t0.Add(time.Minute), agent.Duration(10*time.Second)
	if err := st.UpdateAgent(ctx, &got); err != nil {
		t.Fatal(err)
	}
	back, _ := st.GetAgent(ctx, got.ID)
	if back.HostID != h.ID || back.Host != "edge-host" || !back.LastSeen.Equal(t0.Add(time.Minute)) || back.Interval.D() != 10*time.Second {
		t.Fatalf("after update: %+v", back)
	}
	// Batch ids: recorded once, recognised after, per agent.
	if err := st.AddAgentBatches(ctx, a.ID, []string{"e-1", "e-2"}, t0, 5*time.Second,
		[]agent.TimedResult{{Result: agent.Result{Service: "disk", State: 2, Output: "full"}, At: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAgentBatches(ctx, a.ID, []string{"e-2", "e-3"}, t0.Add(time.Hour), 5*time.Second,
		[]agent.TimedResult{{Result: agent.Result{Service: "disk", State: 0, Output: "older"}, At: t0.Add(-time.Minute)},
			{Result: agent.Result{Service: "load", State: 1, Output: "busy"}, At: t0}}); err != nil {
		t.Fatalf("recording a known id again: %v", err)
	}
	if back, _ := st.GetAgent(ctx, a.ID); !back.LastSeen.Equal(t0.Add(time.Hour)) || back.Interval.D() != 5*time.Second {
		t.Fatalf("recording batches records the contact: %+v", back)
	}
	seen, err := st.SeenAgentBatches(ctx, a.ID, []string{"e-1", "e-3", "e-4"})
	if err != nil || !seen["e-1"] || !seen["e-3"] || seen["e-4"] || len(seen) != 2 {
		t.Fatalf("seen %v %v", seen, err)
	}
	// The newest result per service; an older one never replaces it.
	rs, err := st.ListAgentResults(ctx)
	if err != nil || len(rs) != 2 || rs[0].Service != "disk" || rs[0].State != 2 || rs[0].Output != "full" || !rs[0].At.Equal(t0) ||
		rs[1].Service != "load" || rs[1].Host != "edge-host" {
		t.Fatalf("results: %+v %v", rs, err)
	}
	if n, err := st.PruneAgentBatches(ctx, t0.Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("prune: %d %v", n, err)
	}
	// Deleting the host unbinds the agent; revoking deletes its ids.
	if err := st.DeleteHost(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	if back, _ := st.GetAgent(ctx, a.ID); back.HostID != 0 {
		t.Fatalf("host deleted, agent still bound: %+v", back)
	}
	if err := st.DeleteAgent(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAgent(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	if l, err := st.ListAgents(ctx); err != nil || len(l) != 0 {
		t.Fatalf("list after revoke: %v %v", l, err)
	}
}
