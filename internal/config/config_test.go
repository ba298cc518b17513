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
		{"lock_wait.bad.yml", `lock_wait.bad.yml:3: storage.lock_wait: must be between 0s and 1h`},
		{"ooo_short.bad.yml", `ooo_short.bad.yml:3: metrics.out_of_order_window: must be between 1h and 7d`},
		{"bad_duration.bad.yml", `bad_duration.bad.yml:2: scheduler.interval: invalid duration "soon"`},
		{"dup_host.bad.yml", `dup_host.bad.yml:5: inventory.hosts[2].name: host "a" is defined twice`},
		{"svc_no_kind.bad.yml", `inventory.hosts[0].services[0].check.kind: is required`},
		{"bad_yaml.bad.yml", `bad_yaml.bad.yml:1: did not find expected`},
		{"wrong_type.bad.yml", `wrong_type.bad.yml:2:`},
		{"bad_precision.bad.yml", `bad_precision.bad.yml:3: metrics.precision_bits: must be between 8 and 64 (or 0 for exact values), not 4`},
		{"bad_flap.bad.yml", `bad_flap.bad.yml:3: scheduler.flap_high_threshold: flap thresholds need 0 < low < high <= 100`},
		{"rw_bad_url.bad.yml", `rw_bad_url.bad.yml:4: metrics.remote_write[0].url: must be an http:// or https:// URL`},
		{"rw_dup_name.bad.yml", `rw_dup_name.bad.yml:5: metrics.remote_write[1].name: remote_write "prom" is defined twice`},
		{"rw_two_auths.bad.yml", `rw_two_auths.bad.yml:5: metrics.remote_write[0].bearer_token: bearer_token and basic_auth exclude each other`},
		{"rw_url_creds.bad.yml", `rw_url_creds.bad.yml:4: metrics.remote_write[0].url: must not carry credentials`},
		{"alarms_connector.bad.yml", `alarms_connector.bad.yml:3: alarms.connector_name: must not be empty`},
		{"alarms_flapping.bad.yml", `alarms_flapping.bad.yml:3: alarms.flapping.changes: must be at least 2 (or 0: off)`},
		{"idle_bad_regex.bad.yml", `idle_bad_regex.bad.yml:6: alarms.idle_rules[1].match.component: compiling the pattern: error parsing regexp`},
		{"idle_dup.bad.yml", `idle_dup.bad.yml:4: alarms.idle_rules[1].name: idle rule "web" is defined twice`},
		{"idle_short.bad.yml", `idle_short.bad.yml:4: alarms.idle_rules[0].after: must be at least 1m`},
		{"bad_rollup_retention.bad.yml", `bad_rollup_retention.bad.yml:3: metrics.rollup_5m_retention: must be at least 24h`},
		{"syslog_bad_listen.bad.yml", `syslog_bad_listen.bad.yml:3: syslog.listen: "5514" is not an address:port`},
		{"syslog_small.bad.yml", `syslog_small.bad.yml:2: syslog.max_message_bytes: must be between 2048 and 1048576`},
		{"amqp_bad_url.bad.yml", `amqp_bad_url.bad.yml:3: amqp.url: must be an amqp:// or amqps:// URL with a host`},
		{"amqp_same_dlq.bad.yml", `amqp_same_dlq.bad.yml:3: amqp.dead_letter_queue: must differ from amqp.queue`},
		{"nats_bad_subject.bad.yml", `nats_bad_subject.bad.yml:3: nats.subject: "canopsis.>.events" is not a NATS subject`},
		{"nats_bad_stream.bad.yml", `nats_bad_stream.bad.yml:2: nats.stream: must be 1 to 255 letters`},
		{"rules_bad_regex.bad.yml", `rules_bad_regex.bad.yml:6: events.rules[0].match[0].regex: rule "red-db": compiling "db(": missing closing )`},
		{"rules_bad_criticality.bad.yml", `rules_bad_criticality.bad.yml:8: events.rules[1].actions.set_criticality: rule "purple": must be green, orange or red, not "purple"`},
		{"rules_unknown_key.bad.yml", `rules_unknown_key.bad.yml:6: events.rules[0].match[0].greater: unknown key`},
		{"rules_dup.bad.yml", `rules_dup.bad.yml:5: events.rules[1].name: rule "r": is defined twice`},
		{"nats_typo.bad.yml", `nats_typo.bad.yml:1: natz: unknown key (did you mean "nats"?)`},
		{"relp_bad_listen.bad.yml", `relp_bad_listen.bad.yml:3: syslog.relp_listen: "2514" is not an address:port`},
		{"relp_same_listen.bad.yml", `relp_same_listen.bad.yml:3: syslog.relp_listen: must differ from syslog.listen (both use TCP)`},
		{"relp_window.bad.yml", `relp_window.bad.yml:2: syslog.relp_window: must be between 1 and 65536`},
		{"snmptrap_bad_listen.bad.yml", `snmptrap_bad_listen.bad.yml:3: snmptrap.listen: "1162" is not an address:port`},
		{"snmptrap_unknown_key.bad.yml", `snmptrap_unknown_key.bad.yml:3: snmptrap.comunities: unknown key (did you mean "communities"?)`},
		{"snmptrap_no_password.bad.yml", `snmptrap_no_password.bad.yml:7: snmptrap.users[0].priv_password: is required with priv_protocol`},
		{"snmptrap_bad_protocol.bad.yml", `snmptrap_bad_protocol.bad.yml:7: snmptrap.users[0].priv_protocol: must be DES, AES, AES192, AES256, AES192C or AES256C, not "3DES"`},
		{"snmptrap_dup_user.bad.yml", `snmptrap_dup_user.bad.yml:6: snmptrap.users[1].user: user "noc" is defined twice`},
		{"snmptrap_short_packet.bad.yml", `snmptrap_short_packet.bad.yml:3: snmptrap.max_packet_bytes: must be between 484 and 65507`},
		{"snmp_template_bad_oid.bad.yml", `snmp_template_bad_oid.bad.yml:13: inventory.hostgroups[0].snmp_template.services[2].oid: OID "ifFoo": unknown name "ifFoo"`},
		{"snmp_template_bad_every.bad.yml", `snmp_template_bad_every.bad.yml:7: inventory.hostgroups[0].snmp_template.discovery.every: must be 0 (only when a host joins) or at least 1m0s`},
		{"snmp_template_unknown_key.bad.yml", `snmp_template_unknown_key.bad.yml:8: inventory.hostgroups[0].snmp_template.services[0].warn: unknown key (known: critical, interval, label, name, oid, warning)`},
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
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("a secret reached the error: %q", err)
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
	if r := cfg.Events.Rules; len(r) != 2 || r[0].Name != "red-db" || *r[0].Match[1].Gte != 2 || !r[0].Actions.Continue ||
		r[1].Match[0].In[1] != "info" || !r[1].Actions.Drop {
		t.Fatalf("events.rules = %+v", r)
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
		"VIGIE_METRICS_ROLLUP_5M_RETENTION=2160h",
		"VIGIE_METRICS_ROLLUP_1H_RETENTION=17520h",
		"VIGIE_METRICS_PRECISION_BITS=16",
		"VIGIE_METRICS_MIN_FREE_BYTES=1048576",
		"PATH=/usr/bin",
	}
	cfg, err := Load("testdata/good.yml", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9999" || cfg.DataDir != "/srv/vigie" || cfg.AdminPassword != "s3cret-pass" ||
		cfg.Scheduler.Concurrency != 12 || cfg.Scheduler.Interval.D() != 45*time.Second || cfg.HTTP.PublicMetrics ||
		strings.Join(cfg.Scheduler.PluginDirs, ",") != "/a,/b" || cfg.Scheduler.FlapHighThreshold != 35.5 ||
		cfg.Metrics.Retention.D() != 720*time.Hour || cfg.Metrics.RetentionBytes != 1<<30 ||
		cfg.Metrics.Rollup5mRetention.D() != 2160*time.Hour || cfg.Metrics.Rollup1hRetention.D() != 17520*time.Hour ||
		cfg.Metrics.PrecisionBits != 16 || cfg.Metrics.MinFreeBytes != 1<<20 {
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
	_, err = Load("", []string{"VIGIE_METRICS_ROLLUP_1H_RETENTION=1h"})
	if err == nil || !strings.Contains(err.Error(), "metrics.rollup_1h_retention: must be at least 24h") {
		t.Fatalf("invalid rollup retention not validated: %v", err)
	}
	_, err = Load("", []string{"VIGIE_METRICS_ROLLUP_5M_RETENTION=a year"})
	if err == nil || !strings.Contains(err.Error(), "VIGIE_METRICS_ROLLUP_5M_RETENTION") {
		t.Fatalf("malformed rollup retention: %v", err)
	}
}

func TestEventSourceConfig(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Syslog.Listen != "" || cfg.Syslog.RELPListen != "" || cfg.AMQP.URL != "" || cfg.NATS.URL != "" {
		t.Fatalf("a source is on by default: %+v %+v %+v", cfg.Syslog, cfg.AMQP, cfg.NATS)
	}
	if cfg.Syslog.ConnectorName != "syslog" || cfg.AMQP.Exchange != "canopsis.events" || cfg.AMQP.Queue != "vigie.events" ||
		cfg.AMQP.DeadLetterQueue != "vigie.events.dead" || cfg.NATS.Subject != "canopsis.events.>" || cfg.NATS.Stream != "CANOPSIS_EVENTS" {
		t.Fatalf("defaults: %+v %+v %+v", cfg.Syslog, cfg.AMQP, cfg.NATS)
	}
	cfg, err = Load("", []string{
		"VIGIE_SYSLOG_LISTEN=127.0.0.1:5514", "VIGIE_SYSLOG_CONNECTOR_NAME=edge", "VIGIE_SYSLOG_RELP_LISTEN=127.0.0.1:2514",
		"VIGIE_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/", "VIGIE_AMQP_QUEUE=q1",
		"VIGIE_NATS_URL=nats://a:4222, nats://b:4222", "VIGIE_NATS_SUBJECT=ops.*.events.>",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Syslog.Listen != "127.0.0.1:5514" || cfg.Syslog.ConnectorName != "edge" || cfg.Syslog.RELPListen != "127.0.0.1:2514" || cfg.AMQP.URL == "" ||
		cfg.AMQP.DeadLetterQueue != "q1.dead" || cfg.NATS.Subject != "ops.*.events.>" {
		t.Fatalf("overrides: %+v %+v %+v", cfg.Syslog, cfg.AMQP, cfg.NATS)
	}
	for _, tt := range []struct{ env, want string }{
		{"VIGIE_SYSLOG_LISTEN=nowhere", "syslog.listen"},
		{"VIGIE_SYSLOG_MAX_CONNS=0", "syslog.max_conns"},
		{"VIGIE_AMQP_PREFETCH=lots", "VIGIE_AMQP_PREFETCH"},
		{"VIGIE_AMQP_EXCHANGE=has space", "amqp.exchange"},
		{"VIGIE_NATS_URL=http://x:4222", "nats.url"},
		{"VIGIE_NATS_SUBJECT=a..b", "nats.subject"},
		{"VIGIE_NATS_DURABLE=a.b", "nats.durable"},
		{"VIGIE_NATS_MAX_ACK_PENDING=-1", "nats.max_ack_pending"},
		{"VIGIE_SYSLOG_RELP_LISTEN=2514", "syslog.relp_listen"},
		{"VIGIE_NATS_ACK_WAIT=10ms", "nats.ack_wait"},
		{"VIGIE_SYSLOG_RELP_MAX_FRAME_BYTES=100", "syslog.relp_max_frame_bytes"},
	} {
		if _, err := Load("", []string{tt.env}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to name %s", tt.env, err, tt.want)
		}
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
	if cfg.Metrics.Rollup5mRetention.D() != 8760*time.Hour || cfg.Metrics.Rollup1hRetention.D() != 43800*time.Hour {
		t.Fatalf("rollup retention defaults: %v %v", cfg.Metrics.Rollup5mRetention, cfg.Metrics.Rollup1hRetention)
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

func TestRemoteWriteConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(p, []byte(`
metrics:
  remote_write:
    - name: prom
      url: http://127.0.0.1:9090/api/v1/write
      bearer_token: ${PROM_TOKEN}
      headers: {X-Scope-OrgID: ops}
    - name: vm
      url: https://vm.example/api/v1/write
      basic_auth: {username: vigie, password: pw}
      timeout: 5s
      queue_max_bytes: 2097152
      batch_samples: 500
      tls_skip_verify: true
`), 0o600)
	cfg, err := Load(p, []string{"PROM_TOKEN=abc", "VIGIE_METRICS_REMOTE_WRITE_RECEIVER_MAX_SAMPLES=5000"})
	if err != nil {
		t.Fatal(err)
	}
	rw := cfg.Metrics.RemoteWrite
	if len(rw) != 2 || rw[0].BearerToken != "abc" || rw[0].Headers["X-Scope-OrgID"] != "ops" {
		t.Fatalf("targets: %+v", rw)
	}
	if rw[0].Timeout.D() != 30*time.Second || rw[0].QueueMaxBytes != 1<<30 || rw[0].BatchSamples != 2000 {
		t.Fatalf("defaults: %+v", rw[0])
	}
	if rw[1].Timeout.D() != 5*time.Second || rw[1].QueueMaxBytes != 2<<20 || rw[1].BatchSamples != 500 || !rw[1].TLSSkipVerify || rw[1].BasicAuth.Password != "pw" {
		t.Fatalf("values: %+v", rw[1])
	}
	if r := cfg.Metrics.RemoteWriteReceiver; r.MaxSamples != 5000 || r.MaxBodyBytes != 10<<20 {
		t.Fatalf("receiver: %+v", r)
	}
}

func TestAlarmRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigie.yml")
	yml := "alarms:\n  flapping: {changes: 3, window: 5m}\n  idle_rules:\n    - name: agents\n      match: {connector: nagios, component: \"web.*\"}\n      after: 10m\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, []string{"VIGIE_ALARMS_FLAPPING_CHANGES=4"})
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.Alarms.Flapping; f.Changes != 4 || f.Window.D() != 5*time.Minute {
		t.Fatalf("flapping: %+v", f)
	}
	if len(cfg.Alarms.IdleRules) != 1 || cfg.Alarms.IdleRules[0].After.D() != 10*time.Minute {
		t.Fatalf("idle rules: %+v", cfg.Alarms.IdleRules)
	}
	conn, name, comp, err := cfg.Alarms.IdleRules[0].Match.Patterns()
	if err != nil || name != nil || !conn.MatchString("nagios") || conn.MatchString("nagios2") || !comp.MatchString("web1") || comp.MatchString("aweb1") {
		t.Fatalf("patterns: %v %v %v %v", conn, name, comp, err)
	}
	if def := Default(); def.Alarms.Flapping.Changes != 5 || def.Alarms.Flapping.Window.D() != 10*time.Minute {
		t.Fatalf("default flapping: %+v", def.Alarms.Flapping)
	}
}

// The trap receiver is off by default, takes its address and
// communities from the environment and its v3 users from the file.
func TestSNMPTrapConfig(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := cfg.SNMPTrap; st.Listen != "" || st.ConnectorName != "snmptrap" || strings.Join(st.Communities, ",") != "public" ||
		st.MaxPacketBytes != 16384 || st.RatePerSource != 200 {
		t.Fatalf("defaults %+v", st)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "vigie.yml")
	if err := os.WriteFile(p, []byte(`snmptrap:
  listen: 127.0.0.1:1162
  communities: [public]
  users:
    - user: noc
      auth_protocol: SHA
      auth_password: s3cr3t-auth
      priv_protocol: AES
      priv_password: s3cr3t-priv
    - user: watcher
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(p, []string{"VIGIE_SNMPTRAP_LISTEN=0.0.0.0:162", "VIGIE_SNMPTRAP_COMMUNITIES=netops, backup", "VIGIE_SNMPTRAP_CONNECTOR_NAME=dc1-traps"})
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.SNMPTrap
	if st.Listen != "0.0.0.0:162" || strings.Join(st.Communities, ",") != "netops,backup" || st.ConnectorName != "dc1-traps" ||
		len(st.Users) != 2 || st.Users[0].PrivProtocol != "AES" || st.Users[1].User != "watcher" {
		t.Fatalf("snmptrap %+v", st)
	}
}

// The YAML form of a host group's SNMP template loads whole.
func TestSNMPTemplateConfig(t *testing.T) {
	cfg, err := Load("testdata/snmp_template.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := cfg.LoadInventory()
	if err != nil {
		t.Fatal(err)
	}
	tm := inv.HostGroups[0].SNMPTemplate
	if tm == nil || tm.SNMP["community"] != "netops" || len(tm.Services) != 2 || tm.Services[0].OID != "sysUpTime.0" ||
		tm.Services[0].Warning != "100:" || tm.Services[0].Interval.D() != time.Minute {
		t.Fatalf("template: %+v", tm)
	}
	d := tm.Discovery
	if d == nil || d.Name != "^(eth|lo)" || len(d.Types) != 2 || !d.OnlyUp || !d.Health || d.Critical != "90" || d.Every.D() != time.Hour {
		t.Fatalf("discovery: %+v", d)
	}
}
