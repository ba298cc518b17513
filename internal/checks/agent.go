package checks

import (
	"context"
	"time"
)

// AgentFunc answers for a host or service whose data comes from a
// vigie-agent: the host (service "") is down once the agent went silent;
// a service has the newest state the agent reported for it.
type AgentFunc func(ctx context.Context, host, service string) Result

// agentCheck is the "agent" kind: nothing is run from the server, the
// check reads what the host's agent last said. The state engine still
// schedules it, so agent hosts get SOFT/HARD states, history and alarms
// like any other.
type agentCheck struct {
	f             AgentFunc
	host, service string
}

func newAgent(_ *params, o Options) (Checker, error) {
	return agentCheck{f: o.Agent, host: o.HostName, service: o.ServiceName}, nil
}

func (c agentCheck) Run(ctx context.Context) Result {
	if c.f == nil {
		return Result{State: Unknown, Output: "the agent kind reads what vigie-agent sends to a running vigie server; there is none here", Time: time.Now()}
	}
	return runTimed(func() Result { return c.f(ctx, c.host, c.service) })
}
