package app

import (
	"context"
	"fmt"
	"time"

	"github.com/vigie-monitoring/vigie/internal/agent"
	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// restoreAgents gives the liveness registry what the store remembers: when
// each agent was last heard from and the newest state of each of its
// services, so that a restart of the server neither forgets the states
// agents reported nor takes a silent agent for a live one.
func restoreAgents(ctx context.Context, st store.Store, live *agent.Liveness) error {
	regs, err := st.ListAgents(ctx)
	if err != nil {
		return err
	}
	for _, r := range regs {
		if r.Host != "" && !r.LastSeen.IsZero() {
			live.Restore(r.Host, r.LastSeen, r.Interval.D())
		}
	}
	rs, err := st.ListAgentResults(ctx)
	if err != nil {
		return err
	}
	for _, r := range rs {
		live.Report(r.Host, r.At, []agent.Result{r.Result})
	}
	return nil
}

// agentCheck answers the "agent" check kind from what agents pushed: the
// host is UNREACHABLE (and its "agent" service CRITICAL) once its agent
// has been silent for agent.SilentAfter intervals: vigie cannot tell a
// cut link from a dead host; other services have the newest
// state the agent reported, UNKNOWN while the agent is silent. Their
// perfdata is not repeated here: the agent's samples carry the values,
// stamped with the agent's own times.
func agentCheck(live *agent.Liveness, started time.Time) checks.AgentFunc {
	return func(_ context.Context, host, service string) checks.Result {
		now := time.Now()
		up, silent := live.HostState(host, started)
		silentMsg := fmt.Sprintf("agent silent for %s (no batch for %d intervals)", silent.Round(time.Second), agent.SilentAfter)
		if service == "" || service == "agent" {
			if !up {
				return checks.Result{State: checks.Critical, Output: silentMsg, Time: now, Unreachable: true}
			}
			return checks.Result{State: checks.OK, Output: fmt.Sprintf("agent heard from %s ago", silent.Round(time.Second)), Time: now}
		}
		if !up {
			return checks.Result{State: checks.Unknown, Output: silentMsg, Time: now}
		}
		r, age, _, ok := live.ServiceResult(host, service)
		if !ok {
			return checks.Result{State: checks.Unknown, Output: "no result from the agent yet", Time: now}
		}
		return checks.Result{State: checks.State(r.State), Output: fmt.Sprintf("%s (agent, %s ago)", r.Output, age.Round(time.Second)), Time: now}
	}
}
