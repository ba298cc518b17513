package checks

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		in         string
		start, end float64
		inside     bool
		err        string
	}{
		// The cases of the Nagios plugin development guidelines.
		{in: "10", start: 0, end: 10},
		{in: "10:", start: 10, end: inf},
		{in: "~:10", start: math.Inf(-1), end: 10},
		{in: "10:20", start: 10, end: 20},
		{in: "@10:20", start: 10, end: 20, inside: true},
		{in: "0.5", start: 0, end: 0.5},
		{in: "-5:-1", start: -5, end: -1},
		{in: "", err: "empty range"},
		{in: "abc", err: `end "abc" is not a number`},
		{in: "20:10", err: "start is greater than end"},
		{in: "x:10", err: `start "x" is not a number`},
		{in: "@", err: "no end"},
		{in: "NaN", err: "not a number"},
	}
	for _, tt := range tests {
		r, err := ParseRange(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRange(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || r.Start != tt.start || r.End != tt.end || r.Inside != tt.inside {
			t.Errorf("ParseRange(%q) = %+v, %v", tt.in, r, err)
		}
	}
}

func TestRangeAlert(t *testing.T) {
	tests := []struct {
		rng   string
		v     float64
		alert bool
	}{
		{"10", -1, true}, {"10", 0, false}, {"10", 10, false}, {"10", 10.1, true},
		{"10:", 9, true}, {"10:", 1e9, false},
		{"~:10", -1e9, false}, {"~:10", 11, true},
		{"10:20", 15, false}, {"10:20", 21, true}, {"10:20", 9, true},
		{"@10:20", 15, true}, {"@10:20", 10, true}, {"@10:20", 21, false},
	}
	for _, tt := range tests {
		r, err := ParseRange(tt.rng)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Alert(tt.v); got != tt.alert {
			t.Errorf("%s alert(%v) = %v, want %v", tt.rng, tt.v, got, tt.alert)
		}
	}
}

func TestRangeTextRoundTrip(t *testing.T) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:5", "0.25", "-3:4", "@0:5"} {
		r, _ := ParseRange(s)
		again, err := ParseRange(r.String())
		if err != nil || again != r {
			t.Errorf("%q -> %q -> %+v (%v)", s, r.String(), again, err)
		}
		b, _ := json.Marshal(r)
		var back Range
		if err := json.Unmarshal(b, &back); err != nil || back != r {
			t.Errorf("JSON %s -> %+v (%v)", b, back, err)
		}
	}
}

func f64(v float64) *float64 { return &v }

func TestParsePerfdata(t *testing.T) {
	tests := []struct {
		in   string
		want []Perf
		err  string
	}{
		{in: "time=0.000215s;;;0.000000;10.000000", want: []Perf{{Label: "time", Value: 0.000215, Unit: "s", Min: f64(0), Max: f64(10)}}},
		{in: "load1=0.210;2.000;4.000;0; load5=0.180;1.500;3.000;0; load15=0.120;1.200;2.000;0;", want: []Perf{
			{Label: "load1", Value: 0.21, Warn: &Range{End: 2}, Crit: &Range{End: 4}, Min: f64(0)},
			{Label: "load5", Value: 0.18, Warn: &Range{End: 1.5}, Crit: &Range{End: 3}, Min: f64(0)},
			{Label: "load15", Value: 0.12, Warn: &Range{End: 1.2}, Crit: &Range{End: 2}, Min: f64(0)},
		}},
		{in: "/=6209MB;51474;57909;0;64344", want: []Perf{{Label: "/", Value: 6209, Unit: "MB", Warn: &Range{End: 51474}, Crit: &Range{End: 57909}, Min: f64(0), Max: f64(64344)}}},
		{in: "'free space'=40%;20:;10:", want: []Perf{{Label: "free space", Value: 40, Unit: "%", Warn: &Range{Start: 20, End: math.Inf(1)}, Crit: &Range{Start: 10, End: math.Inf(1)}}}},
		{in: "'it''s'=1c", want: []Perf{{Label: "it's", Value: 1, Unit: "c"}}},
		{in: "rta=0.055ms;100.000;500.000;0; pl=0%;20;60;0;100", want: []Perf{
			{Label: "rta", Value: 0.055, Unit: "ms", Warn: &Range{End: 100}, Crit: &Range{End: 500}, Min: f64(0)},
			{Label: "pl", Value: 0, Unit: "%", Warn: &Range{End: 20}, Crit: &Range{End: 60}, Min: f64(0), Max: f64(100)},
		}},
		{in: "e=1e3 n=-2.5", want: []Perf{{Label: "e", Value: 1000}, {Label: "n", Value: -2.5}}},
		{in: "", want: nil},
		{in: "good=1 bad=abc also=2", want: []Perf{{Label: "good", Value: 1}, {Label: "also", Value: 2}}, err: `"bad=abc"`},
		{in: "novalue", err: "no label=value"},
		{in: "x=U", err: "value unknown (U)"},
		{in: "x=1;1:0", err: "warning", want: nil},
	}
	for _, tt := range tests {
		got, err := ParsePerfdata(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePerfdata(%q) error %v, want %q", tt.in, err, tt.err)
			}
		} else if err != nil {
			t.Errorf("ParsePerfdata(%q): %v", tt.in, err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParsePerfdata(%q) = %d items, want %d: %+v", tt.in, len(got), len(tt.want), got)
			continue
		}
		for i := range got {
			if g, w := got[i].String(), tt.want[i].String(); g != w {
				t.Errorf("ParsePerfdata(%q)[%d] = %s, want %s", tt.in, i, g, w)
			}
		}
	}
}

