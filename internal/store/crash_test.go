package store

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// runCrashChild starts this test binary as the crash writer, lets it
// commit for a moment, kills it with SIGKILL and returns the last batch it
// reported committed.
func runCrashChild(t *testing.T, path string) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$")
	cmd.Env = append(os.Environ(), "VIGIE_CRASH_DB="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	last := 0
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(1500 * time.Millisecond)
loop:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the writer stopped by itself")
			}
			if n, err := strconv.Atoi(l); err == nil {
				last = n
			} else {
				t.Fatalf("writer: %s", l)
			}
		case <-deadline:
			break loop
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	// Lines already printed before the kill count too.
	for l := range lines {
		if n, err := strconv.Atoi(l); err == nil {
			last = n
		}
	}
	cmd.Wait()
	if last == 0 {
		t.Fatal("no batch committed before the kill")
	}
	return last
}
