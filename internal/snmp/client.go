// Package snmp polls network devices over SNMP v1, v2c and v3: GET and
// bulk walks, names of standard objects and of MIB files resolved to
// numeric OIDs, and the interface table read as one service per interface.
//
// Traps are received elsewhere (internal/events); this package only asks.
package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Config is how to reach one agent. The zero value of each field takes
// its default (v2c, community "public", port 161, 2 s, 1 retry, 10
// repetitions); Validate applies them.
type Config struct {
	Version        string        `json:"version,omitempty"`
	Community      string        `json:"community,omitempty"`
	Port           int           `json:"port,omitempty"`
	Timeout        time.Duration `json:"-"`
	Retries        int           `json:"retries,omitempty"`
	MaxRepetitions int           `json:"max_repetitions,omitempty"`
	// v3 (USM). The security level follows from what is given: a user
	// alone is noAuthNoPriv, with an auth password authNoPriv, with a
	// privacy password too authPriv.
	User         string `json:"user,omitempty"`
	AuthProtocol string `json:"auth_protocol,omitempty"`
	AuthPassword string `json:"auth_password,omitempty"`
	PrivProtocol string `json:"priv_protocol,omitempty"`
	PrivPassword string `json:"priv_password,omitempty"`
	// Context names a v3 context (rarely needed).
	ContextName string `json:"context,omitempty"`
}

// Bounds on what a Config may ask for: a poll must never be able to tie a
// worker up for minutes.
const (
	MaxTimeout        = 60 * time.Second
	MaxRetries        = 5
	MaxMaxRepetitions = 200
)

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA1": gosnmp.SHA, "SHA224": gosnmp.SHA224,
	"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"DES": gosnmp.DES, "AES": gosnmp.AES, "AES128": gosnmp.AES, "AES192": gosnmp.AES192,
	"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

// Validate fills defaults and checks the settings. Errors name the
// parameter as the API spells it ("version: ...").
func (c *Config) Validate() error {
	switch strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(c.Version, "v"), "V")) {
	case "", "2c", "2":
		c.Version = "2c"
	case "1":
		c.Version = "1"
	case "3":
		c.Version = "3"
	default:
		return fmt.Errorf("version: must be 1, 2c or 3, not %q", c.Version)
	}
	if c.Port == 0 {
		c.Port = 161
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("port: must be between 1 and 65535")
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		return fmt.Errorf("timeout: must be between 0 and %s", MaxTimeout)
	}
	if c.Retries < 0 || c.Retries > MaxRetries {
		return fmt.Errorf("retries: must be between 0 and %d", MaxRetries)
	}
	if c.MaxRepetitions == 0 {
		c.MaxRepetitions = 10
	}
	if c.MaxRepetitions < 1 || c.MaxRepetitions > MaxMaxRepetitions {
		return fmt.Errorf("max_repetitions: must be between 1 and %d", MaxMaxRepetitions)
	}
	if c.Version != "3" {
		if c.Community == "" {
			c.Community = "public"
		}
		if c.User != "" || c.AuthPassword != "" || c.PrivPassword != "" {
			return fmt.Errorf("user: only SNMP v3 has users (version is %s)", c.Version)
		}
		return nil
	}
	if c.User == "" {
		return fmt.Errorf("user: is required for SNMP v3")
	}
	c.AuthProtocol = strings.ToUpper(strings.ReplaceAll(c.AuthProtocol, "-", ""))
	c.PrivProtocol = strings.ToUpper(strings.ReplaceAll(c.PrivProtocol, "-", ""))
	if c.AuthPassword == "" && c.PrivPassword != "" {
		return fmt.Errorf("auth_password: is required when priv_password is given (authPriv)")
	}
	if c.AuthPassword != "" {
		if c.AuthProtocol == "" {
			c.AuthProtocol = "SHA"
		}
		if _, ok := authProtocols[c.AuthProtocol]; !ok {
			return fmt.Errorf("auth_protocol: must be MD5, SHA, SHA224, SHA256, SHA384 or SHA512, not %q", c.AuthProtocol)
		}
		// RFC 3414: keys come from passwords of at least 8 characters;
		// net-snmp refuses shorter ones, so say it here rather than at
		// the first poll.
		if len(c.AuthPassword) < 8 {
			return fmt.Errorf("auth_password: must be at least 8 characters")
		}
	}
	if c.PrivPassword != "" {
		if c.PrivProtocol == "" {
			c.PrivProtocol = "AES"
		}
		if _, ok := privProtocols[c.PrivProtocol]; !ok {
			return fmt.Errorf("priv_protocol: must be DES, AES, AES192, AES256, AES192C or AES256C, not %q", c.PrivProtocol)
		}
		if len(c.PrivPassword) < 8 {
			return fmt.Errorf("priv_password: must be at least 8 characters")
		}
	}
	return nil
}

