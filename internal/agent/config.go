package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Collectors are the built-in measurements, by the name the config and
// the server's desired configuration use.
var Collectors = []string{"cpu", "load", "memory", "swap", "filesystems", "disks", "network", "processes", "uptime"}

func knownCollector(c string) bool { return slices.Contains(Collectors, c) }

// Config is vigie-agent's configuration file.
type Config struct {
	// Server is the base URL of the vigie server (https://vigie:8080).
	Server string `yaml:"server"`
	// Token is the agent token an admin made with POST /api/v1/agent-tokens.
	Token string `yaml:"token"`
	// TokenFile, when set, holds the token (so the config may be public).
	TokenFile string `yaml:"token_file"`
	// Host is the name the agent reports as (default: the OS host name).
	Host     string   `yaml:"host"`
	Address  string   `yaml:"address"`
	Interval Duration `yaml:"interval"`
	// Collect selects the built-in collectors (default: all).
	Collect []string     `yaml:"collect"`
	Buffer  BufferConfig `yaml:"buffer"`
	// Timeout bounds one request to the server.
	Timeout       Duration `yaml:"timeout"`
	TLSSkipVerify bool     `yaml:"tls_skip_verify"`
	CAFile        string   `yaml:"ca_file"`
	PluginDirs    []string `yaml:"plugin_dirs"`
	Nagios        []Plugin `yaml:"nagios"`
	Munin         []Plugin `yaml:"munin"`
}

// BufferConfig configures the store-and-forward buffer.
type BufferConfig struct {
	// Dir holds the disk buffer; empty keeps batches in memory only
	// (lost when the agent stops).
	Dir string `yaml:"dir"`
	// MaxBytes bounds the buffer; when full the oldest data is thinned
	// (every other old batch dropped, counted and reported).
	MaxBytes int64 `yaml:"max_bytes"`
	// ReplayRate bounds the pushes a second while catching up after an
	// outage, so that agents coming back together do not flatten the server.
	ReplayRate float64 `yaml:"replay_rate"`
	// PushBatches is how many batches one push carries at most.
	PushBatches int `yaml:"push_batches"`
}

// Plugin is a local Nagios plugin (Command) or munin-node plugin (Path).
type Plugin struct {
	Name     string   `yaml:"name"`
	Command  string   `yaml:"command"`
	Path     string   `yaml:"path"`
	Interval Duration `yaml:"interval"`
	Timeout  Duration `yaml:"timeout"`
}

// Defaults fills what the file left out.
func (c *Config) Defaults() {
	if c.Interval == 0 {
		c.Interval = Duration(10 * time.Second)
	}
	if len(c.Collect) == 0 {
		c.Collect = slices.Clone(Collectors)
	}
	if c.Buffer.MaxBytes == 0 {
		c.Buffer.MaxBytes = 64 << 20
	}
	if c.Buffer.ReplayRate == 0 {
		c.Buffer.ReplayRate = 10
	}
	if c.Buffer.PushBatches == 0 {
		c.Buffer.PushBatches = 50
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(15 * time.Second)
	}
	if c.Host == "" {
		c.Host, _ = os.Hostname()
	}
	for i := range c.Nagios {
		c.Nagios[i].defaults(c.Interval)
	}
	for i := range c.Munin {
		c.Munin[i].defaults(c.Interval)
	}
}

func (p *Plugin) defaults(iv Duration) {
	if p.Interval == 0 {
		p.Interval = max(iv, Duration(time.Minute))
	}
	if p.Timeout == 0 {
		p.Timeout = Duration(10 * time.Second)
	}
}

// Validate checks the configuration; errors name the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) { errs = append(errs, fmt.Errorf(key+": "+format, a...)) }
	if c.Server == "" {
		bad("server", "is required (--server or server: in the config file)")
	} else if u, err := url.Parse(c.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("server", "must be an http(s) URL, got %q", c.Server)
	}
	if c.Token == "" {
		bad("token", "is required (--token, token: or token_file:)")
	}
	if c.Host == "" || len(c.Host) > MaxNameLen {
		bad("host", "must be 1 to %d characters", MaxNameLen)
	}
	if c.Interval.D() < time.Second || c.Interval.D() > time.Hour {
		bad("interval", "must be between 1s and 1h, got %s", c.Interval.D())
	}
	for _, k := range c.Collect {
		if !knownCollector(k) {
			bad("collect", "unknown collector %q (known: %s)", k, strings.Join(Collectors, ", "))
		}
	}
	if c.Buffer.MaxBytes < 64<<10 {
		bad("buffer.max_bytes", "must be at least 65536, got %d", c.Buffer.MaxBytes)
	}
	if c.Buffer.ReplayRate <= 0 {
		bad("buffer.replay_rate", "must be positive")
	}
	if c.Buffer.PushBatches < 1 || c.Buffer.PushBatches > MaxBatchesPerPush {
		bad("buffer.push_batches", "must be between 1 and %d", MaxBatchesPerPush)
	}
	names := map[string]bool{}
	for _, k := range c.Collect {
		names[k] = true
	}
	check := func(kind string, i int, p Plugin, path string) {
		key := fmt.Sprintf("%s[%d]", kind, i)
		switch {
		case p.Name == "" || len(p.Name) > MaxNameLen:
			bad(key+".name", "must be 1 to %d characters", MaxNameLen)
		case names[p.Name]:
			bad(key+".name", "%q is used twice (service names must be unique)", p.Name)
		}
		names[p.Name] = true
		if path == "" {
			if kind == "nagios" {
				bad(key+".command", "is required")
			} else {
				bad(key+".path", "is required")
			}
		}
		if p.Interval.D() < time.Second {
			bad(key+".interval", "must be at least 1s")
		}
		if p.Timeout.D() <= 0 || p.Timeout.D() > 5*time.Minute {
			bad(key+".timeout", "must be between 0 and 5m")
		}
	}
	for i, p := range c.Nagios {
		check("nagios", i, p, p.Command)
	}
	for i, p := range c.Munin {
		check("munin", i, p, p.Path)
	}
	return errors.Join(errs...)
}

// LoadFile reads a configuration file strictly: unknown keys are errors
// naming the key and the line.
func LoadFile(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("reading the config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if c.TokenFile != "" && c.Token == "" {
		t, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return c, fmt.Errorf("token_file: %w", err)
		}
		c.Token = strings.TrimSpace(string(t))
	}
	return c, nil
}
