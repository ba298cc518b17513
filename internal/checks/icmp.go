package checks

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

type icmpCheck struct {
	addr     string
	count    int
	interval time.Duration
	size     int
	warnRTA  float64 // ms; 0 means none
	warnLoss float64 // %
	critRTA  float64
	critLoss float64
	hasWarn  bool
	hasCrit  bool
	timeout  time.Duration
}

// privileged records what worked last: unprivileged ping sockets where
// net.ipv4.ping_group_range allows them, raw sockets (root or CAP_NET_RAW)
// otherwise. 0 = unknown, 1 = unprivileged, 2 = raw.
var icmpMode atomic.Int32

func newICMP(p *params, o Options) (Checker, error) {
	c := &icmpCheck{timeout: o.Timeout}
	c.addr = target(p, o)
	c.count = p.integer("count", 3, 1, 100)
	c.interval = p.duration("interval", 200*time.Millisecond)
	if c.interval < 10*time.Millisecond {
		p.fail("interval", "must be at least 10ms")
	}
	c.size = p.integer("packet_size", 56, 8, 65000)
	if s := p.str("warning", ""); s != "" {
		c.warnRTA, c.warnLoss, c.hasWarn = parsePingThreshold(p, "warning", s)
	}
	if s := p.str("critical", ""); s != "" {
		c.critRTA, c.critLoss, c.hasCrit = parsePingThreshold(p, "critical", s)
	}
	return c, p.err
}

// parsePingThreshold reads check_ping's "rta,loss%" form, e.g. "100,20%".
func parsePingThreshold(p *params, key, s string) (rta, loss float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		p.fail(key, "must be \"rta_ms,loss%%\", e.g. \"100,20%%\"")
		return 0, 0, false
	}
	rta, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	loss, err2 := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(b), "%"), 64)
	if err1 != nil || err2 != nil || rta < 0 || loss < 0 || loss > 100 {
		p.fail(key, "must be \"rta_ms,loss%%\", e.g. \"100,20%%\"")
		return 0, 0, false
	}
	return rta, loss, true
}

func (c *icmpCheck) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return timed(func() Result {
		stats, mode, err := c.ping(ctx)
		if err != nil {
			return Result{State: Unknown, Output: "PING UNKNOWN - " + err.Error(),
				LongOutput: "ICMP needs unprivileged ping sockets (sysctl net.ipv4.ping_group_range) or raw sockets (root or CAP_NET_RAW)"}
		}
		rta := float64(stats.AvgRtt.Microseconds()) / 1000
		loss := stats.PacketLoss
		r := Result{State: OK}
		switch {
		case stats.PacketsRecv == 0:
			r.State = Critical
		case c.hasCrit && (rta >= c.critRTA || loss >= c.critLoss):
			r.State = Critical
		case c.hasWarn && (rta >= c.warnRTA || loss >= c.warnLoss):
			r.State = Warning
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		rtaPerf := Perf{Label: "rta", Value: rta, Unit: "ms", Min: ptr(0.0)}
		plPerf := Perf{Label: "pl", Value: loss, Unit: "%", Min: ptr(0.0), Max: ptr(100.0)}
		if c.hasWarn {
			rtaPerf.Warn, plPerf.Warn = &Range{End: c.warnRTA}, &Range{End: c.warnLoss}
		}
		if c.hasCrit {
			rtaPerf.Crit, plPerf.Crit = &Range{End: c.critRTA}, &Range{End: c.critLoss}
		}
		r.Perfdata = []Perf{rtaPerf, plPerf,
			{Label: "rtmin", Value: ms(stats.MinRtt), Unit: "ms"}, {Label: "rtmax", Value: ms(stats.MaxRtt), Unit: "ms"}}
		if stats.PacketsRecv == 0 {
			r.Output = fmt.Sprintf("PING CRITICAL - %s: 100%% packet loss (%d sent)", c.addr, stats.PacketsSent)
		} else {
			r.Output = fmt.Sprintf("PING %s - %s: %.0f%% packet loss, rta %.3f ms", r.State, c.addr, loss, rta)
		}
		r.LongOutput = "ICMP via " + mode
		return r
	})
}

// ping tries the socket kind that worked last first, then the other one.
func (c *icmpCheck) ping(ctx context.Context) (*probing.Statistics, string, error) {
	order := []bool{false, true}
	if icmpMode.Load() == 2 {
		order = []bool{true, false}
	}
	var firstErr error
	for _, privileged := range order {
		st, err := c.pingOnce(ctx, privileged)
		if err == nil {
			mode, name := int32(1), "unprivileged ping sockets"
			if privileged {
				mode, name = 2, "raw sockets"
			}
			icmpMode.Store(mode)
			return st, name, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if !isPermission(err) {
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("no permission for ICMP: %v", firstErr)
}

func isPermission(err error) bool {
	s := err.Error()
	return strings.Contains(s, "permission denied") || strings.Contains(s, "operation not permitted") || strings.Contains(s, "protocol not supported")
}

func (c *icmpCheck) pingOnce(ctx context.Context, privileged bool) (*probing.Statistics, error) {
	pg, err := probing.NewPinger(c.addr)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %v", c.addr, shortNetErr(err))
	}
	pg.SetPrivileged(privileged)
	pg.Count = c.count
	pg.Interval = c.interval
	pg.Size = c.size
	// Wait for the last reply at most 2 s after the last request, so that a
	// dead host costs seconds, not the whole timeout.
	pg.Timeout = time.Duration(c.count)*c.interval + 2*time.Second
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < pg.Timeout {
		pg.Timeout = time.Until(dl)
	}
	if err := pg.RunWithContext(ctx); err != nil {
		return nil, err
	}
	return pg.Statistics(), nil
}
