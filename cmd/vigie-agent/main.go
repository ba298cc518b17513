// Command vigie-agent measures the host it runs on, runs local plugins and
// sends everything to a vigie server, keeping it on disk while the server
// is unreachable.
//
//	vigie-agent --server URL --token TOKEN [--config FILE] [--interval 10s] [--buffer-dir DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vigie-monitoring/vigie/internal/agent"
)

var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vigie-agent:", err)
		os.Exit(1)
	}
}

// configure reads the flags and the configuration file; flags override
// the file, then defaults fill the rest and everything is validated.
func configure(args []string) (agent.Config, bool, error) {
	fs := flag.NewFlagSet("vigie-agent", flag.ContinueOnError)
	var (
		cfgFile   = fs.String("config", "", "YAML configuration file")
		server    = fs.String("server", "", "vigie server URL (overrides server:)")
		token     = fs.String("token", "", "agent token (overrides token:; prefer --token-file or token_file:, as flags show in ps)")
		tokenFile = fs.String("token-file", "", "file holding the agent token (overrides token:, token_file:)")
		interval  = fs.Duration("interval", 0, "collection interval (overrides interval:)")
		bufDir    = fs.String("buffer-dir", "", "disk buffer directory (overrides buffer.dir:)")
		hostName  = fs.String("host", "", "host name to report as (overrides host:)")
		debug     = fs.Bool("debug", false, "log debug lines")
	)
	var cfg agent.Config
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if *cfgFile != "" {
		var err error
		if cfg, err = agent.LoadFile(*cfgFile); err != nil {
			return cfg, false, err
		}
	}
	if *server != "" {
		cfg.Server = *server
	}
	if *token != "" {
		cfg.Token = *token
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return cfg, false, fmt.Errorf("--token-file: %w", err)
		}
		cfg.Token = strings.TrimSpace(string(b))
	}
	if *interval != 0 {
		cfg.Interval = agent.Duration(*interval)
	}
	if *bufDir != "" {
		cfg.Buffer.Dir = *bufDir
	}
	if *hostName != "" {
		cfg.Host = *hostName
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return cfg, false, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, *debug, nil
}

func run(args []string) error {
	cfg, debug, err := configure(args)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	agent.Version = version
	var buf agent.Buffer
	if cfg.Buffer.Dir != "" {
		d, err := agent.OpenDiskBuffer(cfg.Buffer.Dir, cfg.Buffer.MaxBytes)
		if err != nil {
			return err
		}
		buf = d
	} else {
		buf = agent.NewMemoryBuffer(cfg.Buffer.MaxBytes)
	}
	defer buf.Close()
	a, err := agent.New(cfg, buf, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st := buf.Stats()
	log.Info("vigie-agent starting", "server", cfg.Server, "host", cfg.Host, "interval", cfg.Interval.D().String(),
		"buffer", cfg.Buffer.Dir, "buffered_batches", st.Batches) // never the token
	return a.Run(ctx)
}