func TestParsePluginOutput(t *testing.T) {
	out := []byte("DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n" +
		"/ 15272 MB (77%);\n/boot 68 MB (69%);\n| /boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;253414\n")
	o, long, perf := ParsePluginOutput(out)
	if o != "DISK OK - free space: / 3326 MB (56%);" {
		t.Errorf("output %q", o)
	}
	if long != "/ 15272 MB (77%);\n/boot 68 MB (69%);" {
		t.Errorf("long output %q", long)
	}
	if len(perf) != 3 || perf[0].Label != "/" || perf[1].Label != "/boot" || perf[2].Label != "/home" || perf[2].Value != 69357 {
		t.Errorf("perfdata %+v", perf)
	}
	o, long, perf = ParsePluginOutput([]byte("OK\r\n"))
	if o != "OK" || long != "" || perf != nil {
		t.Errorf("one line: %q %q %v", o, long, perf)
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "check_disk -w 20% -c 10% -p /", want: []string{"check_disk", "-w", "20%", "-c", "10%", "-p", "/"}},
		{in: `check_http -s "hello world" -u '/a b'`, want: []string{"check_http", "-s", "hello world", "-u", "/a b"}},
		{in: `a\ b 'c\d' "e\"f"`, want: []string{"a b", `c\d`, `e"f`}},
		{in: `'' x`, want: []string{"", "x"}},
		{in: `"unterminated`, err: true},
		{in: `trailing\`, err: true},
	}
	for _, tt := range tests {
		got, err := splitCommand(tt.in)
		if (err != nil) != tt.err || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("splitCommand(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestNewValidation(t *testing.T) {
	tests := []struct {
		spec Spec
		opts Options
		err  string
	}{
		{Spec{}, Options{}, "check.kind: is required"},
		{Spec{"kind": "tpc"}, Options{}, `check.kind: unknown kind "tpc" (known: agent, dns, exec, http, icmp, self, snmp, snmp_interface, tcp)`},
		{Spec{"kind": "tcp", "address": "h"}, Options{}, "check.port: is required"},
		{Spec{"kind": "tcp", "port": 70000, "address": "h"}, Options{}, "check.port: must be an integer between 1 and 65535"},
		{Spec{"kind": "tcp", "port": "22x", "address": "h"}, Options{}, "check.port: must be a number"},
		{Spec{"kind": "tcp", "port": 22}, Options{}, "check.address: is required"},
		{Spec{"kind": "tcp", "port": 22, "colour": "red"}, Options{Address: "h"}, "check.colour: unknown parameter for kind tcp"},
		{Spec{"kind": "tcp", "port": 22, "warning": "x"}, Options{Address: "h"}, "check.warning:"},
		{Spec{"kind": "tcp", "port": 22, "tls": "maybe"}, Options{Address: "h"}, "check.tls: must be true or false"},
		{Spec{"kind": "http", "url": "ftp://x"}, Options{}, `check.url: "ftp://x" is not an http(s) URL`},
		{Spec{"kind": "http", "url": "http://x", "port": 80}, Options{}, "check.port: cannot be given with url"},
		{Spec{"kind": "http", "url": "http://x", "expect_status": "2xx"}, Options{}, "check.expect_status:"},
		{Spec{"kind": "http", "url": "http://x", "body_regex": "("}, Options{}, "check.body_regex:"},
		{Spec{"kind": "http", "url": "http://x", "method": "FETCH"}, Options{}, "check.method:"},
		{Spec{"kind": "dns"}, Options{}, "check.name: is required"},
		{Spec{"kind": "dns", "name": "x", "type": "AXX"}, Options{}, "check.type: unknown record type"},
		{Spec{"kind": "icmp", "warning": "100"}, Options{Address: "h"}, "check.warning: must be"},
		{Spec{"kind": "icmp", "count": 0}, Options{Address: "h"}, "check.count:"},
		{Spec{"kind": "exec"}, Options{}, "check.command: is required"},
		{Spec{"kind": "exec", "command": `check_x "oops`}, Options{}, "check.command: unterminated"},
	}
	for _, tt := range tests {
		_, err := New(tt.spec, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("New(%v): error %v, want %q", tt.spec, err, tt.err)
		}
	}
	// The forms parameters arrive in: JSON numbers, YAML ints, CLI strings.
	for _, port := range []any{float64(22), 22, "22"} {
		if _, err := New(Spec{"kind": "tcp", "port": port}, Options{Address: "h"}); err != nil {
			t.Errorf("port %T: %v", port, err)
		}
	}
	if _, err := New(Spec{"kind": "http", "url": "http://x", "expect_status": []any{float64(200), "301-302"}, "headers": map[string]any{"X": "y"}}, Options{}); err != nil {
		t.Errorf("http with a status list: %v", err)
	}
}

