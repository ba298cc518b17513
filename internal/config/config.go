// Package config loads vigie's YAML configuration, applies VIGIE_*
// environment overrides and defaults, and validates it with errors that name
// the key and the line.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigie-monitoring/vigie/internal/checks"
	"github.com/vigie-monitoring/vigie/internal/events/rules"
	"github.com/vigie-monitoring/vigie/internal/events/sources"
	"github.com/vigie-monitoring/vigie/internal/inventory"
)

// Duration is a YAML duration ("30s", "5m").
type Duration = inventory.Duration

// Config is the whole configuration file.
type Config struct {
	// DataDir holds the embedded database and everything vigie writes.
	DataDir string `yaml:"data_dir"`
	// AdminPassword, when set, creates or resets the admin user at start.
	AdminPassword string    `yaml:"admin_password"`
	HTTP          HTTP      `yaml:"http"`
	Storage       Storage   `yaml:"storage"`
	Scheduler     Scheduler `yaml:"scheduler"`
	Log           Log       `yaml:"log"`
	Audit         Audit     `yaml:"audit"`
	Alarms        Alarms    `yaml:"alarms"`
	Events        Events    `yaml:"events"`
	Metrics       Metrics   `yaml:"metrics"`
	LDAP          LDAP      `yaml:"ldap"`
	SNMP          SNMP      `yaml:"snmp"`
	// Event sources: each is off while its address is empty.
	Syslog Syslog `yaml:"syslog"`
	AMQP   AMQP   `yaml:"amqp"`
	NATS   NATS   `yaml:"nats"`
	// SNMPTrap is off while its address is empty (VIGIE_SNMPTRAP_LISTEN).
	SNMPTrap SNMPTrap `yaml:"snmptrap"`
	// InventoryDir is a directory of YAML files, each with hostgroups and
	// hosts, read beside the inventory section and watched for changes.
	InventoryDir string    `yaml:"inventory_dir"`
	Inventory    Inventory `yaml:"inventory"`

	// path is the file the configuration came from, lines the line of
	// every key path in it, for error messages; env is the environment
	// it was loaded with, for ${VAR} in inventory files.
	path  string
	lines map[string]int
	env   []string
}

// SNMP configures the polling of network devices.
type SNMP struct {
	// MIBDirs are directories of MIB files whose object names then
	// resolve like the built-in ones, besides net-snmp's MIBs in
	// /usr/share/snmp/mibs (read when present).
	MIBDirs []string `yaml:"mib_dirs"`
}

