// Package cli implements vigie's subcommands; cmd/vigie only calls Main, so
// that the commands are testable in-process.
package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/vigie-monitoring/vigie/internal/app"
	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/config"
)

const usage = `vigie: monitoring and hypervision

Usage:
  vigie server [--config FILE]          run the server (API, console, scheduler)
  vigie check --kind KIND [--PARAM VALUE ...] [-- PLUGIN ARGS]
                                        run one check, print it, exit with its Nagios code
  vigie config validate [--config FILE] check a configuration file and its inventory
  vigie version                         print the version

Environment: every configuration key can be set as VIGIE_<KEY>, e.g.
VIGIE_HTTP_LISTEN, VIGIE_DATA_DIR, VIGIE_ADMIN_PASSWORD, VIGIE_STORAGE_DRIVER.
`

// Main runs a subcommand and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer, env []string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "server":
		return server(args[1:], stdout, stderr, env)
	case "check":
		return check(args[1:], stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "validate" {
			fmt.Fprintln(stderr, "usage: vigie config validate [--config FILE]")
			return 2
		}
		return validate(args[2:], stdout, stderr, env)
	case "version", "--version":
		fmt.Fprintf(stdout, "vigie %s (%s, %s/%s)\n", app.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "vigie: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func configFlag(name string, args []string, stderr io.Writer) (string, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return "", false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vigie %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", false
	}
	if *path == "" {
		*path = os.Getenv("VIGIE_CONFIG")
	}
	return *path, true
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func server(args []string, stdout, stderr io.Writer, env []string) int {
	path, ok := configFlag("server", args, stderr)
	if !ok {
		return 2
	}
	cfg, err := config.Load(path, env)
	if err != nil {
		fmt.Fprintf(stderr, "vigie: %v\n", err)
		return 1
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, env, log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vigie: %v\n", err)
		return 1
	}
	if _, err := a.Listen(); err != nil {
		fmt.Fprintf(stderr, "vigie: %v\n", err)
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			a.Reload()
		}
	}()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "vigie: %v\n", err)
		return 1
	}
	return 0
}

func validate(args []string, stdout, stderr io.Writer, env []string) int {
	path, ok := configFlag("config validate", args, stderr)
	if !ok {
		return 2
	}
	cfg, err := config.Load(path, env)
	if err != nil {
		fmt.Fprintf(stderr, "vigie: %v\n", err)
		return 1
	}
	inv, err := cfg.LoadInventory()
	if err == nil {
		err = app.ValidateInventory(inv, cfg.Scheduler)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vigie: %v\n", err)
		return 1
	}
	services := 0
	for _, h := range inv.Hosts {
		services += len(h.Services)
	}
	name := path
	if name == "" {
		name = "defaults"
	}
	fmt.Fprintf(stdout, "%s: valid (%d host groups, %d hosts, %d services)\n", name, len(inv.HostGroups), len(inv.Hosts), services)
	return 0
}

// check runs one check. Every --name value pair becomes a check parameter;
// what follows "--" becomes the plugin's arguments for kind exec.
func check(args []string, stdout, stderr io.Writer) int {
	spec := checks.Spec{}
	timeout := 10 * time.Second
	asJSON := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			spec["args"] = append([]string(nil), args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			fmt.Fprintf(stderr, "vigie check: unexpected argument %q (parameters are --name value)\n", a)
			return int(checks.Unknown)
		}
		name, value, hasValue := strings.Cut(a[2:], "=")
		if name == "json" {
			asJSON = true
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "vigie check: --%s needs a value\n", name)
				return int(checks.Unknown)
			}
			i++
			value = args[i]
		}
		name = strings.ReplaceAll(name, "-", "_")
		if name == "timeout" {
			d, err := time.ParseDuration(value)
			if err != nil {
				fmt.Fprintf(stderr, "vigie check: --timeout: %v\n", err)
				return int(checks.Unknown)
			}
			timeout = d
			continue
		}
		spec[name] = value
	}
	if spec.Kind() == "" {
		fmt.Fprintf(stderr, "vigie check: --kind is required (one of %s)\n", strings.Join(checks.Kinds(), ", "))
		return int(checks.Unknown)
	}
	addr, _ := spec["address"].(string)
	c, err := checks.New(spec, checks.Options{Address: addr, Timeout: timeout})
	if err != nil {
		fmt.Fprintf(stderr, "vigie check: %v\n", err)
		return int(checks.Unknown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := c.Run(ctx)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(struct {
			State string `json:"state"`
			checks.Result
		}{res.State.String(), res})
		return int(res.State)
	}
	line := res.State.String() + ": " + res.Output
	if len(res.Perfdata) > 0 {
		perf := make([]string, len(res.Perfdata))
		for i, p := range res.Perfdata {
			perf[i] = p.String()
		}
		line += " | " + strings.Join(perf, " ")
	}
	fmt.Fprintln(stdout, line)
	if res.LongOutput != "" {
		fmt.Fprintln(stdout, res.LongOutput)
	}
	return int(res.State)
}
