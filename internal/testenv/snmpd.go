package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SNMPAgent is a net-snmp snmpd the test started on a loopback port.
type SNMPAgent struct {
	Host      string // 127.0.0.1
	Port      int
	Community string
	Dir       string

	t     testing.TB
	start func() (stop func(), ok bool)
	stop  func()
}

// The v3 users every test agent has, with the security level each allows.
const (
	SNMPUserAuthPriv = "authpriv" // SHA / AES
	SNMPUserAuthOnly = "authonly" // SHA, no privacy
	SNMPUserMD5DES   = "md5des"   // MD5 / DES
	SNMPAuthPassword = "authpass123"
	SNMPPrivPassword = "privpass123"
)

// SNMPD starts Debian's snmpd on a free loopback UDP port with community
// "public" (read-only) and the v3 users above, waits until it answers, and
// stops it when the test ends. It skips (or fails under CI=true) when
// snmpd or snmpget is missing.
func SNMPD(t testing.TB) *SNMPAgent {
	t.Helper()
	snmpd, err := exec.LookPath("snmpd")
	if err != nil {
		snmpd = "/usr/sbin/snmpd"
	}
	_, statErr := os.Stat(snmpd)
	_, getErr := exec.LookPath("snmpget")
	Need(t, statErr == nil && getErr == nil, "needs net-snmp's snmpd and snmpget (apt-get install snmpd snmp)")
	dir := t.TempDir()
	a := &SNMPAgent{Host: "127.0.0.1", Community: "public", Dir: dir}
	a.t = t
	for attempt := 0; ; attempt++ {
		a.Port = freeUDPPort(t)
		conf := fmt.Sprintf(`[snmp] persistentDir %s
agentAddress udp:127.0.0.1:%d
rocommunity public 127.0.0.1
createUser %s SHA "%s" AES "%s"
createUser %s SHA "%s"
createUser %s MD5 "%s" DES "%s"
rouser %s priv
rouser %s auth
rouser %s priv
`, filepath.Join(dir, "persist"), a.Port,
			SNMPUserAuthPriv, SNMPAuthPassword, SNMPPrivPassword,
			SNMPUserAuthOnly, SNMPAuthPassword,
			SNMPUserMD5DES, SNMPAuthPassword, SNMPPrivPassword,
			SNMPUserAuthPriv, SNMPUserAuthOnly, SNMPUserMD5DES)
		cf := filepath.Join(dir, "snmpd.conf")
		if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		a.start = func() (func(), bool) {
			// -C: only our config; -m "": no MIB parsing (Debian lacks
			// the IETF MIBs and would complain); -f: the foreground.
			cmd := exec.Command(snmpd, "-f", "-Lf", filepath.Join(dir, "snmpd.log"), "-C", "-c", cf, "-m", "")
			cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"))
			if err := cmd.Start(); err != nil {
				t.Fatalf("starting snmpd: %v", err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			stop := func() {
				cmd.Process.Kill()
				<-done
			}
			if waitSNMP(a, done) {
				return stop, true
			}
			stop()
			return nil, false
		}
		if stop, ok := a.start(); ok {
			a.stop = stop
			t.Cleanup(func() { a.stop() })
			return a
		}
		log, _ := os.ReadFile(filepath.Join(dir, "snmpd.log"))
		if attempt == 2 {
			t.Fatalf("snmpd did not answer on port %d: %s", a.Port, log)
		}
	}
}

// Restart stops the agent and starts it again on the same port, as a
// device reboots: its sysUpTime starts again from zero.
func (a *SNMPAgent) Restart() {
	a.t.Helper()
	a.stop()
	stop, ok := a.start()
	if !ok {
		a.t.Fatalf("snmpd did not answer again on port %d", a.Port)
	}
	a.stop = stop
}

// Addr is host:port.
func (a *SNMPAgent) Addr() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// Tool runs a net-snmp command-line tool (snmpget, snmpbulkwalk…) with
// numeric output against the agent: args are the tool's options before the
// agent's address, oids after it.
func (a *SNMPAgent) Tool(t testing.TB, tool string, args []string, oids ...string) string {
	t.Helper()
	full := append([]string{"-m", "", "-On", "-Oe", "-Ot"}, args...)
	full = append(full, a.Addr())
	full = append(full, oids...)
	cmd := exec.Command(tool, full...)
	cmd.Env = append(os.Environ(), "MIBS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", tool, strings.Join(full, " "), err, stderr.String())
	}
	return string(out)
}

func waitSNMP(a *SNMPAgent, done <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		cmd := exec.Command("snmpget", "-m", "", "-v2c", "-c", a.Community, "-t", "0.3", "-r", "0", a.Addr(), "1.3.6.1.2.1.1.3.0")
		cmd.Env = append(os.Environ(), "MIBS=")
		if cmd.Run() == nil {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// BlackHole is a UDP port that reads and never answers: a device that is
// dead or firewalled without an ICMP reply. It closes when the test ends.
func BlackHole(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).Port
}