// HTTP configures the API and console listener.
type HTTP struct {
	Listen string `yaml:"listen"`
	// PublicMetrics serves /metrics without authentication (the default,
	// so that Prometheus can scrape vigie).
	PublicMetrics bool `yaml:"public_metrics"`
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// SessionTTL is how long an idle console session lives.
	SessionTTL Duration `yaml:"session_ttl"`
	// TLSCert and TLSKey serve HTTPS when both are set.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

// Storage selects the relational database.
type Storage struct {
	Driver string `yaml:"driver"`
	DSN    string `yaml:"dsn"`
	// LockWait is how long a server waits for another one writing to the
	// same PostgreSQL database to go before it gives up.
	LockWait Duration `yaml:"lock_wait"`
}

// Scheduler configures how checks run.
type Scheduler struct {
	Concurrency    int      `yaml:"concurrency"`
	PluginDirs     []string `yaml:"plugin_dirs"`
	MaxOutputBytes int      `yaml:"max_output_bytes"`
	// Defaults for services and hosts that do not say.
	Interval      Duration `yaml:"interval"`
	RetryInterval Duration `yaml:"retry_interval"`
	MaxAttempts   int      `yaml:"max_attempts"`
	Timeout       Duration `yaml:"timeout"`
	// Flap detection thresholds, in percent state change over the last 21
	// results: flapping starts at or above high and stops below low.
	FlapLowThreshold  float64 `yaml:"flap_low_threshold"`
	FlapHighThreshold float64 `yaml:"flap_high_threshold"`
}

// Metrics configures the time-series store.
type Metrics struct {
	// Retention drops data older than this; RetentionBytes (when not 0)
	// drops the oldest data once the store is larger.
	Retention      Duration `yaml:"retention"`
	RetentionBytes int64    `yaml:"retention_bytes"`
	// Rollup5mRetention and Rollup1hRetention keep the 5-minute and 1-hour
	// rollups (min, max, avg, count per window), which long-range queries
	// read instead of raw data.
	Rollup5mRetention Duration `yaml:"rollup_5m_retention"`
	Rollup1hRetention Duration `yaml:"rollup_1h_retention"`
	// PrecisionBits rounds gauge values to that many significant bits
	// (8..64; 0 or 64 keeps them exact); counters are always exact.
	PrecisionBits int `yaml:"precision_bits"`
	// MinFreeBytes stops ingestion while the data dir's file system has
	// less free space (0: only when a write fails).
	MinFreeBytes int64 `yaml:"min_free_bytes"`
	// OutOfOrderWindow is how late a sample may come (an agent's backlog
	// after an outage); rollups wait as long before a window is final.
	OutOfOrderWindow Duration `yaml:"out_of_order_window"`
	// RemoteWrite forwards every sample stored to Prometheus remote-write
	// receivers, each through its own queue on disk.
	RemoteWrite []RemoteWrite `yaml:"remote_write"`
	// RemoteWriteReceiver bounds the pushes vigie accepts at
	// /prometheus/api/v1/write.
	RemoteWriteReceiver RemoteWriteReceiver `yaml:"remote_write_receiver"`
}

// RemoteWrite is one remote-write target.
type RemoteWrite struct {
	// Name names the target in metrics and logs, and its queue directory
	// (<data_dir>/remote-write/<name>).
	Name        string            `yaml:"name"`
	URL         string            `yaml:"url"`
	BearerToken string            `yaml:"bearer_token"`
	BasicAuth   BasicAuth         `yaml:"basic_auth"`
	Headers     map[string]string `yaml:"headers"`
	// Timeout bounds one request (default 30s).
	Timeout Duration `yaml:"timeout"`
	// QueueMaxBytes bounds the queue on disk (default 1 GiB); past it the
	// oldest samples are dropped, counted and logged.
	QueueMaxBytes int64 `yaml:"queue_max_bytes"`
	// BatchSamples is the most samples in one request (default 2000).
	BatchSamples  int  `yaml:"batch_samples"`
	TLSSkipVerify bool `yaml:"tls_skip_verify"`
}

// BasicAuth is a user name and password.
type BasicAuth struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// RemoteWriteReceiver bounds one remote-write request.
type RemoteWriteReceiver struct {
	// MaxBodyBytes bounds the compressed body, MaxDecodedBytes the body
	// once decompressed (checked before decompressing).
	MaxBodyBytes    int64 `yaml:"max_body_bytes"`
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes"`
	MaxSeries       int   `yaml:"max_series"`
	MaxSamples      int   `yaml:"max_samples"`
}

// Audit configures the trail of sign-ins and writes.
type Audit struct {
	// Retention is how long entries are kept.
	Retention Duration `yaml:"retention"`
}

// Alarms configures the alarm engine and event intake.
type Alarms struct {
	// ResolveDelay is how long an alarm waits after an OK event before it
	// is resolved; a problem within it keeps the alarm open.
	ResolveDelay Duration `yaml:"resolve_delay"`
	// ConnectorName is the connector_name of the events vigie's own checks
	// raise: this server's name.
	ConnectorName string `yaml:"connector_name"`
	// LogRetention is how long log events (never alarms) are kept.
	LogRetention Duration `yaml:"log_retention"`
	// Flapping marks the alarms whose state changes too often.
	Flapping AlarmFlapping `yaml:"flapping"`
	// IdleRules raise an alarm for each watched component that sends no
	// event for a while.
	IdleRules []IdleRule `yaml:"idle_rules"`
}

// IdleRule watches the components its match selects: one that sent no
// event for After gets an alarm.
type IdleRule struct {
	Name  string    `yaml:"name"`
	Match IdleMatch `yaml:"match"`
	After Duration  `yaml:"after"`
}

// IdleMatch selects sources by whole-value regular expressions (a plain
// name matches itself); empty fields match everything.
type IdleMatch struct {
	Connector     string `yaml:"connector"`
	ConnectorName string `yaml:"connector_name"`
	Component     string `yaml:"component"`
}

// Patterns compiles the match's fields, anchored; nil for empty ones.
func (m IdleMatch) Patterns() (connector, connectorName, component *regexp.Regexp, err error) {
	out := make([]*regexp.Regexp, 3)
	for i, v := range []string{m.Connector, m.ConnectorName, m.Component} {
		if v == "" {
			continue
		}
		if out[i], err = regexp.Compile("^(?:" + v + ")$"); err != nil {
			return nil, nil, nil, err
		}
	}
	return out[0], out[1], out[2], nil
}

// AlarmFlapping: Changes state changes of one alarm within Window make it
// flap, until a whole Window passes without change; 0 changes turns it
// off.
type AlarmFlapping struct {
	Changes int      `yaml:"changes"`
	Window  Duration `yaml:"window"`
}

// Events configures what happens to events before the alarm engine.
type Events struct {
	// Rules qualify events in order (see internal/events/rules); they are
	// listed before the rules made through the API and read-only there.
	Rules []rules.Rule `yaml:"rules"`
}

// LDAP configures directory sign-in (off while url is empty).
type LDAP struct {
	URL          string      `yaml:"url"`
	StartTLS     bool        `yaml:"start_tls"`
	SkipVerify   bool        `yaml:"skip_verify"`
	BindDN       string      `yaml:"bind_dn"`
	BindPassword string      `yaml:"bind_password"`
	BaseDN       string      `yaml:"base_dn"`
	UserFilter   string      `yaml:"user_filter"`
	GroupBaseDN  string      `yaml:"group_base_dn"`
	GroupFilter  string      `yaml:"group_filter"`
	GroupAttr    string      `yaml:"group_attr"`
	GroupRoles   []GroupRole `yaml:"group_roles"`
	DefaultRole  string      `yaml:"default_role"`
	Timeout      Duration    `yaml:"timeout"`
}

// Syslog configures the syslog listener (UDP and TCP on one address).
type Syslog struct {
	// Listen is the address ("127.0.0.1:5514"); off when empty.
	Listen string `yaml:"listen"`
	// ConnectorName names the listener in events (default "syslog").
	ConnectorName string `yaml:"connector_name"`
	// MaxMessageBytes bounds one message (default 65536).
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// MaxConns bounds open TCP connections (default 256), for plain TCP
	// and RELP each.
	MaxConns int `yaml:"max_conns"`
	// RELPListen is the TCP address of the RELP receiver (rsyslog
	// omrelp), where a message is answered only once stored; off when
	// empty.
	RELPListen string `yaml:"relp_listen"`
	// RELPMaxFrameBytes bounds the data of one RELP frame (default
	// 131072); RELPWindow the frames of a connection read and not yet
	// answered (default 1024).
	RELPMaxFrameBytes int `yaml:"relp_max_frame_bytes"`
	RELPWindow        int `yaml:"relp_window"`
}

// AMQP configures the consumer of Canopsis events on a RabbitMQ topic
// exchange.
type AMQP struct {
	// URL of the broker (amqp://user:pass@host:5672/); off when empty.
	URL string `yaml:"url"`
	// Exchange (default "canopsis.events"), Queue (default
	// "vigie.events") and DeadLetterQueue (default Queue + ".dead").
	Exchange        string `yaml:"exchange"`
	Queue           string `yaml:"queue"`
	DeadLetterQueue string `yaml:"dead_letter_queue"`
	// Prefetch bounds unacknowledged deliveries (default 256).
	Prefetch int `yaml:"prefetch"`
}

// NATS configures the consumer of Canopsis events on NATS subjects.
type NATS struct {
	// URL of the server (nats://host:4222, or several separated by
	// commas); off when empty.
	URL string `yaml:"url"`
	// Subject (default "canopsis.events.>"), the JetStream Stream over it
	// (default "CANOPSIS_EVENTS") and the Durable consumer (default
	// "vigie").
	Subject string `yaml:"subject"`
	Stream  string `yaml:"stream"`
	Durable string `yaml:"durable"`
	// MaxAckPending bounds unacknowledged deliveries (default 1024).
	MaxAckPending int `yaml:"max_ack_pending"`
	// AckWait is how long JetStream waits for vigie's ack before
	// delivering again (default 30s): after a crash, what was delivered
	// and not acknowledged comes back after that long.
	AckWait Duration `yaml:"ack_wait"`
}

// SNMPTrap configures the SNMP trap receiver (UDP).
type SNMPTrap struct {
	// Listen is the UDP address ("127.0.0.1:1162"); off when empty.
	Listen string `yaml:"listen"`
	// ConnectorName names the receiver in events (default "snmptrap").
	ConnectorName string `yaml:"connector_name"`
	// Communities accepted from v1 and v2c agents (default ["public"]);
	// an empty list refuses v1 and v2c.
	Communities []string `yaml:"communities"`
	// Users accepted from v3 agents, with any engine ID.
	Users []SNMPv3User `yaml:"users"`
	// MaxPacketBytes bounds one datagram (default 16384).
	MaxPacketBytes int `yaml:"max_packet_bytes"`
	// RatePerSource bounds the traps a second taken from one address
	// (default 200, bursts of twice that).
	RatePerSource float64 `yaml:"rate_per_source"`
}

// SNMPv3User is one USM user of the trap receiver.
type SNMPv3User struct {
	User string `yaml:"user"`
	// AuthProtocol: MD5, SHA, SHA224, SHA256, SHA384, SHA512 (empty:
	// noAuthNoPriv); PrivProtocol: DES, AES, AES192, AES256, AES192C,
	// AES256C (empty: authNoPriv).
	AuthProtocol string `yaml:"auth_protocol"`
	AuthPassword string `yaml:"auth_password"`
	PrivProtocol string `yaml:"priv_protocol"`
	PrivPassword string `yaml:"priv_password"`
}

// GroupRole maps a directory group to a role.
type GroupRole struct {
	Group string `yaml:"group"`
	Role  string `yaml:"role"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Inventory is hosts and groups provisioned from YAML.
type Inventory struct {
	HostGroups []HostGroup `yaml:"hostgroups"`
	Hosts      []Host      `yaml:"hosts"`
}

// HostGroup as written in YAML.
type HostGroup struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// SNMPTemplate is what every member polls (see inventory.SNMPTemplate).
	SNMPTemplate *inventory.SNMPTemplate `yaml:"snmp_template"`
}

// Host as written in YAML, with its services.
type Host struct {
	Name          string            `yaml:"name"`
	Address       string            `yaml:"address"`
	Groups        []string          `yaml:"groups"`
	Tags          map[string]string `yaml:"tags"`
	Domain        string            `yaml:"domain"`
	Location      string            `yaml:"location"`
	Notes         string            `yaml:"notes"`
	Check         checks.Spec       `yaml:"check"`
	SNMP          checks.Spec       `yaml:"snmp"` // defaults of its snmp services
	Interval      Duration          `yaml:"interval"`
	RetryInterval Duration          `yaml:"retry_interval"`
	MaxAttempts   int               `yaml:"max_attempts"`
	Enabled       *bool             `yaml:"enabled"`
	Services      []Service         `yaml:"services"`
	// Where is "file:line" of the host, for messages.
	Where string `yaml:"-"`
}

// Service as written in YAML.
type Service struct {
	Name          string      `yaml:"name"`
	Check         checks.Spec `yaml:"check"`
	Interval      Duration    `yaml:"interval"`
	RetryInterval Duration    `yaml:"retry_interval"`
	MaxAttempts   int         `yaml:"max_attempts"`
	Timeout       Duration    `yaml:"timeout"`
	Enabled       *bool       `yaml:"enabled"`
	Where         string      `yaml:"-"`
}

// Default returns the configuration used when no file is given.
func Default() *Config {
	return &Config{
		DataDir: "./data",
		HTTP: HTTP{
			Listen:        "127.0.0.1:8080",
			PublicMetrics: true,
			MaxBodyBytes:  1 << 20,
			SessionTTL:    Duration(12 * time.Hour),
		},
		Storage: Storage{Driver: "sqlite", LockWait: Duration(30 * time.Second)},
		Scheduler: Scheduler{
			Concurrency:    256,
			PluginDirs:     []string{"/usr/lib/nagios/plugins", "/usr/lib/monitoring-plugins"},
			MaxOutputBytes: 64 << 10,
			Interval:       Duration(time.Minute),
			RetryInterval:  Duration(20 * time.Second),
			MaxAttempts:    3,
			Timeout:        Duration(10 * time.Second),

			FlapLowThreshold:  5,
			FlapHighThreshold: 20,
		},
		Log:      Log{Level: "info", Format: "text"},
		Audit:    Audit{Retention: Duration(90 * 24 * time.Hour)},
		Alarms:   Alarms{ConnectorName: "vigie", LogRetention: Duration(30 * 24 * time.Hour), Flapping: AlarmFlapping{Changes: 5, Window: Duration(10 * time.Minute)}},
		Metrics:  Metrics{Retention: Duration(15 * 24 * time.Hour), MinFreeBytes: 256 << 20, RemoteWriteReceiver: defaultReceiver, Rollup5mRetention: Duration(365 * 24 * time.Hour), Rollup1hRetention: Duration(5 * 365 * 24 * time.Hour), OutOfOrderWindow: Duration(48 * time.Hour)},
		LDAP:     LDAP{UserFilter: "(uid=%s)", GroupFilter: "(member=%s)", GroupAttr: "cn", Timeout: Duration(5 * time.Second)},
		Syslog:   Syslog{ConnectorName: "syslog", MaxMessageBytes: 64 << 10, MaxConns: 256, RELPMaxFrameBytes: 128 << 10, RELPWindow: 1024},
		AMQP:     AMQP{Exchange: "canopsis.events", Queue: "vigie.events", Prefetch: 256},
		NATS:     NATS{Subject: "canopsis.events.>", Stream: "CANOPSIS_EVENTS", Durable: "vigie", MaxAckPending: 1024, AckWait: Duration(30 * time.Second)},
		SNMPTrap: SNMPTrap{ConnectorName: "snmptrap", Communities: []string{"public"}, MaxPacketBytes: 16 << 10, RatePerSource: 200},
		lines:    map[string]int{},
	}
}

// defaultReceiver bounds a remote-write request: 10 MiB compressed, 64 MiB
// decompressed, 100,000 series, 1,000,000 samples.
var defaultReceiver = RemoteWriteReceiver{MaxBodyBytes: 10 << 20, MaxDecodedBytes: 64 << 20, MaxSeries: 100_000, MaxSamples: 1_000_000}

// Error is a configuration error located at a key.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if loc == "" {
		loc = "configuration"
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
}

// Load reads the file at path (defaults only when path is empty), applies
// environment overrides from env (os.Environ form) and validates the
// result. Checks are validated by validateCheck when it is not nil.
func Load(path string, env []string) (*Config, error) {
	cfg := Default()
	cfg.env = env
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the configuration: %w", err)
		}
		if err := decode(expandEnv(b, env), path, cfg, cfg.lines); err != nil {
			return nil, err
		}
		cfg.path = path
	}
	if err := applyEnv(cfg, env); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expandEnv replaces ${NAME} and ${NAME:-default} with the environment's
// values, so that a file can follow VIGIE_HTTP_LISTEN, say. Only the braced
// form is expanded: plugin macros such as $HOSTADDRESS$ stay as they are.
func expandEnv(b []byte, env []string) []byte {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return envRef.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := envRef.FindSubmatch(m)
		if v, ok := vars[string(sub[1])]; ok && v != "" {
			return []byte(v)
		}
		return sub[2]
	})
}

// Path is the file the configuration came from.
func (c *Config) Path() string { return c.path }

// decode parses YAML into out, refusing unknown keys, and records the line
// of every key path.
func decode(b []byte, file string, out any, lines map[string]int) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return &Error{File: file, Line: yamlErrLine(err), Msg: stripLine(strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if len(root.Content) == 0 {
		return nil // empty file: defaults
	}
	doc := root.Content[0]
	if err := checkKeys(doc, reflect.TypeOf(out).Elem(), "", file, lines); err != nil {
		return err
	}
	if err := doc.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			return &Error{File: file, Line: yamlErrLine(errors.New(te.Errors[0])), Msg: strings.TrimSpace(stripLine(te.Errors[0]))}
		}
		return &Error{File: file, Msg: err.Error()}
	}
	return nil
}

var durationType = reflect.TypeOf(Duration(0))

// checkKeys walks a mapping node beside the struct type it decodes into,
// so that a typo is reported with its key path and line instead of being
// silently ignored.
func checkKeys(n *yaml.Node, t reflect.Type, path, file string, lines map[string]int) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		// Checked here because the decoder's error for it has no line.
		if n.Kind == yaml.ScalarNode {
			if _, err := inventory.ParseDuration(n.Value); err != nil {
				return &Error{File: file, Line: n.Line, Key: path, Msg: err.Error()}
			}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return &Error{File: file, Line: n.Line, Key: path, Msg: "must be a mapping of keys"}
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			fields[tag] = f
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				return &Error{File: file, Line: k.Line, Key: p, Msg: "unknown key" + suggest(k.Value, fields)}
			}
			lines[p] = k.Line
			if err := checkKeys(v, f.Type, p, file, lines); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, item := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				lines[p] = item.Line
				if err := checkKeys(item, t.Elem(), p, file, lines); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				lines[joinPath(path, n.Content[i].Value)] = n.Content[i].Line
			}
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func suggest(key string, fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		if levenshtein(key, n) <= 2 {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func yamlErrLine(err error) int {
	s := err.Error()
	i := strings.Index(s, "line ")
	if i < 0 {
		return 0
	}
	j := i + 5
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(s[i+5 : j])
	return n
}

func stripLine(s string) string {
	if i := strings.Index(s, ": "); strings.HasPrefix(s, "line ") && i > 0 {
		return s[i+2:]
	}
	return s
}

// applyEnv overrides every scalar key from VIGIE_<PATH> (path parts joined
// by "_", upper case): http.listen is VIGIE_HTTP_LISTEN. Lists are comma
// separated. The inventory is not overridable this way.
func applyEnv(cfg *Config, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "VIGIE_") {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	return envWalk(reflect.ValueOf(cfg).Elem(), "VIGIE", "", vars)
}

func envWalk(v reflect.Value, prefix, path string, vars map[string]string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() || tag == "inventory" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		p := joinPath(path, tag)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := envWalk(fv, name, p, vars); err != nil {
				return err
			}
			continue
		}
		s, ok := vars[name]
		if !ok {
			continue
		}
		if err := setScalar(fv, s); err != nil {
			return &Error{File: "environment", Key: name, Msg: fmt.Sprintf("%v (overrides %s)", err, p)}
		}
	}
	return nil
}

func setScalar(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := inventory.ParseDuration(s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %q", s)
		}
		v.SetBool(b)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		v.SetFloat(f)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		v.SetInt(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment (a list of mappings)")
		}
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// errAt builds an error at a key path, with its line when the key came
// from the file.
func (c *Config) errAt(key, format string, a ...any) error {
	return &Error{File: c.path, Line: c.lines[key], Key: key, Msg: fmt.Sprintf(format, a...)}
}

func (c *Config) validate() error {
	if c.DataDir == "" {
		return c.errAt("data_dir", "must not be empty")
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil || port == "" {
		return c.errAt("http.listen", "%q is not an address:port", c.HTTP.Listen)
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		return c.errAt("http.max_body_bytes", "must be positive")
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		return c.errAt("http.tls_cert", "tls_cert and tls_key go together")
	}
	if c.HTTP.SessionTTL.D() < time.Minute {
		return c.errAt("http.session_ttl", "must be at least 1m")
	}
	switch c.Storage.Driver {
	case "sqlite":
	case "postgres":
		if c.Storage.DSN == "" {
			return c.errAt("storage.dsn", "is required with the postgres driver")
		}
	default:
		return c.errAt("storage.driver", "must be sqlite or postgres, not %q", c.Storage.Driver)
	}
	if w := c.Storage.LockWait.D(); w < 0 || w > time.Hour {
		return c.errAt("storage.lock_wait", "must be between 0s and 1h")
	}
	s := c.Scheduler
	if s.Concurrency < 1 || s.Concurrency > 100000 {
		return c.errAt("scheduler.concurrency", "must be between 1 and 100000")
	}
	if s.MaxOutputBytes < 1024 {
		return c.errAt("scheduler.max_output_bytes", "must be at least 1024")
	}
	if s.Interval.D() < time.Second {
		return c.errAt("scheduler.interval", "must be at least 1s")
	}
	if s.RetryInterval.D() < time.Second {
		return c.errAt("scheduler.retry_interval", "must be at least 1s")
	}
	if s.MaxAttempts < 1 || s.MaxAttempts > 100 {
		return c.errAt("scheduler.max_attempts", "must be between 1 and 100")
	}
	if s.Timeout.D() < 100*time.Millisecond {
		return c.errAt("scheduler.timeout", "must be at least 100ms")
	}
	if s.FlapLowThreshold <= 0 || s.FlapHighThreshold > 100 || s.FlapLowThreshold >= s.FlapHighThreshold {
		return c.errAt("scheduler.flap_high_threshold", "flap thresholds need 0 < low < high <= 100")
	}
	if c.Metrics.Retention.D() < time.Hour {
		return c.errAt("metrics.retention", "must be at least 1h")
	}
	if c.Metrics.RetentionBytes < 0 {
		return c.errAt("metrics.retention_bytes", "must not be negative")
	}
	// A tier keeps at least a day: its blocks are a day long.
	if c.Metrics.Rollup5mRetention.D() < 24*time.Hour {
		return c.errAt("metrics.rollup_5m_retention", "must be at least 24h")
	}
	if w := c.Metrics.OutOfOrderWindow.D(); w < time.Hour || w > 7*24*time.Hour || w >= c.Metrics.Retention.D() {
		return c.errAt("metrics.out_of_order_window", "must be between 1h and 7d, and shorter than metrics.retention")
	}
	if c.Metrics.Rollup1hRetention.D() < 24*time.Hour {
		return c.errAt("metrics.rollup_1h_retention", "must be at least 24h")
	}
	if p := c.Metrics.PrecisionBits; p != 0 && (p < 8 || p > 64) {
		return c.errAt("metrics.precision_bits", "must be between 8 and 64 (or 0 for exact values), not %d", p)
	}
	if c.Metrics.MinFreeBytes < 0 {
		return c.errAt("metrics.min_free_bytes", "must not be negative")
	}
	if err := c.validateRemoteWrite(); err != nil {
		return err
	}
	if c.Audit.Retention.D() < time.Hour {
		return c.errAt("audit.retention", "must be at least 1h")
	}
	if c.Alarms.ResolveDelay.D() < 0 {
		return c.errAt("alarms.resolve_delay", "must not be negative")
	}
	if c.Alarms.LogRetention.D() < time.Hour {
		return c.errAt("alarms.log_retention", "must be at least 1h")
	}
	if c.Alarms.Flapping.Changes != 0 && c.Alarms.Flapping.Changes < 2 {
		return c.errAt("alarms.flapping.changes", "must be at least 2 (or 0: off)")
	}
	if c.Alarms.Flapping.Changes != 0 && c.Alarms.Flapping.Window.D() < time.Second {
		return c.errAt("alarms.flapping.window", "must be at least 1s")
	}
	idle := map[string]bool{}
	for i, r := range c.Alarms.IdleRules {
		p := fmt.Sprintf("alarms.idle_rules[%d]", i)
		if r.Name == "" {
			return c.errAt(p+".name", "is required")
		}
		if idle[r.Name] {
			return c.errAt(p+".name", "idle rule %q is defined twice", r.Name)
		}
		idle[r.Name] = true
		for _, f := range []struct{ key, v string }{{"connector", r.Match.Connector}, {"connector_name", r.Match.ConnectorName}, {"component", r.Match.Component}} {
			if _, err := regexp.Compile(f.v); err != nil {
				return c.errAt(p+".match."+f.key, "compiling the pattern: %v", err)
			}
		}
		if r.After.D() < time.Minute {
			return c.errAt(p+".after", "must be at least 1m")
		}
	}
	if c.Alarms.ConnectorName == "" {
		return c.errAt("alarms.connector_name", "must not be empty")
	}
	if c.LDAP.URL != "" {
		if !strings.HasPrefix(c.LDAP.URL, "ldap://") && !strings.HasPrefix(c.LDAP.URL, "ldaps://") {
			return c.errAt("ldap.url", "must start with ldap:// or ldaps://")
		}
		if c.LDAP.BaseDN == "" {
			return c.errAt("ldap.base_dn", "is required with ldap.url")
		}
		if strings.Count(c.LDAP.UserFilter, "%s") != 1 {
			return c.errAt("ldap.user_filter", "must contain %%s once, e.g. (uid=%%s)")
		}
		if c.LDAP.GroupFilter != "" && strings.Count(c.LDAP.GroupFilter, "%s") != 1 {
			return c.errAt("ldap.group_filter", "must contain %%s once, e.g. (member=%%s)")
		}
		for i, g := range c.LDAP.GroupRoles {
			if g.Group == "" || g.Role == "" {
				return c.errAt(fmt.Sprintf("ldap.group_roles[%d]", i), "needs group and role")
			}
		}
	}
	if err := c.validateSources(); err != nil {
		return err
	}
	if err := c.validateRules(); err != nil {
		return err
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return c.errAt("log.level", "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return c.errAt("log.format", "must be text or json")
	}
	return c.validateInventory(&c.Inventory, "inventory", c.path, c.lines)
}

var targetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

var (
	// connectorName is a syslog connector_name, an AMQP exchange or queue.
	connectorName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$`)
	// natsName is a JetStream stream or consumer name.
	natsName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	// natsSubject is a subject with wildcards: tokens of visible
	// characters, '*' for one token, '>' only last.
	natsSubject = regexp.MustCompile(`^(?:(?:[^.*> \t\r\n]+|\*)\.)*(?:[^.*> \t\r\n]+|\*|>)$`)
)