// SecurityLevel names the v3 level the settings give.
func (c Config) SecurityLevel() string {
	switch {
	case c.Version != "3":
		return ""
	case c.PrivPassword != "":
		return "authPriv"
	case c.AuthPassword != "":
		return "authNoPriv"
	default:
		return "noAuthNoPriv"
	}
}

// Redacted returns the settings with secrets masked, for the API and logs.
func (c Config) Redacted() Config {
	c.Community = mask(c.Community)
	c.AuthPassword = mask(c.AuthPassword)
	c.PrivPassword = mask(c.PrivPassword)
	return c
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "********"
}

// Errors a poll can end with, so that callers can give a clear state.
var (
	// ErrNoAnswer: nothing came back after the retries. In v1/v2c a wrong
	// community gets no answer at all, exactly like a dead agent.
	ErrNoAnswer = errors.New("no answer")
	// ErrAuth: the v3 agent refused the user or its keys.
	ErrAuth = errors.New("authentication failed")
)

// Client talks to one agent. It keeps its socket (and, for v3, the
// agent's engine ID and time) between polls; it is safe for concurrent
// use, requests being serialised.
type Client struct {
	cfg  Config
	host string

	mu sync.Mutex
	g  *gosnmp.GoSNMP
}

// NewClient returns a client for host (a name or an address) with cfg,
// which must have been validated. Nothing is sent until the first request.
func NewClient(host string, cfg Config) *Client {
	return &Client{cfg: cfg, host: host}
}

// Config returns the client's settings.
func (c *Client) Config() Config { return c.cfg }

// Close releases the socket.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeLocked()
}

func (c *Client) closeLocked() error {
	if c.g == nil || c.g.Conn == nil {
		c.g = nil
		return nil
	}
	err := c.g.Conn.Close()
	c.g = nil
	return err
}

func (c *Client) conn(ctx context.Context) (*gosnmp.GoSNMP, error) {
	if c.g == nil {
		g := &gosnmp.GoSNMP{
			Target:         c.host,
			Port:           uint16(c.cfg.Port),
			Transport:      "udp",
			Community:      c.cfg.Community,
			Timeout:        c.cfg.Timeout,
			Retries:        c.cfg.Retries,
			MaxRepetitions: uint32(c.cfg.MaxRepetitions),
			// One poll's answer is bounded by what a UDP datagram holds.
			MaxOids: gosnmp.MaxOids,
		}
		switch c.cfg.Version {
		case "1":
			g.Version = gosnmp.Version1
		case "3":
			g.Version = gosnmp.Version3
			g.SecurityModel = gosnmp.UserSecurityModel
			g.ContextName = c.cfg.ContextName
			usm := &gosnmp.UsmSecurityParameters{UserName: c.cfg.User, AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv}
			g.MsgFlags = gosnmp.NoAuthNoPriv
			if c.cfg.AuthPassword != "" {
				g.MsgFlags = gosnmp.AuthNoPriv
				usm.AuthenticationProtocol = authProtocols[c.cfg.AuthProtocol]
				usm.AuthenticationPassphrase = c.cfg.AuthPassword
			}
			if c.cfg.PrivPassword != "" {
				g.MsgFlags = gosnmp.AuthPriv
				usm.PrivacyProtocol = privProtocols[c.cfg.PrivProtocol]
				usm.PrivacyPassphrase = c.cfg.PrivPassword
			}
			g.SecurityParameters = usm
		default:
			g.Version = gosnmp.Version2c
		}
		if err := g.Connect(); err != nil {
			return nil, fmt.Errorf("opening a socket to %s: %w", c.addr(), err)
		}
		c.g = g
	}
	c.g.Context = ctx
	return c.g, nil
}

func (c *Client) addr() string { return net.JoinHostPort(c.host, strconv.Itoa(c.cfg.Port)) }

// Get reads the given numeric OIDs in one request. A missing object comes
// back as a Value of type NoSuchObject or NoSuchInstance, not an error.
func (c *Client) Get(ctx context.Context, oids []string) ([]Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Value, 0, len(oids))
	// gosnmp refuses more than MaxOids per request; split.
	for i := 0; i < len(oids); i += gosnmp.MaxOids {
		end := min(i+gosnmp.MaxOids, len(oids))
		pkt, err := g.Get(oids[i:end])
		if err != nil {
			return nil, c.fail(err)
		}
		if pkt.Error != gosnmp.NoError {
			oid := oids[i+min(max(int(pkt.ErrorIndex)-1, 0), end-i-1)]
			switch pkt.Error {
			case gosnmp.AuthorizationError:
				return nil, fmt.Errorf("%w: agent %s refused access (authorizationError) to %s for user %q at level %s: check its access rules",
					ErrAuth, c.addr(), oid, c.cfg.User, c.cfg.SecurityLevel())
			case gosnmp.NoSuchName:
				// v1 says noSuchName for the whole request when one
				// object is missing.
				return nil, fmt.Errorf("agent %s has no object %s (noSuchName)", c.addr(), oid)
			}
			return nil, fmt.Errorf("agent %s answered %s (for %s)", c.addr(), pkt.Error, oid)
		}
		for _, v := range pkt.Variables {
			out = append(out, valueOf(v))
		}
	}
	return out, nil
}

