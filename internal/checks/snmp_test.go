package checks

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigie-monitoring/vigie/internal/snmp"
	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// refValue is what net-snmp's snmpget prints for one OID.
func refValue(t *testing.T, a *testenv.SNMPAgent, oid string) string {
	t.Helper()
	out := a.Tool(t, "snmpget", []string{"-v2c", "-c", "public"}, oid)
	m := regexp.MustCompile(`= (?:[A-Za-z0-9-]+: )?(.*)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("snmpget %s: %s", oid, out)
	}
	return strings.Trim(strings.TrimSpace(m[1]), `"`)
}

func TestSNMPKind(t *testing.T) {
	a := testenv.SNMPD(t)
	o := Options{Address: a.Host, Timeout: 3 * time.Second}
	port := float64(a.Port)
	v3 := Spec{"version": "3", "user": testenv.SNMPUserAuthPriv, "auth_protocol": "SHA", "auth_password": testenv.SNMPAuthPassword,
		"priv_protocol": "AES", "priv_password": testenv.SNMPPrivPassword, "port": port}
	cases := []struct {
		name   string
		spec   Spec
		host   Spec // the host's SNMP settings
		state  State
		output string
		perf   string
		unit   string
	}{
		{"string value", Spec{"oid": "sysDescr.0", "port": port}, nil, OK, "sysDescr.0 = " + refValue(t, a, "1.3.6.1.2.1.1.1.0"), "", ""},
		{"numeric OID", Spec{"oid": ".1.3.6.1.2.1.1.5.0", "port": port}, nil, OK, "= " + refValue(t, a, "1.3.6.1.2.1.1.5.0"), "", ""},
		{"gauge over critical", Spec{"oid": "memTotalReal.0", "port": port, "critical": "10"}, nil, Critical, "SNMP CRITICAL - memTotalReal.0 = ", "memTotalReal.0", ""},
		{"gauge within", Spec{"oid": "memTotalReal.0", "port": port, "critical": "1:"}, nil, OK, "memTotalReal.0 = " + strings.Fields(refValue(t, a, "1.3.6.1.4.1.2021.4.5.0"))[0], "memTotalReal.0", ""},
		{"number as a string", Spec{"oid": "laLoad.1", "port": port, "warning": "~:-1"}, nil, Warning, "SNMP WARNING - laLoad.1 = ", "laLoad.1", ""},
		{"part of a whole", Spec{"oid": "memAvailReal.0", "percent_of": "memTotalReal.0", "port": port, "warning": "1:", "label": "memory available"}, nil, OK, "memory available = ", "memory available", "%"},
		{"part over a threshold", Spec{"oid": "memAvailReal.0", "percent_of": "memTotalReal.0", "port": port, "critical": "0.001"}, nil, Critical, "% (", "memAvailReal.0", "%"},
		{"multiplier", Spec{"oid": "memTotalReal.0", "port": port, "multiplier": 1024}, nil, OK, "memTotalReal.0 = " + func() string {
			n, _ := strconv.ParseFloat(strings.Fields(refValue(t, a, "1.3.6.1.4.1.2021.4.5.0"))[0], 64)
			return strconv.FormatFloat(n*1024, 'f', -1, 64)
		}(), "memTotalReal.0", ""},
		{"timeticks in seconds", Spec{"oid": "sysUpTime.0", "port": port}, nil, OK, "sysUpTime.0 = ", "sysUpTime.0", "s"},
		{"counter32", Spec{"oid": "ifInOctets.1", "port": port}, nil, OK, "rate from the next poll", "ifInOctets.1", "c"},
		{"counter64", Spec{"oid": "ifHCInOctets.1", "port": port}, nil, OK, "Counter64", "ifHCInOctets.1", "c"},
		{"expect met", Spec{"oid": "sysName.0", "port": port, "expect": refValue(t, a, "1.3.6.1.2.1.1.5.0")}, nil, OK, "sysName.0 = ", "", ""},
		{"expect missed", Spec{"oid": "sysName.0", "port": port, "expect": "no-such-name-here"}, nil, Critical, `expected "no-such-name-here"`, "", ""},
		{"missing object", Spec{"oid": "1.3.6.1.4.1.99999.1.0", "port": port}, nil, Critical, "NoSuchObject", "", ""},
		{"v3 authPriv", Spec{"oid": "sysName.0"}, nil, OK, "sysName.0 = ", "", ""},
		{"host settings are defaults", Spec{"oid": "sysName.0"}, v3, OK, "sysName.0 = ", "", ""},
		{"service overrides host", Spec{"oid": "sysName.0", "version": "2c", "user": nil, "auth_password": nil, "priv_password": nil}, v3, OK, "sysName.0 = ", "", ""},
		{"wrong community", Spec{"oid": "sysName.0", "port": port, "community": "s3cr3t-community", "timeout": "200ms"}, nil, Critical, "no answer", "", ""},
		{"v3 wrong password", Spec{"oid": "sysName.0", "auth_password": "s3cr3t-wrongpass"}, v3, Critical, "authentication failed", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := Spec{"kind": "snmp"}
			if tc.name == "v3 authPriv" {
				for k, v := range v3 {
					spec[k] = v
				}
			}
			for k, v := range tc.spec {
				spec[k] = v
			}
			oo := o
			oo.SNMP = tc.host
			r := run(t, spec, oo)
			if r.State != tc.state || !strings.Contains(r.Output, tc.output) {
				t.Errorf("%s: %q, want %s with %q", r.State, r.Output, tc.state, tc.output)
			}
			if tc.perf != "" {
				p, ok := perf(r, tc.perf)
				if !ok || p.Unit != tc.unit {
					t.Errorf("perfdata %s: %+v (unit %q wanted) in %+v", tc.perf, p, tc.unit, r.Perfdata)
				}
			}
			for _, secret := range []string{"s3cr3t", testenv.SNMPPrivPassword, testenv.SNMPAuthPassword} {
				if strings.Contains(r.Output, secret) && !strings.Contains(tc.output, secret) {
					t.Errorf("output %q shows a secret", r.Output)
				}
			}
		})
	}
}