// validateRules compiles events.rules, naming the rule's key and line.
func (c *Config) validateRules() error {
	if _, err := rules.Compile(c.Events.Rules); err != nil {
		var re *rules.Error
		if !errors.As(err, &re) || re.Index < 0 {
			return c.errAt("events.rules", "%v", err)
		}
		item := fmt.Sprintf("events.rules[%d]", re.Index)
		key := item + "." + re.Key
		line := c.lines[key]
		if line == 0 {
			line = c.lines[item]
		}
		msg := re.Msg
		if re.Rule != "" {
			msg = fmt.Sprintf("rule %q: %s", re.Rule, re.Msg)
		}
		return &Error{File: c.path, Line: line, Key: key, Msg: msg}
	}
	return nil
}

// validateSources checks the event sources' keys and sets what depends on
// others. Messages never repeat a URL: it may carry a password.
func (c *Config) validateSources() error {
	sl := &c.Syslog
	if sl.Listen != "" {
		if _, port, err := net.SplitHostPort(sl.Listen); err != nil || port == "" {
			return c.errAt("syslog.listen", "%q is not an address:port", sl.Listen)
		}
	}
	if !connectorName.MatchString(sl.ConnectorName) {
		return c.errAt("syslog.connector_name", "must be 1 to 255 letters, digits, '_', '.', ':', '-'")
	}
	if sl.MaxMessageBytes < 2048 || sl.MaxMessageBytes > 1<<20 {
		return c.errAt("syslog.max_message_bytes", "must be between 2048 and 1048576")
	}
	if sl.MaxConns < 1 || sl.MaxConns > 100_000 {
		return c.errAt("syslog.max_conns", "must be between 1 and 100000")
	}
	if sl.RELPListen != "" {
		if _, port, err := net.SplitHostPort(sl.RELPListen); err != nil || port == "" {
			return c.errAt("syslog.relp_listen", "%q is not an address:port", sl.RELPListen)
		}
		if sl.RELPListen == sl.Listen {
			return c.errAt("syslog.relp_listen", "must differ from syslog.listen (both use TCP)")
		}
	}
	if sl.RELPMaxFrameBytes < 4096 || sl.RELPMaxFrameBytes > 16<<20 {
		return c.errAt("syslog.relp_max_frame_bytes", "must be between 4096 and 16777216")
	}
	if sl.RELPWindow < 1 || sl.RELPWindow > 65536 {
		return c.errAt("syslog.relp_window", "must be between 1 and 65536")
	}
	a := &c.AMQP
	if a.URL != "" {
		u, err := url.Parse(a.URL)
		if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
			return c.errAt("amqp.url", "must be an amqp:// or amqps:// URL with a host")
		}
	}
	if a.DeadLetterQueue == "" {
		a.DeadLetterQueue = a.Queue + ".dead"
	}
	for _, kv := range [][2]string{{"amqp.exchange", a.Exchange}, {"amqp.queue", a.Queue}, {"amqp.dead_letter_queue", a.DeadLetterQueue}} {
		if !connectorName.MatchString(kv[1]) {
			return c.errAt(kv[0], "must be 1 to 255 letters, digits, '_', '.', ':', '-'")
		}
	}
	if a.DeadLetterQueue == a.Queue {
		return c.errAt("amqp.dead_letter_queue", "must differ from amqp.queue")
	}
	if a.Prefetch < 1 || a.Prefetch > 65535 {
		return c.errAt("amqp.prefetch", "must be between 1 and 65535")
	}
	n := &c.NATS
	if n.URL != "" {
		for _, s := range strings.Split(n.URL, ",") {
			u, err := url.Parse(strings.TrimSpace(s))
			if err != nil || u.Host == "" {
				return c.errAt("nats.url", "must be nats://host:port URLs separated by commas")
			}
			switch u.Scheme {
			case "nats", "tls", "ws", "wss":
			default:
				return c.errAt("nats.url", "must use nats://, tls://, ws:// or wss://")
			}
		}
	}
	if !natsSubject.MatchString(n.Subject) {
		return c.errAt("nats.subject", "%q is not a NATS subject (tokens separated by '.', '*' for one token, '>' last)", n.Subject)
	}
	if !natsName.MatchString(n.Stream) {
		return c.errAt("nats.stream", "must be 1 to 255 letters, digits, '_', '-'")
	}
	if !natsName.MatchString(n.Durable) {
		return c.errAt("nats.durable", "must be 1 to 255 letters, digits, '_', '-'")
	}
	if n.MaxAckPending < 1 || n.MaxAckPending > 100_000 {
		return c.errAt("nats.max_ack_pending", "must be between 1 and 100000")
	}
	if n.AckWait.D() < time.Second || n.AckWait.D() > time.Hour {
		return c.errAt("nats.ack_wait", "must be between 1s and 1h")
	}
	return c.validateSNMPTrap()
}

