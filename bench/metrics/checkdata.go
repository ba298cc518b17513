package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// checkSeries is one series vigie writes for a check, with how its values
// move: what a real installation's checks report, not random noise.
type checkSeries struct {
	labels   map[string]string
	interval time.Duration
	offset   time.Duration // the check's stable phase inside its interval
	next     func(rng *rand.Rand) float64
	class    string
}

// round keeps the decimals a plugin prints.
func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}

// durationSeconds is how vigie stores a check's duration: at the
// resolution metrics.CheckDuration keeps.
type durationFunc func(time.Duration) float64

// hostSeries models one monitored server as the example configuration and
// a typical installation watch it: a ping host check, a ping service, an
// HTTP check, SSH over TCP, the root disk and the load through plugins, and
// one network interface's octet counters. Every check also writes its
// state and its duration, as vigie does.
func hostSeries(host string, rng *rand.Rand, dur durationFunc) []checkSeries {
	var out []checkSeries
	phase := func(iv time.Duration) time.Duration {
		return time.Duration(rng.Int64N(int64(iv))).Truncate(time.Millisecond)
	}
	check := func(service string, iv time.Duration, perf map[string]func(*rand.Rand) float64, units map[string]string, typical time.Duration) {
		off := phase(iv)
		base := func(name string) map[string]string {
			l := map[string]string{"__name__": name, "host": host}
			if service != "" {
				l["service"] = service
			}
			return l
		}
		stateName := "vigie_service_state"
		if service == "" {
			stateName = "vigie_host_state"
		}
		// States: OK nearly always, a rare problem for a few checks.
		st := 0.0
		out = append(out, checkSeries{base(stateName), iv, off, func(r *rand.Rand) float64 {
			if r.IntN(2000) == 0 {
				st = float64(r.IntN(3))
			}
			return st
		}, "state"})
		out = append(out, checkSeries{base("vigie_check_duration_seconds"), iv, off, func(r *rand.Rand) float64 {
			d := typical + time.Duration(r.NormFloat64()*float64(typical)/8)
			return dur(max(d, time.Microsecond))
		}, "duration"})
		for label, next := range perf {
			l := base("perfdata")
			if units[label] == "c" {
				l = base("perfdata_total")
			}
			l["metric"] = label
			if u := units[label]; u != "" {
				l["unit"] = u
			}
			class := "gauge"
			if units[label] == "c" {
				class = "counter"
			}
			out = append(out, checkSeries{l, iv, off, next, class})
		}
	}
	rtt := func(base float64) func(*rand.Rand) float64 {
		return func(r *rand.Rand) float64 { return round(base+math.Abs(r.NormFloat64())*base/5, 3) }
	}
	ping := map[string]func(*rand.Rand) float64{
		"rta": rtt(0.045), "rtmin": rtt(0.030), "rtmax": rtt(0.080),
		"pl": func(*rand.Rand) float64 { return 0 },
	}
	pingUnits := map[string]string{"rta": "ms", "rtmin": "ms", "rtmax": "ms", "pl": "%"}
	check("", 30*time.Second, ping, pingUnits, 2*time.Second)
	check("ping", 30*time.Second, ping, pingUnits, 2*time.Second)
	check("http", 30*time.Second, map[string]func(*rand.Rand) float64{
		"time": func(r *rand.Rand) float64 { return round(0.0012+math.Abs(r.NormFloat64())*0.0003, 6) },
		"size": func(*rand.Rand) float64 { return 1843 },
	}, map[string]string{"time": "s", "size": "B"}, time.Millisecond)
	check("ssh", time.Minute, map[string]func(*rand.Rand) float64{
		"time": func(r *rand.Rand) float64 { return round(0.0004+math.Abs(r.NormFloat64())*0.0001, 6) },
	}, map[string]string{"time": "s"}, 500*time.Microsecond)
	used := 20000.0 + float64(rng.IntN(20000))
	check("disk-root", 5*time.Minute, map[string]func(*rand.Rand) float64{
		// check_disk prints whole MiB; a server writes a few MiB an hour.
		"/": func(r *rand.Rand) float64 {
			if r.IntN(4) == 0 {
				used += float64(r.IntN(3))
			}
			return used
		},
	}, map[string]string{"/": "MB"}, 3*time.Millisecond)
	var l1, l5, l15 float64 = 0.3, 0.3, 0.3
	check("load", time.Minute, map[string]func(*rand.Rand) float64{
		"load1": func(r *rand.Rand) float64 {
			l1 = max(0, l1+r.NormFloat64()*0.1)
			return round(l1, 2)
		},
		"load5":  func(*rand.Rand) float64 { l5 += (l1 - l5) / 5; return round(l5, 2) },
		"load15": func(*rand.Rand) float64 { l15 += (l1 - l15) / 15; return round(l15, 2) },
	}, nil, 2*time.Millisecond)
	var in, outOctets float64
	check("if-eth0", time.Minute, map[string]func(*rand.Rand) float64{
		"in":  func(r *rand.Rand) float64 { in += float64(50_000 + r.IntN(200_000)); return in },
		"out": func(r *rand.Rand) float64 { outOctets += float64(20_000 + r.IntN(80_000)); return outOctets },
	}, map[string]string{"in": "c", "out": "c"}, 5*time.Millisecond)
	return out
}

// installation is hosts × hostSeries.
func installation(hosts int, dur durationFunc) ([]checkSeries, *rand.Rand) {
	rng := rand.New(rand.NewPCG(1, 2))
	var all []checkSeries
	for h := 0; h < hosts; h++ {
		all = append(all, hostSeries(fmt.Sprintf("host-%04d", h), rng, dur)...)
	}
	return all, rng
}

// lateness is when a check really starts after its scheduled time: vigie's
// scheduler measured p50 0.5 ms, p99 1.3 ms at 1,000 checks/s.
func lateness(r *rand.Rand) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(500*time.Microsecond))
}
