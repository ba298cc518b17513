package app

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vigie-monitoring/vigie/internal/alarms"
	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// sendTrap runs net-snmp's snmptrap: opts, then the address, then the
// trap's own arguments.
func sendTrap(t *testing.T, addr string, opts []string, trap ...string) {
	t.Helper()
	bin, err := exec.LookPath("snmptrap")
	testenv.Need(t, err == nil, "snmptrap (Debian package snmp) is missing; run scripts/install-deps.sh")
	dir := t.TempDir()
	args := append(append(append([]string{"-m", "", "-t", "1", "-r", "1"}, opts...), addr), trap...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "SNMPCONFPATH="+dir, "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snmptrap %v: %v: %s", args, err, out)
	}
}

// TestSNMPTrapsFeedAlarms: through the real server, a linkDown from an
// inventory host's address opens a red alarm on the host's interface,
// and the linkUp for it (an inform, answered once stored) resolves it.
func TestSNMPTrapsFeedAlarms(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	ts := startServer(t, t.TempDir(), `
events:
  rules:
    - name: ups-on-battery
      match: [{field: tags.trap_oid, equals: 1.3.6.1.4.1.99999.1.0.17}]
      actions: {set_criticality: red, set_domain: power}
inventory:
  hosts:
    - name: core-sw1
      address: 127.0.0.1
      check: {kind: none}
`, "VIGIE_SNMPTRAP_LISTEN="+addr, "VIGIE_SNMPTRAP_COMMUNITIES=netops", "VIGIE_SNMPTRAP_CONNECTOR_NAME=dc1-traps")
	waitFor(t, "the server", func() bool { return ts.admin("GET", "/api/v1/hosts/core-sw1", nil, nil) == 200 })
	ifVars := []string{"1.3.6.1.2.1.2.2.1.1.3", "i", "3", "1.3.6.1.2.1.2.2.1.2.3", "s", "eth2", "1.3.6.1.2.1.2.2.1.8.3", "i"}

	// A wrong community is refused: no alarm.
	sendTrap(t, addr, []string{"-v", "2c", "-c", "public"}, append([]string{"", "1.3.6.1.6.3.1.1.5.3"}, append(ifVars, "2")...)...)
	sendTrap(t, addr, []string{"-v", "2c", "-c", "netops"}, append([]string{"", "1.3.6.1.6.3.1.1.5.3"}, append(ifVars, "2")...)...)
	var l alarmList
	waitFor(t, "the linkDown alarm", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=snmptrap", nil, &l)
		return len(l.Items) > 0
	})
	a := l.Items[0]
	if len(l.Items) != 1 || a.ConnectorName != "dc1-traps" || a.Component != "core-sw1" || a.Resource != "eth2" || a.State != 3 ||
		a.Criticality != "red" || a.Output != "linkDown eth2 ifIndex.3=3 ifDescr.3=eth2 ifOperStatus.3=down" {
		t.Fatalf("alarms %+v", l.Items)
	}

	sendTrap(t, addr, []string{"-v", "2c", "-Ci", "-c", "netops"}, append([]string{"", "1.3.6.1.6.3.1.1.5.4"}, append(ifVars, "1")...)...)
	var full alarms.Alarm
	waitFor(t, "the alarm resolved", func() bool {
		ts.admin("GET", fmt.Sprintf("/api/v1/alarms/%d", a.ID), nil, &full)
		return full.Status == "resolved"
	})
	if full.Resolved.IsZero() || full.WorstState != 3 {
		t.Fatalf("resolved alarm %+v", full)
	}

	// A v1 enterprise-specific trap from an agent outside the inventory,
	// qualified by a rule on its trap OID.
	sendTrap(t, addr, []string{"-v", "1", "-c", "netops"}, "1.3.6.1.4.1.99999.1", "192.0.2.50", "6", "17", "", "1.3.6.1.4.1.99999.1.2", "i", "42")
	waitFor(t, "the enterprise trap's alarm", func() bool {
		ts.admin("GET", "/api/v1/alarms?connector=snmptrap&component=192.0.2.50", nil, &l)
		return len(l.Items) == 1
	})
	if a := l.Items[0]; a.Resource != "1.3.6.1.4.1.99999.1.0.17" || a.State != 1 || a.Criticality != "red" || a.Domain != "power" {
		t.Fatalf("enterprise trap alarm %+v", a)
	}

	var body string
	waitFor(t, "the refusal counter", func() bool {
		body = ts.metricsText()
		return strings.Contains(body, `vigie_events_refused_total{reason="community",source="snmptrap"} 1`)
	})
	if !strings.Contains(body, `vigie_events_received_total{source="snmptrap"} 3`) {
		t.Fatalf("metrics:\n%s", body)
	}
}