// validateSNMPTrap checks the trap receiver's keys. Messages never repeat
// a community or a password.
func (c *Config) validateSNMPTrap() error {
	st := &c.SNMPTrap
	if st.Listen != "" {
		if _, port, err := net.SplitHostPort(st.Listen); err != nil || port == "" {
			return c.errAt("snmptrap.listen", "%q is not an address:port", st.Listen)
		}
	}
	if !connectorName.MatchString(st.ConnectorName) {
		return c.errAt("snmptrap.connector_name", "must be 1 to 255 letters, digits, '_', '.', ':', '-'")
	}
	for i, cm := range st.Communities {
		if cm == "" || len(cm) > 255 {
			return c.errAt(fmt.Sprintf("snmptrap.communities[%d]", i), "must be 1 to 255 characters")
		}
	}
	// 484 bytes is the least every SNMP engine must take (RFC 3417), 65507
	// the most a UDP datagram carries.
	if st.MaxPacketBytes < 484 || st.MaxPacketBytes > 65507 {
		return c.errAt("snmptrap.max_packet_bytes", "must be between 484 and 65507")
	}
	if st.RatePerSource < 1 || st.RatePerSource > 1_000_000 {
		return c.errAt("snmptrap.rate_per_source", "must be between 1 and 1000000")
	}
	users := map[string]bool{}
	for i, u := range st.Users {
		item := fmt.Sprintf("snmptrap.users[%d]", i)
		field, err := sources.ValidSNMPv3User(sources.SNMPv3User{Name: u.User, AuthProtocol: u.AuthProtocol,
			AuthPassword: u.AuthPassword, PrivProtocol: u.PrivProtocol, PrivPassword: u.PrivPassword})
		if err == nil && users[u.User] {
			field, err = "user", fmt.Errorf("user %q is defined twice", u.User)
		}
		if err != nil {
			key := item + "." + field
			// A missing password is shown at the protocol that needs it.
			line := c.lines[key]
			if line == 0 {
				line = c.lines[item+"."+strings.Replace(field, "_password", "_protocol", 1)]
			}
			if line == 0 {
				line = c.lines[item]
			}
			return &Error{File: c.path, Line: line, Key: key, Msg: err.Error()}
		}
		users[u.User] = true
	}
	return nil
}

