package snmp

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

func agentConfig(a *testenv.SNMPAgent, c Config) Config {
	c.Port = a.Port
	if c.Timeout == 0 {
		c.Timeout = 500 * time.Millisecond
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

// toolValue extracts the value net-snmp's tools print for one OID
// ("... = STRING: x", "= INTEGER: 3", "= Timeticks: 1234" with -Ot).
func toolValue(t *testing.T, out, oid string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\.` + regexp.QuoteMeta(oid) + ` = (?:[A-Za-z0-9-]+: )?(.*)$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s in:\n%s", oid, out)
	}
	return strings.Trim(strings.TrimSpace(m[1]), `"`)
}

func TestGetMatchesSnmpget(t *testing.T) {
	a := testenv.SNMPD(t)
	ctx := context.Background()
	cases := []struct {
		name string
		cfg  Config
		tool []string
	}{
		{"v1", Config{Version: "1", Community: "public"}, []string{"-v1", "-c", "public"}},
		{"v2c", Config{Version: "2c", Community: "public"}, []string{"-v2c", "-c", "public"}},
		{"v3 authPriv SHA/AES", Config{Version: "3", User: testenv.SNMPUserAuthPriv, AuthProtocol: "SHA", AuthPassword: testenv.SNMPAuthPassword, PrivProtocol: "AES", PrivPassword: testenv.SNMPPrivPassword},
			[]string{"-v3", "-l", "authPriv", "-u", testenv.SNMPUserAuthPriv, "-a", "SHA", "-A", testenv.SNMPAuthPassword, "-x", "AES", "-X", testenv.SNMPPrivPassword}},
		{"v3 authNoPriv SHA", Config{Version: "3", User: testenv.SNMPUserAuthOnly, AuthPassword: testenv.SNMPAuthPassword},
			[]string{"-v3", "-l", "authNoPriv", "-u", testenv.SNMPUserAuthOnly, "-a", "SHA", "-A", testenv.SNMPAuthPassword}},
		{"v3 authPriv MD5/DES", Config{Version: "3", User: testenv.SNMPUserMD5DES, AuthProtocol: "MD5", AuthPassword: testenv.SNMPAuthPassword, PrivProtocol: "DES", PrivPassword: testenv.SNMPPrivPassword},
			[]string{"-v3", "-l", "authPriv", "-u", testenv.SNMPUserMD5DES, "-a", "MD5", "-A", testenv.SNMPAuthPassword, "-x", "DES", "-X", testenv.SNMPPrivPassword}},
	}
	m := NewMIB()
	names := []string{"sysDescr.0", "sysName.0", "ifDescr.1", "ifType.1", "ifMtu.1", "ifAdminStatus.1", "sysObjectID.0"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := NewClient(a.Host, agentConfig(a, tc.cfg))
			defer cl.Close()
			oids := make([]string, len(names))
			for i, n := range names {
				o, err := m.Resolve(n)
				if err != nil {
					t.Fatal(err)
				}
				oids[i] = o
			}
			vals, err := cl.Get(ctx, oids)
			if err != nil {
				t.Fatal(err)
			}
			ref := a.Tool(t, "snmpget", tc.tool, oids...)
			for i, v := range vals {
				if v.OID != oids[i] {
					t.Errorf("%s: oid %s, want %s", names[i], v.OID, oids[i])
				}
				if want := toolValue(t, ref, oids[i]); v.Text != strings.TrimPrefix(want, ".") {
					t.Errorf("%s = %q, snmpget says %q", names[i], v.Text, want)
				}
			}
			// sysUpTime moves; compare it within a second.
			up, err := cl.Get(ctx, []string{"1.3.6.1.2.1.1.3.0"})
			if err != nil {
				t.Fatal(err)
			}
			ref = a.Tool(t, "snmpget", tc.tool, "1.3.6.1.2.1.1.3.0")
			want, _ := strconv.ParseFloat(toolValue(t, ref, "1.3.6.1.2.1.1.3.0"), 64)
			if up[0].Type != "TimeTicks" || up[0].Number > want || want-up[0].Number > 100 {
				t.Errorf("sysUpTime = %v %s, snmpget says %v", up[0].Number, up[0].Type, want)
			}
		})
	}
}

func TestBulkWalkMatchesSnmpbulkwalk(t *testing.T) {
	a := testenv.SNMPD(t)
	cl := NewClient(a.Host, agentConfig(a, Config{Version: "2c", MaxRepetitions: 7}))
	defer cl.Close()
	root := builtin["ifTable"]
	vals, truncated, err := cl.Walk(context.Background(), root, 0)
	if err != nil || truncated {
		t.Fatal(err, truncated)
	}
	ref := a.Tool(t, "snmpbulkwalk", []string{"-v2c", "-c", "public"}, root)
	lines := strings.Split(strings.TrimSpace(ref), "\n")
	if len(vals) != len(lines) || len(vals) < 20 {
		t.Fatalf("walked %d values, snmpbulkwalk %d", len(vals), len(lines))
	}
	for _, v := range vals {
		// Octet counters move between the two walks; compare the rest.
		if v.Counter() {
			continue
		}
		want := strings.TrimPrefix(toolValue(t, ref, v.OID), ".")
		if v.Type == "OctetString" && strings.Contains(ref, "."+v.OID+" = Hex-STRING") {
			want = strings.ReplaceAll(strings.ToLower(want), " ", ":")
		}
		if v.Text != want {
			t.Errorf("%s = %q, snmpbulkwalk says %q", v.OID, v.Text, want)
		}
	}
	// A bound cuts the walk short and says so.
	few, truncated, err := cl.Walk(context.Background(), root, 5)
	if err != nil || !truncated || len(few) != 5 {
		t.Fatalf("bounded walk: %d values, truncated %v, %v", len(few), truncated, err)
	}
}

