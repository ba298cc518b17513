package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each bad fixture carries the error it must produce: the key and the line.
func TestBadConfigs(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"unknown_key.bad.yml", `unknown_key.bad.yml:2: http.listn: unknown key (did you mean "listen"?)`},
		{"bad_listen.bad.yml", `bad_listen.bad.yml:3: http.listen: "nonsense" is not an address:port`},
		{"bad_driver.bad.yml", `bad_driver.bad.yml:2: storage.driver: must be sqlite or postgres, not "mysql"`},
		{"pg_no_dsn.bad.yml", `storage.dsn: is required with the postgres driver`},
		{"bad_duration.bad.yml", `bad_duration.bad.yml:2: scheduler.interval: invalid duration "soon"`},
		{"dup_host.bad.yml", `dup_host.bad.yml:5: inventory.hosts[2].name: host "a" is defined twice`},
		{"svc_no_kind.bad.yml", `inventory.hosts[0].services[0].check.kind: is required`},
		{"bad_yaml.bad.yml", `bad_yaml.bad.yml:1: did not find expected`},
		{"wrong_type.bad.yml", `wrong_type.bad.yml:2:`},
		{"bad_flap.bad.yml", `bad_flap.bad.yml:3: scheduler.flap_high_threshold: flap thresholds need 0 < low < high <= 100`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", tt.file), nil)
			if err == nil {
				t.Fatalf("loaded without error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGoodConfig(t *testing.T) {
	cfg, err := Load("testdata/good.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "0.0.0.0:9090" || cfg.Scheduler.Concurrency != 64 || cfg.Scheduler.Interval.D() != 30*time.Second {
		t.Fatalf("values not read: %+v", cfg)
	}
	// Defaults survive for keys the file does not give.
	if cfg.Storage.Driver != "sqlite" || cfg.Scheduler.MaxAttempts != 3 || cfg.HTTP.MaxBodyBytes != 1<<20 {
		t.Fatalf("defaults lost: %+v", cfg)
	}
	inv, err := cfg.LoadInventory()
	if err != nil {
		t.Fatal(err)
	}
	h := inv.Hosts[0]
	if h.Name != "web1" || h.Tags["env"] != "prod" || h.Services[0].Check.Kind() != "tcp" || h.Services[0].MaxAttempts != 2 {
		t.Fatalf("inventory not read: %+v", h)
	}
	if !strings.HasSuffix(h.Where, "good.yml:11") {
		t.Fatalf("host location %q, want good.yml:11", h.Where)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := []string{
		"VIGIE_HTTP_LISTEN=127.0.0.1:9999",
		"VIGIE_DATA_DIR=/srv/vigie",
		"VIGIE_ADMIN_PASSWORD=s3cret-pass",
		"VIGIE_SCHEDULER_CONCURRENCY=12",
		"VIGIE_SCHEDULER_INTERVAL=45s",
		"VIGIE_SCHEDULER_PLUGIN_DIRS=/a, /b",
		"VIGIE_HTTP_PUBLIC_METRICS=false",
		"VIGIE_SCHEDULER_FLAP_HIGH_THRESHOLD=35.5",
		"VIGIE_METRICS_RETENTION=720h",
		"VIGIE_METRICS_RETENTION_BYTES=1073741824",
		"PATH=/usr/bin",
	}
	cfg, err := Load("testdata/good.yml", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9999" || cfg.DataDir != "/srv/vigie" || cfg.AdminPassword != "s3cret-pass" ||
		cfg.Scheduler.Concurrency != 12 || cfg.Scheduler.Interval.D() != 45*time.Second || cfg.HTTP.PublicMetrics ||
		strings.Join(cfg.Scheduler.PluginDirs, ",") != "/a,/b" || cfg.Scheduler.FlapHighThreshold != 35.5 ||
		cfg.Metrics.Retention.D() != 720*time.Hour || cfg.Metrics.RetentionBytes != 1<<30 {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
	_, err = Load("", []string{"VIGIE_SCHEDULER_CONCURRENCY=lots"})
	if err == nil || !strings.Contains(err.Error(), "VIGIE_SCHEDULER_CONCURRENCY") {
		t.Fatalf("bad override error %v, want it to name the variable", err)
	}
	_, err = Load("", []string{"VIGIE_STORAGE_DRIVER=oracle"})
	if err == nil || !strings.Contains(err.Error(), "storage.driver") {
		t.Fatalf("invalid override not validated: %v", err)
	}
}

func TestDefaultsWithoutFile(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.DataDir != "./data" {
		t.Fatalf("defaults: listen %q data %q", cfg.HTTP.Listen, cfg.DataDir)
	}
}

func TestInventoryDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "hosts:\n  - name: one\n    address: 127.0.0.1\n")
	write("b.yml", "hostgroups:\n  - name: g\nhosts:\n  - name: two\n    services:\n      - name: s\n        check: {kind: tcp, port: 1}\n")
	write("ignored.txt", "not yaml")
	cfg, err := Load("", []string{"VIGIE_INVENTORY_DIR=" + dir})
	if err != nil {
		t.Fatal(err)
	}
	fp := cfg.Fingerprint()
	inv, err := cfg.LoadInventory()
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != 2 || len(inv.HostGroups) != 1 || inv.Hosts[1].Services[0].Name != "s" {
		t.Fatalf("inventory dir not merged: %+v", inv)
	}
	write("c.yaml", "hosts:\n  - name: one\n")
	if cfg.Fingerprint() == fp {
		t.Fatal("fingerprint did not change with a new file")
	}
	if _, err := cfg.LoadInventory(); err == nil || !strings.Contains(err.Error(), `host "one" is already defined at`) {
		t.Fatalf("duplicate across files: %v", err)
	}
	write("c.yaml", "hosts:\n  - name: three\n    bogus: 1\n")
	if _, err := cfg.LoadInventory(); err == nil || !strings.Contains(err.Error(), "c.yaml:3: hosts[0].bogus: unknown key") {
		t.Fatalf("unknown key in an inventory file: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"good.yml", "unknown_key.bad.yml", "dup_host.bad.yml", "bad_yaml.bad.yml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := os.ReadFile("../../examples/vigie.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("inventory: {hosts: [{name: x, services: [{name: y, check: {kind: tcp}}]}]}"))
	f.Add([]byte("http: 3"))
	f.Add([]byte("- a\n- b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.yml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(p, nil)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// A configuration that loads is valid through and through.
		if cfg.HTTP.Listen == "" || cfg.Scheduler.Concurrency < 1 || cfg.DataDir == "" {
			t.Fatalf("accepted an invalid configuration: %+v", cfg)
		}
		cfg.LoadInventory()
	})
}

func TestEnvExpansion(t *testing.T) {
	p := filepath.Join(t.TempDir(), "v.yml")
	body := "http:\n  listen: ${LISTEN:-127.0.0.1:8080}\ninventory:\n  hosts:\n    - name: h\n      services:\n" +
		"        - name: self\n          check: {kind: http, url: \"http://${LISTEN:-127.0.0.1:8080}/healthz\"}\n" +
		"        - name: plugin\n          check: {kind: exec, command: \"check_ping -H $HOSTADDRESS$ ${MISSING}\"}\n"
	os.WriteFile(p, []byte(body), 0o600)
	cfg, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.Inventory.Hosts[0].Services[0].Check["url"] != "http://127.0.0.1:8080/healthz" {
		t.Fatalf("defaults not used: %q %v", cfg.HTTP.Listen, cfg.Inventory.Hosts[0].Services[0].Check)
	}
	if got := cfg.Inventory.Hosts[0].Services[1].Check["command"]; got != "check_ping -H $HOSTADDRESS$ " {
		t.Fatalf("plugin macro touched or unset variable kept: %q", got)
	}
	cfg, err = Load(p, []string{"LISTEN=127.0.0.1:9191"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9191" || cfg.Inventory.Hosts[0].Services[0].Check["url"] != "http://127.0.0.1:9191/healthz" {
		t.Fatalf("variable not expanded: %q %v", cfg.HTTP.Listen, cfg.Inventory.Hosts[0].Services[0].Check)
	}
}