// validateRemoteWrite checks the remote-write targets and sets their
// defaults. Messages never repeat a credential.
func (c *Config) validateRemoteWrite() error {
	r := c.Metrics.RemoteWriteReceiver
	switch {
	case r.MaxBodyBytes < 1024:
		return c.errAt("metrics.remote_write_receiver.max_body_bytes", "must be at least 1024")
	case r.MaxDecodedBytes < r.MaxBodyBytes:
		return c.errAt("metrics.remote_write_receiver.max_decoded_bytes", "must be at least max_body_bytes")
	case r.MaxSeries < 1:
		return c.errAt("metrics.remote_write_receiver.max_series", "must be positive")
	case r.MaxSamples < 1:
		return c.errAt("metrics.remote_write_receiver.max_samples", "must be positive")
	}
	names := map[string]bool{}
	for i := range c.Metrics.RemoteWrite {
		rw := &c.Metrics.RemoteWrite[i]
		p := fmt.Sprintf("metrics.remote_write[%d]", i)
		if !targetName.MatchString(rw.Name) {
			return c.errAt(p+".name", "is required: letters, digits, '_', '.', '-', at most 64")
		}
		if names[rw.Name] {
			return c.errAt(p+".name", "remote_write %q is defined twice", rw.Name)
		}
		names[rw.Name] = true
		u, err := url.Parse(rw.URL)
		if rw.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c.errAt(p+".url", "must be an http:// or https:// URL")
		}
		if u.User != nil {
			return c.errAt(p+".url", "must not carry credentials; use basic_auth or bearer_token")
		}
		if rw.BearerToken != "" && (rw.BasicAuth.Username != "" || rw.BasicAuth.Password != "") {
			return c.errAt(p+".bearer_token", "bearer_token and basic_auth exclude each other")
		}
		if rw.BasicAuth.Password != "" && rw.BasicAuth.Username == "" {
			return c.errAt(p+".basic_auth.username", "is required with a password")
		}
		for k := range rw.Headers {
			switch strings.ToLower(k) {
			case "authorization", "content-type", "content-encoding", "x-prometheus-remote-write-version", "user-agent", "host", "content-length":
				return c.errAt(p+".headers."+k, "is set by vigie")
			}
			if !httpToken.MatchString(k) {
				return c.errAt(p+".headers", "%q is not a header name", k)
			}
		}
		if rw.Timeout == 0 {
			rw.Timeout = Duration(30 * time.Second)
		}
		if d := rw.Timeout.D(); d < time.Second || d > 5*time.Minute {
			return c.errAt(p+".timeout", "must be between 1s and 5m")
		}
		if rw.QueueMaxBytes == 0 {
			rw.QueueMaxBytes = 1 << 30
		}
		if rw.QueueMaxBytes < 1<<20 {
			return c.errAt(p+".queue_max_bytes", "must be at least 1048576 (1 MiB)")
		}
		if rw.BatchSamples == 0 {
			rw.BatchSamples = 2000
		}
		if rw.BatchSamples < 1 || rw.BatchSamples > 100_000 {
			return c.errAt(p+".batch_samples", "must be between 1 and 100000")
		}
	}
	return nil
}