func TestErrorsAreClear(t *testing.T) {
	a := testenv.SNMPD(t)
	ctx := context.Background()
	cases := []struct {
		name string
		cfg  Config
		is   error
		msg  string
	}{
		{"wrong community", Config{Version: "2c", Community: "nope", Retries: 1, Timeout: 200 * time.Millisecond}, ErrNoAnswer, "wrong community or agent down"},
		{"v1 wrong community", Config{Version: "1", Community: "nope", Timeout: 200 * time.Millisecond}, ErrNoAnswer, "wrong community or agent down"},
		{"v3 wrong auth password", Config{Version: "3", User: testenv.SNMPUserAuthPriv, AuthPassword: "wrongpassword", PrivPassword: testenv.SNMPPrivPassword}, ErrAuth, "wrong auth password"},
		{"v3 unknown user", Config{Version: "3", User: "mallory", AuthPassword: testenv.SNMPAuthPassword}, ErrAuth, "does not know user"},
		{"v3 level too low", Config{Version: "3", User: testenv.SNMPUserAuthPriv, AuthPassword: testenv.SNMPAuthPassword}, nil, "authorizationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := NewClient(a.Host, agentConfig(a, tc.cfg))
			defer cl.Close()
			start := time.Now()
			_, err := cl.Get(ctx, []string{"1.3.6.1.2.1.1.5.0"})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			// The retries are the only ones: no storm, no hang.
			if lim := time.Duration(tc.cfg.Retries+1)*agentConfig(a, tc.cfg).Timeout + 300*time.Millisecond; time.Since(start) > lim {
				t.Errorf("took %s, more than %s", time.Since(start), lim)
			}
			for _, secret := range []string{"nope", "wrongpassword", testenv.SNMPPrivPassword} {
				if tc.cfg.Community == secret || tc.cfg.AuthPassword == secret || tc.cfg.PrivPassword == secret {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q shows a secret", err)
					}
				}
			}
		})
	}
}

