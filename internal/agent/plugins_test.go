package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/disk"
)

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMuninValues(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]float64
		err      string
	}{
		{"load", "load.value 0.42\n", map[string]float64{"load": 0.42}, ""},
		{"several and unknown", "a.value 1\nb.value U\nc.value -3e2\n", map[string]float64{"a": 1, "c": -300}, ""},
		{"bad number kept others", "a.value x\nb.value 2\n", map[string]float64{"b": 2}, `a: "x" is not a number`},
		{"not a value line", "hello\n", map[string]float64{}, `expected "field.value N"`},
		{"bad field name", "9a.value 1\n", map[string]float64{}, "line 1"},
		{"infinity refused", "a.value +Inf\n", map[string]float64{}, "not a number"},
		{"comments and blanks", "# hi\n\n a.value 5 \n", map[string]float64{"a": 5}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMuninValues([]byte(tt.in))
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestParseMuninConfig(t *testing.T) {
	got, err := ParseMuninConfig([]byte("graph_title Traffic\nrx.label received\nrx.type DERIVE\ntx.label sent\n"))
	if err != nil || got["rx"].Type != "DERIVE" || got["rx"].Label != "received" || got["tx"].Type != "" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := ParseMuninConfig([]byte("rx.type BOGUS\n")); err == nil || !strings.Contains(err.Error(), "rx.type") {
		t.Fatalf("bad type: %v", err)
	}
}

func FuzzParseMunin(f *testing.F) {
	for _, s := range []string{"load.value 0.42\n", "a.value U\n", "graph_title x\na.type COUNTER\n", "a.value 1e308\n", "\x00.value 1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, _ := ParseMuninValues(b)
		for k := range vals {
			if !validMuninField(k) {
				t.Fatalf("invalid field %q accepted", k)
			}
		}
		ParseMuninConfig(b)
	})
}

// A real munin-style plugin: config gives the types, values come as lines;
// DERIVE fields become counters.
func TestMuninPluginRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "traffic")
	script := "#!/bin/sh\nif [ \"$1\" = config ]; then\n echo 'graph_title t'\n echo 'rx.type DERIVE'\n echo 'up.label up'\n exit 0\nfi\necho 'rx.value 1234'\necho 'up.value 7'\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m := &muninPlugin{name: "traffic", path: path, timeout: 5 * time.Second}
	samples, res := m.run(context.Background())
	if res.State != 0 || len(samples) != 2 {
		t.Fatalf("%+v %+v", res, samples)
	}
	if samples[0].Metric != "rx" || samples[0].Unit != "c" || samples[0].Value != 1234 || samples[1].Unit != "" {
		t.Fatalf("%+v", samples)
	}
	hang := filepath.Join(dir, "hang")
	os.WriteFile(hang, []byte("#!/bin/sh\nsleep 30\n"), 0o755)
	m = &muninPlugin{name: "hang", path: hang, timeout: 200 * time.Millisecond}
	start := time.Now()
	_, res = m.run(context.Background())
	if res.State != 3 || !strings.Contains(res.Output, "timed out") || time.Since(start) > 5*time.Second {
		t.Fatalf("hung plugin: %+v after %s", res, time.Since(start))
	}
}

// A real Nagios plugin from monitoring-plugins when installed, else a script.
func TestNagiosPluginRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "check_x")
	os.WriteFile(path, []byte("#!/bin/sh\necho 'WARNING - x is high|x=12ms;10;20;0; y=3c'\nexit 1\n"), 0o755)
	n, err := newNagios(Plugin{Name: "x", Command: path, Timeout: Duration(5 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	samples, res := n.run(context.Background())
	if res.State != 1 || !strings.Contains(res.Output, "x is high") {
		t.Fatalf("%+v", res)
	}
	if len(samples) != 2 || samples[0].Metric != "x" || samples[0].Unit != "ms" || samples[0].Value != 12 || samples[1].Unit != "c" {
		t.Fatalf("%+v", samples)
	}
}

func TestCollectorsMeasureThisHost(t *testing.T) {
	var s system
	for _, name := range Collectors {
		c := s.collector(name)
		if c == nil {
			t.Fatalf("collector %s missing", name)
		}
		out, err := c.collect(context.Background(), nil)
		if name == "cpu" { // the first run primes the counters
			time.Sleep(100 * time.Millisecond)
			out, err = c.collect(context.Background(), nil)
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if len(out) == 0 && name != "filesystems" && name != "disks" {
			t.Errorf("%s: no samples", name)
		}
		for _, x := range out {
			if x.Service == "" || x.Metric == "" {
				t.Errorf("%s: unnamed sample %+v", name, x)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name, yaml, err string
	}{
		{"minimal", "server: http://s:8080\ntoken: t\nhost: h\n", ""},
		{"unknown key names it", "server: http://s\ntoken: t\nintervall: 5s\n", "intervall"},
		{"bad url", "server: ftp://s\ntoken: t\nhost: h\n", "server: must be an http(s) URL"},
		{"no token", "server: http://s\nhost: h\n", "token: is required"},
		{"bad collector", "server: http://s\ntoken: t\nhost: h\ncollect: [cpu, gpu]\n", `collect: unknown collector "gpu"`},
		{"interval too short", "server: http://s\ntoken: t\nhost: h\ninterval: 10ms\n", "interval: must be between"},
		{"bad duration", "server: http://s\ntoken: t\ninterval: soon\n", "not a duration"},
		{"plugin without command", "server: http://s\ntoken: t\nhost: h\nnagios:\n - name: x\n", "nagios[0].command: is required"},
		{"duplicate service", "server: http://s\ntoken: t\nhost: h\nmunin:\n - name: cpu\n   path: /bin/true\n", `munin[0].name: "cpu" is used twice`},
		{"small buffer", "server: http://s\ntoken: t\nhost: h\nbuffer: {max_bytes: 10}\n", "buffer.max_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "agent.yaml")
			os.WriteFile(p, []byte(tt.yaml), 0o600)
			c, err := LoadFile(p)
			if err == nil {
				c.Defaults()
				err = c.Validate()
			}
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
}

// The example shipped for /etc/vigie/agent.yaml must load and validate
// (with a token, which the systemd unit passes by file).
func TestPackagedConfig(t *testing.T) {
	c, err := LoadFile("../../packaging/agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Token = "vga_x"
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Nagios) == 0 || len(c.Munin) == 0 || c.Interval.D() != 10*time.Second {
		t.Fatalf("%+v", c)
	}
}

// A file system whose statfs never returns (a dead NFS server) costs one
// timeout, is skipped while it hangs, and is measured again once it
// answers.
func TestHungFilesystemSkipped(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	s := &system{usageTimeout: 50 * time.Millisecond}
	s.usage = func(ctx context.Context, path string) (*disk.UsageStat, error) {
		calls.Add(1)
		<-release
		return &disk.UsageStat{Path: path, Total: 100}, nil
	}
	start := time.Now()
	if _, err := s.usageOf(context.Background(), "/mnt/nfs"); !errors.Is(err, errHung) {
		t.Fatalf("first call: %v", err)
	}
	if _, err := s.usageOf(context.Background(), "/mnt/nfs"); !errors.Is(err, errHung) || calls.Load() != 1 {
		t.Fatalf("while hung: %v, %d calls (want no second blocked call)", err, calls.Load())
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("a hung file system must not hold the collection")
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		u, err := s.usageOf(context.Background(), "/mnt/nfs")
		if err == nil && u.Total == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not measured again after it answered: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
