package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie-monitoring/vigie/internal/testenv"
)

// The shipped systemd unit passes systemd's own checker, run on a copy
// pointing at a freshly built agent.
func TestSystemdUnit(t *testing.T) {
	_, err := exec.LookPath("systemd-analyze")
	testenv.Need(t, err == nil, "needs systemd-analyze (systemd)")
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigie-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	unit, err := os.ReadFile("../../packaging/vigie-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "--buffer-dir") || !strings.Contains(string(unit), "StateDirectory=vigie-agent") {
		t.Fatal("the unit must give the agent its disk buffer")
	}
	path := filepath.Join(dir, "vigie-agent.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/vigie-agent", bin)), 0o644)
	if out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