func TestSNMPCounterRateAndWidth(t *testing.T) {
	a := testenv.SNMPD(t)
	o := Options{Address: a.Host, Timeout: 3 * time.Second}
	// snmpInPkts counts every request, ours included, so it always
	// moves; net-snmp caches the interface counters for seconds.
	for _, tc := range []struct {
		oid   string
		max   float64
		moves bool
	}{{"snmpInPkts.0", math.MaxUint32, true}, {"ifHCInOctets.1", math.MaxUint64, false}} {
		c, err := New(Spec{"kind": "snmp", "oid": tc.oid, "port": a.Port}, o)
		if err != nil {
			t.Fatal(err)
		}
		first := c.Run(context.Background())
		// Traffic on lo between the polls: the agent's own answers.
		time.Sleep(50 * time.Millisecond)
		second := c.Run(context.Background())
		p, ok := perf(second, tc.oid)
		if !ok || p.Max == nil || *p.Max != tc.max || p.Unit != "c" {
			t.Fatalf("%s counter perfdata %+v", tc.oid, p)
		}
		rate, ok := perf(second, tc.oid+"_per_second")
		f, _ := perf(first, tc.oid)
		if !ok || rate.Value < 0 || (tc.moves && (rate.Value <= 0 || p.Value <= f.Value)) {
			t.Errorf("%s: first %v, second %v, rate %+v (%q)", tc.oid, f.Value, p.Value, rate, second.Output)
		}
		if !strings.Contains(second.Output, "/s") {
			t.Errorf("no rate in %q", second.Output)
		}
	}
}

