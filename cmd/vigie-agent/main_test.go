package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The contract outside scripts rely on: flags override the file.
func TestFlagsOverrideTheFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "agent.yaml")
	os.WriteFile(file, []byte("server: http://file:8080\ntoken: from-file\nhost: file-host\ninterval: 30s\nbuffer: {dir: /var/lib/file}\n"), 0o600)
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("vga_from_token_file\n"), 0o600)
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, server, token, host, bufDir string, iv time.Duration)
		err   string
	}{
		{"file alone", []string{"--config", file}, func(t *testing.T, server, token, host, bufDir string, iv time.Duration) {
			if server != "http://file:8080" || token != "from-file" || host != "file-host" || iv != 30*time.Second || bufDir != "/var/lib/file" {
				t.Fatalf("%s %s %s %s %s", server, token, host, bufDir, iv)
			}
		}, ""},
		{"flags win", []string{"--config", file, "--server", "https://flag:1", "--token", "vga_flag", "--interval", "5s", "--buffer-dir", "/tmp/b", "--host", "h2"},
			func(t *testing.T, server, token, host, bufDir string, iv time.Duration) {
				if server != "https://flag:1" || token != "vga_flag" || host != "h2" || iv != 5*time.Second || bufDir != "/tmp/b" {
					t.Fatalf("%s %s %s %s %s", server, token, host, bufDir, iv)
				}
			}, ""},
		{"token file", []string{"--config", file, "--token-file", tokFile}, func(t *testing.T, _, token, _, _ string, _ time.Duration) {
			if token != "vga_from_token_file" {
				t.Fatalf("token %q", token)
			}
		}, ""},
		{"no file, flags only", []string{"--server", "http://s", "--token", "t", "--host", "h"}, func(t *testing.T, _, _, _, bufDir string, iv time.Duration) {
			if iv != 10*time.Second || bufDir != "" {
				t.Fatalf("defaults: %s %q", iv, bufDir)
			}
		}, ""},
		{"missing server", []string{"--token", "t"}, nil, "server: is required"},
		{"bad interval flag", []string{"--server", "http://s", "--token", "t", "--interval", "2ms"}, nil, "interval: must be between"},
		{"unknown flag", []string{"--servr", "x"}, nil, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := configure(tt.args)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
			if tt.check != nil {
				tt.check(t, cfg.Server, cfg.Token, cfg.Host, cfg.Buffer.Dir, cfg.Interval.D())
			}
		})
	}
}