// Real plugin output lines collected from Debian's monitoring-plugins on
// this machine, for the fuzzers' seed corpus.
var pluginLines = []string{
	"time=0.000215s;;;0.000000;10.000000",
	"load1=0.210;2.000;4.000;0; load5=0.180;1.500;3.000;0; load15=0.120;1.200;2.000;0;",
	"/=6209MB;51474;57909;0;64344",
	"rta=0.055000ms;100.000000;500.000000;0.000000 pl=0%;20;60;0",
	"time=0.001129s;;;0.000000 size=615B;;;0",
	"users=2;5;10;0",
	"procs=123;;;0;",
	"'/var/lib/docker'=12%;80;90;0;100",
	"swap=2048MB;0;0;0;2048",
	"offset=-0.000123s;60.000000;120.000000;",
}

func FuzzParsePerfdata(f *testing.F) {
	for _, s := range pluginLines {
		f.Add(s)
	}
	f.Add("'a b'=1;@1:2;~:3;;")
	f.Add("x=1e308 y=-1e-308")
	f.Fuzz(func(t *testing.T, s string) {
		perf, err := ParsePerfdata(s)
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		// What parses prints back to perfdata that parses to the same.
		for _, p := range perf {
			again, err := ParsePerfdata(p.String())
			if err != nil || len(again) != 1 {
				t.Fatalf("%q -> %q does not parse back: %v", s, p.String(), err)
			}
			if again[0].String() != p.String() {
				t.Fatalf("round trip %q -> %q", p.String(), again[0].String())
			}
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:0", "0.5", "-1:1", "1e3:2e3", ":", "@", "~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		if r.Start > r.End || math.IsNaN(r.Start) || math.IsNaN(r.End) {
			t.Fatalf("%q gave an impossible range %+v", s, r)
		}
		again, err := ParseRange(r.String())
		if err != nil || again != r {
			t.Fatalf("%q -> %q -> %+v, %v", s, r.String(), again, err)
		}
		// Inside and outside are complements.
		flipped := r
		flipped.Inside = !r.Inside
		for _, v := range []float64{r.Start, r.End, 0, -1, 1, 1e9} {
			if r.Alert(v) == flipped.Alert(v) {
				t.Fatalf("%q: alert(%v) same for inside and outside", s, v)
			}
		}
	})
}