func TestSNMPInterfaceKind(t *testing.T) {
	a := testenv.SNMPD(t)
	o := Options{Address: a.Host, Timeout: 3 * time.Second}
	cl := snmp.NewClient(a.Host, snmp.Config{Version: "2c", Community: "public", Port: a.Port, Timeout: time.Second, MaxRepetitions: 10})
	ifs, err := cl.Interfaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var up, adminDown *snmp.Interface
	for i := range ifs {
		switch {
		case ifs[i].AdminStatus == 1 && ifs[i].OperStatus == 1 && up == nil:
			up = &ifs[i]
		case ifs[i].AdminStatus == 2 && adminDown == nil:
			adminDown = &ifs[i]
		}
	}
	if up == nil {
		t.Fatalf("no interface up in %+v", ifs)
	}
	c, err := New(Spec{"kind": "snmp_interface", "interface": up.Name, "port": a.Port, "critical": "90"}, o)
	if err != nil {
		t.Fatal(err)
	}
	r1 := c.Run(context.Background())
	if r1.State != OK || !strings.Contains(r1.Output, up.Name+" is up") {
		t.Fatalf("first poll: %s %q", r1.State, r1.Output)
	}
	time.Sleep(100 * time.Millisecond)
	r2 := c.Run(context.Background())
	if r2.State != OK || !regexp.MustCompile(`in [0-9.]+ [kMG]?b/s, out [0-9.]+ [kMG]?b/s`).MatchString(r2.Output) {
		t.Fatalf("second poll: %s %q", r2.State, r2.Output)
	}
	for _, l := range []string{"in_octets", "out_octets", "in_bps", "out_bps", "errors_per_second"} {
		if _, ok := perf(r2, l); !ok {
			t.Errorf("no %s in %+v", l, r2.Perfdata)
		}
	}
	if p, _ := perf(r2, "in_octets"); p.Unit != "c" || p.Max == nil || *p.Max != math.MaxUint64 {
		t.Errorf("in_octets %+v: want a 64-bit counter", p)
	}
	if up.SpeedBps > 0 {
		if _, ok := perf(r2, "in_utilisation"); !ok {
			t.Errorf("no utilisation with speed %v: %+v", up.SpeedBps, r2.Perfdata)
		}
	}
	// v1 has no ifXTable: the 32-bit counters.
	c1, _ := New(Spec{"kind": "snmp_interface", "index": up.Index, "version": "1", "port": a.Port}, o)
	c1.Run(context.Background())
	r := c1.Run(context.Background())
	if p, _ := perf(r, "in_octets"); r.State != OK || p.Max == nil || *p.Max != math.MaxUint32 {
		t.Errorf("v1: %s %q %+v", r.State, r.Output, p)
	}
	if adminDown != nil {
		r := run(t, Spec{"kind": "snmp_interface", "index": adminDown.Index, "port": a.Port}, o)
		if r.State != OK || !strings.Contains(r.Output, "administratively down") {
			t.Errorf("admin down: %s %q", r.State, r.Output)
		}
	}
	r = run(t, Spec{"kind": "snmp_interface", "interface": "no-such-if0", "port": a.Port}, o)
	if r.State != Critical || !strings.Contains(r.Output, `no interface named "no-such-if0"`) {
		t.Errorf("unknown name: %s %q", r.State, r.Output)
	}
	r = run(t, Spec{"kind": "snmp_interface", "index": 99999, "port": a.Port}, o)
	if r.State != Critical || !strings.Contains(r.Output, "no interface with index 99999") {
		t.Errorf("unknown index: %s %q", r.State, r.Output)
	}
}