var httpToken = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// validateInventory checks names and durations; check parameters are
// validated by the checks package when the inventory is applied.
func (c *Config) validateInventory(inv *Inventory, prefix, file string, lines map[string]int) error {
	at := func(key, format string, a ...any) error {
		return &Error{File: file, Line: lines[key], Key: key, Msg: fmt.Sprintf(format, a...)}
	}
	groups := map[string]bool{}
	for i, g := range inv.HostGroups {
		p := fmt.Sprintf("%s.hostgroups[%d]", prefix, i)
		if err := ValidName(g.Name); err != nil {
			return at(p+".name", "%v", err)
		}
		if groups[g.Name] {
			return at(p+".name", "host group %q is defined twice", g.Name)
		}
		groups[g.Name] = true
		if g.SNMPTemplate != nil {
			if err := g.SNMPTemplate.Validate(); err != nil {
				var te *inventory.TemplateError
				if !errors.As(err, &te) {
					return at(p+".snmp_template", "%v", err)
				}
				key := p + ".snmp_template." + te.Field
				// The line of the key, else of the nearest key above it
				// (an error on a check parameter names the item).
				line := lines[key]
				for k := key; line == 0 && strings.Contains(k, "."); {
					k = k[:strings.LastIndexAny(k, ".[")]
					line = lines[k]
				}
				return &Error{File: file, Line: line, Key: key, Msg: te.Msg}
			}
		}
	}
	hosts := map[string]bool{}
	for i := range inv.Hosts {
		h := &inv.Hosts[i]
		p := fmt.Sprintf("%s.hosts[%d]", prefix, i)
		h.Where = fmt.Sprintf("%s:%d", file, lines[p])
		if err := ValidName(h.Name); err != nil {
			return at(p+".name", "%v", err)
		}
		if hosts[h.Name] {
			return at(p+".name", "host %q is defined twice", h.Name)
		}
		hosts[h.Name] = true
		if h.Check != nil && h.Check.Kind() == "" {
			return at(p+".check.kind", "is required")
		}
		if h.MaxAttempts < 0 || h.MaxAttempts > 100 {
			return at(p+".max_attempts", "must be between 1 and 100")
		}
		if d := h.Interval.D(); d != 0 && d < time.Second {
			return at(p+".interval", "must be at least 1s")
		}
		svcs := map[string]bool{}
		for j := range h.Services {
			s := &h.Services[j]
			sp := fmt.Sprintf("%s.services[%d]", p, j)
			s.Where = fmt.Sprintf("%s:%d", file, lines[sp])
			if err := ValidName(s.Name); err != nil {
				return at(sp+".name", "%v", err)
			}
			if svcs[s.Name] {
				return at(sp+".name", "service %q is defined twice on host %q", s.Name, h.Name)
			}
			svcs[s.Name] = true
			if s.Check.Kind() == "" {
				return at(sp+".check.kind", "is required")
			}
			if d := s.Interval.D(); d != 0 && d < time.Second {
				return at(sp+".interval", "must be at least 1s")
			}
			if d := s.RetryInterval.D(); d != 0 && d < time.Second {
				return at(sp+".retry_interval", "must be at least 1s")
			}
			if s.MaxAttempts < 0 || s.MaxAttempts > 100 {
				return at(sp+".max_attempts", "must be between 1 and 100")
			}
		}
	}
	return nil
}

