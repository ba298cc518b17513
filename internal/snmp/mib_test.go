package snmp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

func TestResolve(t *testing.T) {
	m := NewMIB()
	cases := []struct{ in, want, err string }{
		{"1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.3.0", ""},
		{".1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.3.0", ""},
		{"sysUpTime.0", "1.3.6.1.2.1.1.3.0", ""},
		{"ifHCInOctets.2", "1.3.6.1.2.1.31.1.1.1.6.2", ""},
		{"IF-MIB::ifHCOutOctets.2", "1.3.6.1.2.1.31.1.1.1.10.2", ""},
		{" hrProcessorLoad.196608 ", "1.3.6.1.2.1.25.3.3.1.2.196608", ""},
		{"laLoad.1", "1.3.6.1.4.1.2021.10.1.3.1", ""},
		{"entPhySensorValue", "1.3.6.1.2.1.99.1.1.1.4", ""},
		{"", "", "empty OID"},
		{"ifFoo.1", "", `unknown name "ifFoo"`},
		{"1.3..6", "", "empty arc"},
		{"1.3.x", "", `arc "x"`},
		{"1.3.99999999999", "", "below 2^32"},
		{"sysUpTime.a", "", `index "a"`},
		{"sysUpTime.", "", "empty arc"},
		{strings.Repeat("1.", 200) + "1", "", "more than 128 arcs"},
	}
	for _, tc := range cases {
		got, err := m.Resolve(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Resolve(%q) = %q, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if n := m.Name("1.3.6.1.2.1.2.2.1.2.7"); n != "ifDescr.7" {
		t.Errorf("Name = %q", n)
	}
	if n := m.Name("1.3.6.1.2.1.31.1.1.1.6.2"); n != "ifHCInOctets.2" {
		t.Errorf("Name = %q", n)
	}
}

func TestParseMIB(t *testing.T) {
	src := `TEST-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises, OBJECT-TYPE, MODULE-IDENTITY FROM SNMPv2-SMI;
testMIB MODULE-IDENTITY
    LAST-UPDATED "202601010000Z" -- a comment with ::= { x 1 } inside --
    ORGANIZATION "x ::= { nope 9 }"
    DESCRIPTION "A module."
    ::= { enterprises 99999 }
testObjects OBJECT IDENTIFIER ::= { testMIB 1 }
-- testHidden OBJECT IDENTIFIER ::= { testMIB 7 }
testTable OBJECT-TYPE
    SYNTAX SEQUENCE OF TestEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "rows"
    ::= { testObjects 2 }
TestEntry ::= SEQUENCE { testIndex Integer32, testState INTEGER }
testEntry OBJECT-TYPE
    SYNTAX TestEntry
    INDEX { testIndex }
    ::= { testTable 1 }
testState OBJECT-TYPE
    SYNTAX INTEGER { up(1), down(2) }
    DEFVAL { up }
    ::= { testEntry 2 }
testFlags OBJECT-TYPE SYNTAX BITS { a(0) } DEFVAL { '00'H } ::= { testEntry 3 }
testAbs OBJECT IDENTIFIER ::= { iso org(3) dod(6) 1 4 1 99999 9 }
END`
	m := NewMIB()
	n, err := m.Load(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"testMIB": "1.3.6.1.4.1.99999", "testObjects": "1.3.6.1.4.1.99999.1",
		"testTable": "1.3.6.1.4.1.99999.1.2", "testEntry": "1.3.6.1.4.1.99999.1.2.1",
		"testState": "1.3.6.1.4.1.99999.1.2.1.2", "testFlags": "1.3.6.1.4.1.99999.1.2.1.3",
		"testAbs": "1.3.6.1.4.1.99999.9",
	}
	if n != len(want) {
		t.Errorf("added %d names, want %d", n, len(want))
	}
	for name, oid := range want {
		if got, err := m.Resolve(name); got != oid {
			t.Errorf("%s = %q (%v), want %s", name, got, err, oid)
		}
	}
	for _, hidden := range []string{"testHidden", "x", "nope"} {
		if _, err := m.Resolve(hidden); err == nil {
			t.Errorf("%s resolved from a comment or a string", hidden)
		}
	}
}

func TestParseMIBBadInput(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.mib")
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata/*.bad.mib", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The first line names the error: "-- error: ...".
		first, _, _ := strings.Cut(string(b), "\n")
		want := strings.TrimSpace(strings.TrimPrefix(first, "-- error:"))
		_, err = ParseMIB(b)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", f, err, want)
		}
	}
}

// TestNetSNMPMIBs loads net-snmp's own MIB files, the real test set Debian
// ships: their UCD-SNMP-MIB numbers must agree with vigie's built-in table,
// and a name only those files define must read from the real agent.
func TestNetSNMPMIBs(t *testing.T) {
	_, err := os.Stat(filepath.Join(DefaultMIBDir, "UCD-SNMP-MIB.txt"))
	testenv.Need(t, err == nil, "needs net-snmp's MIBs in "+DefaultMIBDir+" (apt-get install snmp)")
	files := NewMIB()
	files.names, files.byOID = map[string]string{}, map[string]string{}
	for _, root := range []string{"iso", "org", "dod", "internet", "mgmt", "mib-2", "private", "enterprises", "snmpModules", "snmpV2", "experimental", "system", "ifIndex"} {
		files.add(root, builtin[root])
	}
	n, err := files.LoadDir(DefaultMIBDir)
	if err != nil {
		t.Fatal(err)
	}
	if n < 300 {
		t.Errorf("only %d names from net-snmp's MIBs", n)
	}
	checked := 0
	for name, oid := range builtin {
		if !strings.HasPrefix(oid, "1.3.6.1.4.1.2021.") {
			continue
		}
		checked++
		if got, err := files.Resolve(name); got != oid {
			t.Errorf("UCD-SNMP-MIB says %s is %q (%v), the built-in table %s", name, got, err, oid)
		}
	}
	if checked < 20 {
		t.Errorf("only %d UCD names checked", checked)
	}
	for name, oid := range map[string]string{"netSnmp": "1.3.6.1.4.1.8072", "nsCacheDefaultTimeout": "1.3.6.1.4.1.8072.1.5.1", "nsModuleName": "1.3.6.1.4.1.8072.1.2.1.1.4"} {
		if got, _ := files.Resolve(name); got != oid {
			t.Errorf("%s = %q, want %s", name, got, oid)
		}
	}

	a := testenv.SNMPD(t)
	m := NewMIB()
	if _, err := m.LoadDir(DefaultMIBDir); err != nil {
		t.Fatal(err)
	}
	oid, err := m.Resolve("NET-SNMP-AGENT-MIB::nsCacheDefaultTimeout.0")
	if err != nil {
		t.Fatal(err)
	}
	cl := NewClient(a.Host, agentConfig(a, Config{}))
	defer cl.Close()
	vals, err := cl.Get(context.Background(), []string{oid})
	if err != nil {
		t.Fatal(err)
	}
	ref := a.Tool(t, "snmpget", []string{"-v2c", "-c", "public"}, oid)
	if vals[0].Missing() || vals[0].Text != toolValue(t, ref, oid) {
		t.Errorf("nsCacheDefaultTimeout.0 = %+v, snmpget: %s", vals[0], ref)
	}
}

func FuzzParseMIB(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.mib")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join(DefaultMIBDir, "UCD-DISKIO-MIB.txt")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`x OBJECT IDENTIFIER ::= { iso 3 }`))
	f.Add([]byte(`a OBJECT-TYPE ::= { b c(1) 2 }`))
	f.Fuzz(func(t *testing.T, b []byte) {
		defs, err := ParseMIB(b)
		if err != nil {
			return
		}
		m := NewMIB()
		m.addDefs(defs)
		for _, d := range defs {
			if oid, err := m.Resolve(d.name); err == nil {
				if err := checkNumeric(oid); err != nil {
					t.Fatalf("%s resolved to a bad OID %q: %v", d.name, oid, err)
				}
			}
		}
	})
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"sysUpTime.0", ".1.3.6", "IF-MIB::ifDescr.1", "a..b", "::", "9.99999999999"} {
		f.Add(s)
	}
	m := NewMIB()
	f.Fuzz(func(t *testing.T, s string) {
		oid, err := m.Resolve(s)
		if err == nil {
			if err := checkNumeric(oid); err != nil {
				t.Fatalf("Resolve(%q) = %q: %v", s, oid, err)
			}
		}
	})
}

// TestDefaultLoadsConfiguredDirs: a MIB dropped in a configured directory
// resolves through Default, and a broken file is reported by name.
func TestDefaultLoadsConfiguredDirs(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ACME-MIB.txt"), []byte("ACME-MIB DEFINITIONS ::= BEGIN\nacme OBJECT IDENTIFIER ::= { enterprises 424242 }\nacmeTemp OBJECT-TYPE SYNTAX Integer32 ::= { acme 1 }\nEND\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "BROKEN-MIB.txt"), []byte("broken OBJECT IDENTIFIER ::= { iso 3"), 0o644)
	SetMIBDirs([]string{dir})
	if got, err := Default().Resolve("acmeTemp.0"); err != nil || got != "1.3.6.1.4.1.424242.1.0" {
		t.Errorf("acmeTemp.0 = %q, %v", got, err)
	}
	if err := DefaultLoadError(); err == nil || !strings.Contains(err.Error(), "BROKEN-MIB.txt") {
		t.Errorf("load error %v does not name the broken file", err)
	}
}
