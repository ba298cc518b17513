package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Rsyslog starts a private rsyslogd (Debian rsyslog and rsyslog-relp) in
// the foreground that forwards everything it receives on a TCP input
// (newline-framed syslog) to relpTarget with omrelp, in RFC 5424, with
// an in-memory queue and endless retries, as an operator would set it
// up. A message whose text starts with "raw:" is forwarded as the bare
// text after it, on a RELP connection of its own, to show what the
// receiver does with a payload it cannot parse (and with the next one). It returns the address of the TCP input; the daemon is
// stopped at the end of the test, and its own messages are in logFile
// (and in the test log when the test fails).
func Rsyslog(t testing.TB, relpTarget string) (input, logFile string) {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
	}
	_, statErr := os.Stat(bin)
	_, relpErr := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so")
	Need(t, statErr == nil && relpErr == nil, "rsyslog and rsyslog-relp are missing (scripts/install-deps.sh)")
	host, port, err := net.SplitHostPort(relpTarget)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	input = ln.Addr().String()
	ln.Close()
	_, inPort, _ := net.SplitHostPort(input)
	logFile = filepath.Join(dir, "rsyslogd.log")
	// resumeInterval 1s: the default 30s would outlast the tests' wait
	// for a restarted vigie.
	conf := fmt.Sprintf(`global(workDirectory=%[1]q)
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address="127.0.0.1" port=%[2]q ruleset="forward")
template(name="raw" type="string" string="%%msg:5:$%%")
ruleset(name="forward" queue.type="LinkedList" queue.size="200000") {
  if $msg startswith "raw:" then {
    action(type="omrelp" target=%[3]q port=%[4]q template="raw" action.resumeRetryCount="-1" action.resumeInterval="1")
  } else {
    action(type="omrelp" target=%[3]q port=%[4]q template="RSYSLOG_SyslogProtocol23Format"
           action.resumeRetryCount="-1" action.resumeInterval="1"
           queue.type="LinkedList" queue.size="200000")
  }
}
*.* action(type="omfile" file=%[5]q)
`, dir, inPort, host, port, logFile)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	out, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			l, _ := os.ReadFile(logFile)
			t.Logf("rsyslogd output:\n%s\nrsyslogd log:\n%s", b, l)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", input, time.Second)
		if err == nil {
			c.Close()
			return input, logFile
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("rsyslogd did not open its input %s: %s", input, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
