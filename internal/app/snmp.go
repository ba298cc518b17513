package app

import (
	"context"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/vigie-monitoring/vigie/internal/api"
	"github.com/vigie-monitoring/vigie/internal/store"
)

// rediscoverTick is how often the hosts' saved interface discoveries are
// looked at; each runs at its own interval (at least a minute).
const rediscoverTick = time.Minute

// rediscovery remembers when each host's discovery last ran.
type rediscovery struct {
	mu   sync.Mutex
	last map[int64]time.Time
}

// rediscoverLoop runs the interface discoveries saved on hosts
// (POST /hosts/{id}/snmp/discover with "every"), so that interfaces added
// to a device get their services without anyone asking.
func (a *App) rediscoverLoop(ctx context.Context) {
	t := time.NewTicker(rediscoverTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			a.rediscover(ctx, now)
		}
	}
}

// rediscover runs the discoveries due at now, one host after the other (a
// walk is many packets; no need to burst). A host first seen gets a stable
// offset inside its interval, so that a restart does not walk every device
// at once.
func (a *App) rediscover(ctx context.Context, now time.Time) {
	hosts, err := store.AllHosts(ctx, a.st, store.HostFilter{})
	if err != nil {
		a.log.Warn("listing hosts to rediscover their interfaces", "err", err)
		return
	}
	a.redisc.mu.Lock()
	if a.redisc.last == nil {
		a.redisc.last = map[int64]time.Time{}
	}
	a.redisc.mu.Unlock()
	for _, h := range hosts {
		every := api.RediscoverEvery(h)
		if every <= 0 || !h.Enabled {
			continue
		}
		a.redisc.mu.Lock()
		last, seen := a.redisc.last[h.ID]
		if !seen {
			f := fnv.New64a()
			f.Write([]byte(strconv.FormatInt(h.ID, 10)))
			last = now.Add(-time.Duration(f.Sum64() % uint64(every)))
			a.redisc.last[h.ID] = last
		}
		due := !now.Before(last.Add(every))
		if due {
			a.redisc.last[h.ID] = now
		}
		a.redisc.mu.Unlock()
		if !due {
			continue
		}
		created, updated, err := a.api.Rediscover(ctx, h)
		if err != nil {
			a.log.Warn("rediscovering interfaces", "host", h.Name, "err", err)
			continue
		}
		if created+updated > 0 {
			a.log.Info("interfaces rediscovered", "host", h.Name, "created", created, "updated", updated)
		}
	}
}
