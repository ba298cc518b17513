package checks

import (
	"context"
	"time"
)

// SelfFunc reports the health of the vigie server itself: its database,
// its time-series store (which stops taking samples when its disk is
// full), its queues. The server gives it in Options; elsewhere (vigie
// check on the command line) there is nothing to report on.
type SelfFunc func(ctx context.Context) Result

// selfCheck is the "self" kind: vigie watching itself, so that a problem
// of the monitoring system is a problem in the console like any other.
type selfCheck struct{ self SelfFunc }

func newSelf(_ *params, o Options) (Checker, error) {
	return selfCheck{o.Self}, nil
}

func (c selfCheck) Run(ctx context.Context) Result {
	if c.self == nil {
		return Result{State: Unknown, Output: "the self check reports on a running vigie server; there is none here", Time: time.Now()}
	}
	return runTimed(func() Result { return c.self(ctx) })
}