// TestInterfaceStates drives the interface logic with samples: oper down,
// 32-bit wraps, thresholds on utilisation and a reboot.
func TestInterfaceStates(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := func(at time.Duration, oper int, in, out uint64, width int, uptime float64) snmp.IfSample {
		return snmp.IfSample{Time: t0.Add(at), AdminStatus: 1, OperStatus: oper, In: in, Out: out, Width: width, Uptime: uptime, SpeedBps: 1e6, Present: true}
	}
	warn, _ := ParseRange("50")
	crit, _ := ParseRange("80")
	cases := []struct {
		name      string
		prev, cur snmp.IfSample
		state     State
		output    string
		inBps     float64
		noRate    bool
	}{
		{"oper down", s(0, 1, 0, 0, 64, 100), s(10*time.Second, 2, 0, 0, 64, 1100), Critical, "is down (admin up)", 0, true},
		{"lower layer down", s(0, 1, 0, 0, 64, 100), s(10*time.Second, 7, 0, 0, 64, 1100), Critical, "lowerLayerDown", 0, true},
		{"quiet", s(0, 1, 0, 0, 64, 100), s(10*time.Second, 1, 1250, 0, 64, 1100), OK, "in 1.00 kb/s", 1000, false},
		{"32-bit wrap", s(0, 1, math.MaxUint32-249, 0, 32, 100), s(10*time.Second, 1, 1000, 0, 32, 1100), OK, "in 1.00 kb/s", 1000, false},
		{"warning utilisation", s(0, 1, 0, 0, 64, 100), s(10*time.Second, 1, 0, 750000, 64, 1100), Warning, "60.0%", 0, false},
		{"critical utilisation", s(0, 1, 0, 0, 64, 100), s(10*time.Second, 1, 1125000, 0, 64, 1100), Critical, "90.0%", 900000, false},
		{"reboot: no rate", s(0, 1, 5000, 0, 64, 100000), s(10*time.Second, 1, 10, 0, 64, 500), OK, "rates from the next poll", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &ifCheck{name: "eth0", warn: &warn, crit: &crit}
			c.result(tc.prev, false)
			r := c.result(tc.cur, false)
			if r.State != tc.state || !strings.Contains(r.Output, tc.output) {
				t.Errorf("%s %q, want %s with %q", r.State, r.Output, tc.state, tc.output)
			}
			p, ok := perf(r, "in_bps")
			if ok == tc.noRate || (ok && p.Value != tc.inBps) {
				t.Errorf("in_bps %+v (present %v), want %v", p, ok, tc.inBps)
			}
			// A reboot's counters go without their width, so that the
			// metrics store sees a reset, not a 32-bit wrap.
			oct, _ := perf(r, "in_octets")
			if reboot := strings.HasPrefix(tc.name, "reboot"); (oct.Max == nil) != reboot {
				t.Errorf("in_octets max %v on %s", oct.Max, tc.name)
			}
		})
	}
}

func TestSNMPSpecErrors(t *testing.T) {
	cases := []struct {
		spec Spec
		err  string
	}{
		{Spec{"kind": "snmp"}, "check.oid: is required"},
		{Spec{"kind": "snmp", "oid": "ifFoo.1"}, `check.oid: OID "ifFoo.1": unknown name`},
		{Spec{"kind": "snmp", "oid": "1.3..6"}, "check.oid:"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "version": "4"}, "check.version: must be 1, 2c or 3"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "port": 0}, "check.port:"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "retries": 50}, "check.retries:"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "version": "3"}, "check.user: is required"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "version": "3", "user": "u", "auth_password": "short"}, "check.auth_password: must be at least 8"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "critical": "x"}, "check.critical:"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "colour": "red"}, "check.colour: unknown parameter"},
		{Spec{"kind": "snmp_interface"}, "check.index: is required"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "percent_of": "nope.0"}, "check.percent_of:"},
		{Spec{"kind": "snmp", "oid": "sysName.0", "multiplier": 0}, "check.multiplier: must not be 0"},
		{Spec{"kind": "snmp_interface", "index": -1}, "check.index:"},
	}
	for _, tc := range cases {
		_, err := New(tc.spec, Options{Address: "127.0.0.1"})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: error %v, want %q", tc.spec, err, tc.err)
		}
	}
	if err := ValidateSNMPSettings(Spec{"version": "3", "user": "u", "auth_password": "12345678"}); err != nil {
		t.Error(err)
	}
	for spec, want := range map[string]Spec{
		"snmp.version:":               {"version": "9"},
		"snmp.oid: unknown parameter": {"oid": "sysName.0"},
	} {
		if err := ValidateSNMPSettings(want); err == nil || !strings.Contains(err.Error(), spec) {
			t.Errorf("%v: %v, want %q", want, err, spec)
		}
	}
	red := RedactSNMP(Spec{"community": "secret", "auth_password": "x", "port": 161})
	if red["community"] != SecretMask || red["auth_password"] != SecretMask || red["port"] != 161 {
		t.Errorf("RedactSNMP: %v", red)
	}
	kept := Spec{"community": SecretMask}
	KeepSNMPSecrets(kept, Spec{"community": "stored"})
	if kept["community"] != "stored" {
		t.Errorf("KeepSNMPSecrets: %v", kept)
	}
}
