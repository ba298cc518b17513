package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type execCheck struct {
	path      string
	args      []string
	timeout   time.Duration
	maxOutput int
}

func newExec(p *params, o Options) (Checker, error) {
	c := &execCheck{timeout: o.Timeout, maxOutput: o.MaxOutputBytes}
	var argv []string
	switch v := p.spec["command"].(type) {
	case string:
		var err error
		if argv, err = splitCommand(v); err != nil {
			p.fail("command", "%v", err)
		}
		p.used["command"] = true
	default:
		argv = p.strs("command")
	}
	if len(argv) == 0 || argv[0] == "" {
		p.fail("command", "is required (a plugin name or path)")
		return nil, p.err
	}
	argv = append(argv, p.strs("args")...)
	repl := strings.NewReplacer("$HOSTADDRESS$", o.Address, "$HOSTNAME$", o.HostName)
	for i := range argv {
		argv[i] = repl.Replace(argv[i])
	}
	c.path, c.args = resolvePlugin(argv[0], o.PluginDirs), argv[1:]
	return c, p.err
}

// resolvePlugin finds a relative plugin name in the plugin directories; a
// name not found there is kept as is, so that the run reports it missing.
func resolvePlugin(name string, dirs []string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if len(dirs) > 0 {
		return filepath.Join(dirs[0], name)
	}
	return name
}

// splitCommand splits a command line like a shell does for words: blanks
// separate, single and double quotes group, backslash escapes. Nothing is
// expanded and no shell runs.
func splitCommand(s string) ([]string, error) {
	var (
		out     []string
		b       strings.Builder
		inWord  bool
		quote   byte
		escaped bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			b.WriteByte(c)
			escaped = false
		case c == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		return nil, errors.New("trailing backslash")
	}
	if inWord {
		out = append(out, b.String())
	}
	return out, nil
}

// boundedBuffer keeps the first max bytes written and counts the rest, so
// that a plugin printing megabytes never blocks on a full pipe nor fills
// memory.
type boundedBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int64
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if room > 0 {
		if len(p) <= room {
			b.buf.Write(p)
		} else {
			b.buf.Write(p[:room])
			b.dropped += int64(len(p) - room)
		}
	} else {
		b.dropped += int64(len(p))
	}
	return len(p), nil
}

func (c *execCheck) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return runTimed(func() Result {
		start := time.Now()
		st, err := os.Stat(c.path)
		switch {
		case err != nil:
			return Result{State: Unknown, Output: fmt.Sprintf("UNKNOWN - plugin %s not found (install monitoring-plugins, or check plugin_dirs)", c.path)}
		case st.IsDir() || st.Mode()&0o111 == 0:
			return Result{State: Unknown, Output: fmt.Sprintf("UNKNOWN - plugin %s is not executable", c.path)}
		}
		cmd := exec.Command(c.path, c.args...)
		// Its own process group, so that the timeout kills the plugin and
		// everything it started.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out := &boundedBuffer{max: c.maxOutput}
		cmd.Stdout = out
		cmd.Stderr = out
		cmd.WaitDelay = time.Second
		if err := cmd.Start(); err != nil {
			return Result{State: Unknown, Output: fmt.Sprintf("UNKNOWN - starting %s: %v", c.path, err)}
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var werr error
		timedOut := false
		select {
		case werr = <-done:
		case <-ctx.Done():
			timedOut = true
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			werr = <-done
		}
		if timedOut {
			return Result{State: Unknown, Output: fmt.Sprintf("UNKNOWN - plugin %s timed out after %s (killed with its process group)",
				filepath.Base(c.path), time.Since(start).Round(100*time.Millisecond))}
		}
		code := 0
		var ee *exec.ExitError
		switch {
		case werr == nil:
		case errors.As(werr, &ee):
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return Result{State: Unknown, Output: fmt.Sprintf("UNKNOWN - plugin killed by signal %s", ws.Signal())}
			}
			code = ee.ExitCode()
		case errors.Is(werr, exec.ErrWaitDelay):
			// The plugin exited but a child kept its output open.
			code = cmd.ProcessState.ExitCode()
		default:
			return Result{State: Unknown, Output: fmt.Sprintf("UNKNOWN - running %s: %v", c.path, werr)}
		}
		output, long, perf := ParsePluginOutput(out.buf.Bytes())
		if out.dropped > 0 {
			long = strings.TrimRight(long, "\n") + fmt.Sprintf("\n[output cut: %d bytes over the %d-byte limit]", out.dropped, c.maxOutput)
		}
		if output == "" {
			output = fmt.Sprintf("(no output from %s)", filepath.Base(c.path))
		}
		state := State(code)
		if code < 0 || code > 3 {
			state = Unknown
			output = fmt.Sprintf("UNKNOWN - plugin exited with code %d: %s", code, output)
		}
		return Result{State: state, Output: output, LongOutput: strings.TrimLeft(long, "\n"), Perfdata: perf}
	})
}

var _ io.Writer = (*boundedBuffer)(nil)
