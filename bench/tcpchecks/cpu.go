package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is the CPU this process and its waited-for children used (the
// plugins of the exec run count too).
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// cpuSample is the machine's CPU time from /proc/stat, busy and total, for
// runs whose work happens in processes that are not ours to account (the
// Nagios daemon, which drops privileges and forks workers).
type cpuSample struct{ busy, total float64 }

func sysCPU() cpuSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var s cpuSample
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		s.total += v
		if i != 3 && i != 4 { // idle, iowait
			s.busy += v
		}
	}
	return s
}

// since is the busy share of the machine between two samples, in percent.
func (s cpuSample) since(before cpuSample) float64 {
	if s.total == before.total {
		return 0
	}
	return 100 * (s.busy - before.busy) / (s.total - before.total)
}