// ValidName checks an object name; see inventory.ValidName.
var ValidName = inventory.ValidName

// LoadInventory returns the configuration's inventory merged with every
// *.yaml / *.yml file of InventoryDir, each validated with its own file and
// line in errors. A host defined in two places is an error.
func (c *Config) LoadInventory() (Inventory, error) {
	inv := Inventory{
		HostGroups: append([]HostGroup(nil), c.Inventory.HostGroups...),
		Hosts:      append([]Host(nil), c.Inventory.Hosts...),
	}
	if c.InventoryDir == "" {
		return inv, nil
	}
	files, err := inventoryFiles(c.InventoryDir)
	if err != nil {
		return inv, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return inv, fmt.Errorf("reading %s: %w", f, err)
		}
		var part Inventory
		lines := map[string]int{}
		if err := decode(expandEnv(b, c.env), f, &part, lines); err != nil {
			return inv, err
		}
		if err := c.validateInventory(&part, "", f, lines); err != nil {
			return inv, err
		}
		inv.HostGroups = append(inv.HostGroups, part.HostGroups...)
		inv.Hosts = append(inv.Hosts, part.Hosts...)
	}
	seen := map[string]string{}
	for _, h := range inv.Hosts {
		if prev, ok := seen[h.Name]; ok {
			return inv, fmt.Errorf("%s: host %q is already defined at %s", h.Where, h.Name, prev)
		}
		seen[h.Name] = h.Where
	}
	gseen := map[string]bool{}
	for _, g := range inv.HostGroups {
		if gseen[g.Name] {
			return inv, fmt.Errorf("host group %q is defined twice", g.Name)
		}
		gseen[g.Name] = true
	}
	return inv, nil
}

func inventoryFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading inventory_dir: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

// Fingerprint summarises the files behind the inventory (the config file
// and inventory_dir's files, with sizes and modification times), so a
// watcher can tell when to reload.
func (c *Config) Fingerprint() string {
	var b strings.Builder
	add := func(p string) {
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", p, st.Size(), st.ModTime().UnixNano())
		}
	}
	if c.path != "" {
		add(c.path)
	}
	if c.InventoryDir != "" {
		files, _ := inventoryFiles(c.InventoryDir)
		for _, f := range files {
			add(f)
		}
	}
	return b.String()
}
