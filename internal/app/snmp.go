package app

import (
	"context"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/vigie-monitoring/vigie/internal/api"
	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/inventory"
	"github.com/vigie-monitoring/vigie/internal/snmp"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// rediscoverTick is how often the hosts' saved interface discoveries are
// looked at: each runs at its own interval (at least a minute), and at
// once when the device's sysUpTime went backwards (it rebooted, and may
// have renumbered or gained interfaces).
const rediscoverTick = time.Minute

// uptimeProbes bounds the sysUpTime reads of one tick running at once, so
// that dead devices (each up to its timeout) do not stretch the tick.
const uptimeProbes = 16

// rediscovery remembers when each host's discovery last ran and the
// sysUpTime its device last gave.
type rediscovery struct {
	mu     sync.Mutex
	last   map[int64]time.Time
	uptime map[int64]float64
}

// rediscoverLoop runs the interface discoveries saved on hosts
// (POST /hosts/{id}/snmp/discover with "every").
// It also applies the host group SNMP templates to every host, at once and
// then every tick: a pass catches what a failed request left behind and runs
// the template discoveries that are due.
func (a *App) rediscoverLoop(ctx context.Context) {
	t := time.NewTicker(rediscoverTick)
	defer t.Stop()
	a.syncTemplates(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			a.syncTemplates(ctx)
			a.rediscover(ctx, now)
		}
	}
}

func (a *App) syncTemplates(ctx context.Context) {
	n, err := a.api.SyncTemplates(ctx)
	if err != nil && ctx.Err() == nil {
		a.log.Warn("applying host group SNMP templates", "err", err)
	}
	if n > 0 {
		a.log.Info("host group SNMP templates applied", "changes", n)
	}
}

// rediscover runs the discoveries due at now: by their schedule (a host
// first seen gets a stable offset inside its interval, so that a restart of
// vigie does not walk every device at once) or because the device
// rebooted. The walks run one host after the other: a walk is many packets.
func (a *App) rediscover(ctx context.Context, now time.Time) {
	hosts, err := store.AllHosts(ctx, a.st, store.HostFilter{})
	if err != nil {
		a.log.Warn("listing hosts to rediscover their interfaces", "err", err)
		return
	}
	r := &a.redisc
	r.mu.Lock()
	if r.last == nil {
		r.last, r.uptime = map[int64]time.Time{}, map[int64]float64{}
	}
	r.mu.Unlock()
	var watched []inventory.Host
	for _, h := range hosts {
		if api.RediscoverEvery(h) > 0 && h.Enabled {
			watched = append(watched, h)
		}
	}
	rebooted := a.rebooted(ctx, watched)
	for _, h := range watched {
		every := api.RediscoverEvery(h)
		r.mu.Lock()
		last, seen := r.last[h.ID]
		if !seen {
			f := fnv.New64a()
			f.Write([]byte(strconv.FormatInt(h.ID, 10)))
			last = now.Add(-time.Duration(f.Sum64() % uint64(every)))
			r.last[h.ID] = last
		}
		due := !now.Before(last.Add(every)) || rebooted[h.ID]
		if due {
			r.last[h.ID] = now
		}
		r.mu.Unlock()
		if !due {
			continue
		}
		created, updated, err := a.api.Rediscover(ctx, h)
		if err != nil {
			a.log.Warn("rediscovering interfaces", "host", h.Name, "err", err)
			continue
		}
		if created+updated > 0 || rebooted[h.ID] {
			a.log.Info("interfaces rediscovered", "host", h.Name, "created", created, "updated", updated, "rebooted", rebooted[h.ID])
		}
	}
}

// rebooted reads each host's sysUpTime and says which went backwards since
// the last tick.
func (a *App) rebooted(ctx context.Context, hosts []inventory.Host) map[int64]bool {
	out := map[int64]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, uptimeProbes)
	for _, h := range hosts {
		if h.Address == "" {
			continue
		}
		cfg, err := checks.SNMPConfig(nil, a.mon.EffectiveSNMP(h), 10*time.Second)
		if err != nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cl := snmp.NewClient(h.Address, cfg)
			defer cl.Close()
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			v, err := cl.Get(pctx, []string{"1.3.6.1.2.1.1.3.0"})
			if err != nil || len(v) == 0 || !v[0].Numeric {
				return // the services say why; discovery would fail too
			}
			a.redisc.mu.Lock()
			prev, ok := a.redisc.uptime[h.ID]
			a.redisc.uptime[h.ID] = v[0].Number
			a.redisc.mu.Unlock()
			if ok && v[0].Number < prev {
				mu.Lock()
				out[h.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}