func TestInterfacesMatchWalk(t *testing.T) {
	a := testenv.SNMPD(t)
	for _, v := range []string{"1", "2c"} {
		t.Run("v"+v, func(t *testing.T) {
			cl := NewClient(a.Host, agentConfig(a, Config{Version: v}))
			defer cl.Close()
			ifs, err := cl.Interfaces(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ref := a.Tool(t, "snmpbulkwalk", []string{"-v2c", "-c", "public"}, builtin["ifDescr"])
			if n := strings.Count(strings.TrimSpace(ref), "\n") + 1; len(ifs) != n {
				t.Fatalf("%d interfaces, snmpbulkwalk shows %d", len(ifs), n)
			}
			for _, it := range ifs {
				idx := strconv.Itoa(it.Index)
				if want := toolValue(t, ref, builtin["ifDescr"]+"."+idx); it.Descr != want {
					t.Errorf("interface %d descr %q, want %q", it.Index, it.Descr, want)
				}
				if it.Name == "" || it.AdminStatus == 0 || it.OperStatus == 0 {
					t.Errorf("interface %+v lacks a name or status", it)
				}
				if v == "2c" && !it.HC {
					t.Errorf("interface %d: net-snmp has ifHCInOctets, HC false", it.Index)
				}
			}
			s, err := cl.PollInterface(context.Background(), ifs[0].Index)
			if err != nil || !s.Present || s.OperStatus == 0 || s.Uptime == 0 {
				t.Fatalf("poll: %+v %v", s, err)
			}
			if (v == "2c") != (s.Width == 64) {
				t.Errorf("version %s polled width %d", v, s.Width)
			}
			gone, err := cl.PollInterface(context.Background(), 999999)
			if err == nil && gone.Present {
				t.Errorf("interface 999999 present: %+v", gone)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg Config
		err string
	}{
		{Config{}, ""},
		{Config{Version: "v3", User: "u", AuthPassword: "12345678", PrivPassword: "12345678"}, ""},
		{Config{Version: "4"}, "version: must be 1, 2c or 3"},
		{Config{Port: 70000}, "port:"},
		{Config{Retries: 9}, "retries:"},
		{Config{MaxRepetitions: 1000}, "max_repetitions:"},
		{Config{Timeout: time.Hour}, "timeout:"},
		{Config{Version: "3"}, "user: is required"},
		{Config{Version: "2c", User: "u"}, "user: only SNMP v3"},
		{Config{Version: "3", User: "u", AuthPassword: "short"}, "auth_password: must be at least 8"},
		{Config{Version: "3", User: "u", AuthPassword: "12345678", AuthProtocol: "SHA999"}, "auth_protocol:"},
		{Config{Version: "3", User: "u", PrivPassword: "12345678"}, "auth_password: is required"},
		{Config{Version: "3", User: "u", AuthPassword: "12345678", PrivPassword: "12345678", PrivProtocol: "ROT13"}, "priv_protocol:"},
	}
	for _, tc := range cases {
		c := tc.cfg
		err := c.Validate()
		if tc.err == "" && err != nil {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.err)
		}
	}
	r := Config{Community: "secret", AuthPassword: "x", PrivPassword: "y"}.Redacted()
	if r.Community == "secret" || r.AuthPassword == "x" || r.PrivPassword == "y" {
		t.Errorf("Redacted kept a secret: %+v", r)
	}
}

func TestCounterDelta(t *testing.T) {
	cases := []struct {
		prev, cur uint64
		width     int
		want      uint64
	}{
		{100, 300, 32, 200},
		{4294967000, 200, 32, 496},
		{18446744073709551000, 100, 64, 716},
		{5, 5, 64, 0},
		{1 << 40, 1<<40 + 7, 64, 7},
	}
	for _, tc := range cases {
		if got := CounterDelta(tc.prev, tc.cur, tc.width); got != tc.want {
			t.Errorf("CounterDelta(%v, %v, %d) = %v, want %v", tc.prev, tc.cur, tc.width, got, tc.want)
		}
	}
}

func TestHealth(t *testing.T) {
	a := testenv.SNMPD(t)
	cl := NewClient(a.Host, agentConfig(a, Config{}))
	defer cl.Close()
	items, err := cl.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byService := map[string]HealthItem{}
	m := NewMIB()
	for _, it := range items {
		byService[it.Service] = it
		if strings.Contains(it.Service, "/") {
			t.Errorf("service name %q holds a slash", it.Service)
		}
		for _, o := range []string{it.OID, it.PercentOf} {
			if _, err := m.Resolve(o); o != "" && err != nil {
				t.Errorf("%s: %v", it.Service, err)
			}
		}
	}
	for _, want := range []string{"uptime", "memory available", "storage root"} {
		if _, ok := byService[want]; !ok {
			t.Errorf("no %q in %+v", want, items)
		}
	}
	// As many storage items as snmpbulkwalk shows fixed disks of a size.
	types := a.Tool(t, "snmpbulkwalk", []string{"-v2c", "-c", "public"}, builtin["hrStorageType"])
	sizes := a.Tool(t, "snmpbulkwalk", []string{"-v2c", "-c", "public"}, builtin["hrStorageSize"])
	disks := 0
	for _, l := range strings.Split(types, "\n") {
		if strings.HasSuffix(l, hrStorageFixedDisk) {
			idx := strings.TrimPrefix(strings.Fields(l)[0], "."+builtin["hrStorageType"]+".")
			if toolValue(t, sizes, builtin["hrStorageSize"]+"."+idx) != "0" {
				disks++
			}
		}
	}
	n := 0
	for s := range byService {
		if strings.HasPrefix(s, "storage ") {
			n++
		}
	}
	if n != disks || disks == 0 {
		t.Errorf("%d storage items, snmpbulkwalk shows %d fixed disks", n, disks)
	}
}

func TestSensorMultiplier(t *testing.T) {
	cases := []struct {
		scale, precision int
		want             float64
	}{{9, 0, 1}, {9, 1, 0.1}, {8, 0, 0.001}, {10, 0, 1000}, {9, 2, 0.01}, {99, 99, 1}}
	for _, tc := range cases {
		if got := SensorMultiplier(tc.scale, tc.precision); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("SensorMultiplier(%d, %d) = %v, want %v", tc.scale, tc.precision, got, tc.want)
		}
	}
}

// FuzzValueOf feeds the value decoder what an agent may send for any
// type: it must not panic, and text is valid UTF-8.
func FuzzValueOf(f *testing.F) {
	f.Add(byte(gosnmp.OctetString), []byte("Linux router 5.10"))
	f.Add(byte(gosnmp.OctetString), []byte{0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e})
	f.Add(byte(gosnmp.OctetString), []byte{0xff, 0xfe, 0x00})
	f.Add(byte(gosnmp.Counter64), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, typ byte, b []byte) {
		pdu := gosnmp.SnmpPDU{Name: ".1.3.6.1", Type: gosnmp.Asn1BER(typ)}
		switch pdu.Type {
		case gosnmp.OctetString:
			pdu.Value = b
		case gosnmp.Counter64:
			var u uint64
			for _, c := range b {
				u = u<<8 | uint64(c)
			}
			pdu.Value = u
		case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
			pdu.Value = uint(len(b))
		case gosnmp.Integer:
			pdu.Value = -len(b)
		default:
			pdu.Value = string(b)
		}
		v := valueOf(pdu)
		if !utf8.ValidString(v.Text) {
			t.Fatalf("text %q is not UTF-8", v.Text)
		}
	})
}