// errEnough stops a walk once it has what it may return.
var errEnough = errors.New("enough")

// Walk reads the subtree under root (bulk requests in v2c and v3,
// get-next in v1), at most max values (0: no bound). truncated says the
// bound cut it short.
func (c *Client) Walk(ctx context.Context, root string, maxValues int) (vals []Value, truncated bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, err := c.conn(ctx)
	if err != nil {
		return nil, false, err
	}
	fn := func(v gosnmp.SnmpPDU) error {
		if maxValues > 0 && len(vals) >= maxValues {
			truncated = true
			return errEnough
		}
		vals = append(vals, valueOf(v))
		return nil
	}
	if g.Version == gosnmp.Version1 {
		err = g.Walk(root, fn)
	} else {
		err = g.BulkWalk(root, fn)
	}
	if err != nil && !errors.Is(err, errEnough) {
		return vals, false, c.fail(err)
	}
	return vals, truncated, nil
}

// fail turns gosnmp's errors into ones an operator can act on, and drops
// the socket so that the next poll starts afresh (a v3 agent that was
// restarted has a new engine time).
func (c *Client) fail(err error) error {
	c.closeLocked()
	switch {
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return fmt.Errorf("%w: wrong auth password or auth protocol for user %q (agent %s reported usmStatsWrongDigests)", ErrAuth, c.cfg.User, c.addr())
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return fmt.Errorf("%w: agent %s does not know user %q", ErrAuth, c.addr(), c.cfg.User)
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return fmt.Errorf("%w: agent %s refuses security level %s for user %q", ErrAuth, c.addr(), c.cfg.SecurityLevel(), c.cfg.User)
	case errors.Is(err, gosnmp.ErrDecryption):
		return fmt.Errorf("%w: wrong privacy password or protocol for user %q (agent %s could not decrypt)", ErrAuth, c.cfg.User, c.addr())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, gosnmp.ErrMaxRetriesExceeded), isTimeout(err):
		why := "wrong community or agent down"
		if c.cfg.Version == "3" {
			why = "agent down, unreachable or wrong privacy settings"
		}
		tries := fmt.Sprintf("%d tries of %s", c.cfg.Retries+1, c.cfg.Timeout)
		if errors.Is(err, context.DeadlineExceeded) {
			tries = "before the check's timeout"
		}
		return fmt.Errorf("%w from %s: %s (%s)", ErrNoAnswer, c.addr(), why, tries)
	case errors.Is(err, context.Canceled):
		return err
	case strings.Contains(err.Error(), "not authentic"):
		// The agent's report (wrong digest, unknown user) is not
		// authenticated, and gosnmp drops it for that. Ask again
		// without authentication to tell the two apart.
		if c.unknownUser() {
			return fmt.Errorf("%w: agent %s does not know user %q", ErrAuth, c.addr(), c.cfg.User)
		}
		return fmt.Errorf("%w: wrong auth password or auth protocol for user %q (agent %s reported usmStatsWrongDigests)", ErrAuth, c.cfg.User, c.addr())
	}
	if s := err.Error(); strings.Contains(s, "connection refused") {
		return fmt.Errorf("%w from %s: port closed (connection refused)", ErrNoAnswer, c.addr())
	}
	return fmt.Errorf("polling %s: %w", c.addr(), err)
}

// unknownUser asks the agent, without authentication, whether it knows the
// user: one request, only after an authentication failure.
func (c *Client) unknownUser() bool {
	g := &gosnmp.GoSNMP{
		Target: c.host, Port: uint16(c.cfg.Port), Transport: "udp", Version: gosnmp.Version3,
		Timeout: c.cfg.Timeout, Retries: 0, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: c.cfg.User, AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv},
	}
	if g.Connect() != nil {
		return false
	}
	defer g.Conn.Close()
	_, err := g.Get([]string{"1.3.6.1.2.1.1.3.0"})
	return errors.Is(err, gosnmp.ErrUnknownUsername)
}

func isTimeout(err error) bool {
	var ne net.Error
	return (errors.As(err, &ne) && ne.Timeout()) || strings.Contains(err.Error(), "timeout")
}
