package sources

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-monitoring/vigie/internal/events"
)

// Reasons a trap is refused, beside the shared ones (parse, too_large,
// invalid, sink).
const (
	ReasonCommunity = "community" // v1/v2c community not in the allowed list
	ReasonAuth      = "auth"      // v3: unknown user, wrong digest, cannot decrypt
	ReasonRate      = "rate"      // over the per-source rate limit
	ReasonOverload  = "overload"  // the queue to the sink is full
)

// SNMPv3User is one USM user whose traps are accepted. The keys are
// localised to whatever engine ID the trap carries, so one user serves
// every device that sends as that user.
type SNMPv3User struct {
	Name string
	// AuthProtocol is MD5, SHA, SHA224, SHA256, SHA384 or SHA512 (empty:
	// noAuthNoPriv); PrivProtocol is DES, AES, AES192, AES256, AES192C or
	// AES256C (empty: no privacy).
	AuthProtocol, AuthPassword string
	PrivProtocol, PrivPassword string
}

// SNMPTrapOptions configures the trap receiver. Zero values take the
// defaults given beside each field.
type SNMPTrapOptions struct {
	// Listen is the UDP address ("127.0.0.1:1162"; port 0 picks one).
	Listen string
	// ConnectorName names this receiver in events (default "snmptrap").
	ConnectorName string
	// Communities are the v1/v2c communities accepted; a trap with any
	// other is refused (reason "community"). Empty: v1/v2c refused.
	Communities []string
	// Users are the v3 users accepted.
	Users []SNMPv3User
	// MaxPacketBytes bounds one datagram (default 16384).
	MaxPacketBytes int
	// RatePerSource traps a second (default 200), with bursts of twice
	// that, are taken from one source address; more are refused (reason
	// "rate") so that one chatty device cannot starve the others.
	RatePerSource float64
	// QueueSize bounds traps decoded and not yet stored (default 4096);
	// past it they are refused (reason "overload").
	QueueSize int
	// BatchSize traps (default 256) or FlushInterval (default 50ms) after
	// the first one go to the sink together.
	BatchSize     int
	FlushInterval time.Duration
	// HostName, when set, names the component of a trap from its agent
	// address (an inventory host with that address); "" keeps the address.
	HostName   func(netip.Addr) string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// SNMPTrap receives SNMP v1 and v2c traps, v2c informs and v3 traps over
// UDP and turns each into an event.
//
// UDP cannot be acknowledged: traps go to the sink in small batches, and
// those decoded and not yet stored (the batch being gathered, and those
// queued behind it while the sink is slow) are lost if the process is
// killed, as with syslog over UDP; a normal stop stores them. An inform
// is answered only once the sink stored its event, so the sender resends
// one whose event was lost.
type SNMPTrap struct {
	opts  SNMPTrapOptions
	sink  events.Sink
	log   *slog.Logger
	count *counters
	conn  net.PacketConn
	dec   *trapDecoder
	rate  *sourceRate
}

// trapItem is a decoded trap on its way to the sink, with the response
// owed to an inform.
type trapItem struct {
	ev    events.Event
	reply []byte
	to    net.Addr
}

// ListenSNMPTrap binds UDP on opts.Listen. Run serves it.
func ListenSNMPTrap(opts SNMPTrapOptions, sink events.Sink) (*SNMPTrap, error) {
	if opts.Listen == "" {
		return nil, errors.New("snmptrap: no listen address")
	}
	opts.ConnectorName = orDefault(opts.ConnectorName, "snmptrap")
	opts.MaxPacketBytes = orDefault(opts.MaxPacketBytes, 16<<10)
	opts.RatePerSource = orDefault(opts.RatePerSource, 200)
	opts.QueueSize = orDefault(opts.QueueSize, 4096)
	opts.BatchSize = orDefault(opts.BatchSize, 256)
	opts.FlushInterval = orDefault(opts.FlushInterval, 50*time.Millisecond)
	dec, err := newTrapDecoder(opts.Communities, opts.Users)
	if err != nil {
		return nil, fmt.Errorf("snmptrap: %w", err)
	}
	dec.connectorName = opts.ConnectorName
	dec.hostName = opts.HostName
	log := logger(opts.Logger, "snmptrap")
	t := &SNMPTrap{
		opts: opts, sink: sink, log: log, dec: dec,
		count: newCounters(opts.Registerer, "snmptrap", log),
		rate:  newSourceRate(opts.RatePerSource, 2*opts.RatePerSource, 4096),
	}
	for _, r := range []string{ReasonCommunity, ReasonAuth, ReasonRate, ReasonOverload} {
		t.count.refused.WithLabelValues(r)
	}
	if t.conn, err = net.ListenPacket("udp", opts.Listen); err != nil {
		return nil, fmt.Errorf("snmptrap: listening on udp %s: %w", opts.Listen, err)
	}
	return t, nil
}

// Addr is the UDP address listened on.
func (t *SNMPTrap) Addr() string { return t.conn.LocalAddr().String() }

// Run serves until ctx ends, then closes the socket, stores what was
// decoded and returns.
func (t *SNMPTrap) Run(ctx context.Context) error {
	t.log.Info("snmptrap listening", "addr", t.Addr(), "connector_name", t.opts.ConnectorName,
		"communities", len(t.opts.Communities), "v3_users", len(t.opts.Users))
	queue := make(chan trapItem, t.opts.QueueSize)
	var wg sync.WaitGroup
	wg.Go(func() { t.batch(ctx, queue) })
	wg.Go(func() { t.read(ctx, queue) })
	<-ctx.Done()
	t.conn.Close()
	wg.Wait()
	return nil
}

// read decodes datagrams and queues them without ever waiting for the
// sink: while it waits, the kernel would drop datagrams uncounted.
func (t *SNMPTrap) read(ctx context.Context, out chan<- trapItem) {
	defer close(out)
	buf := make([]byte, t.opts.MaxPacketBytes+1)
	for {
		n, addr, err := t.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Warn("reading snmp traps", "err", err)
			continue
		}
		from := addrPort(addr)
		if n > t.opts.MaxPacketBytes {
			t.count.refuse(ReasonTooLarge, 1)
			t.count.warn("snmp trap refused: too large", "remote", from.String(), "max_bytes", t.opts.MaxPacketBytes)
			continue
		}
		if !t.rate.allow(from.Addr(), time.Now()) {
			t.count.refuse(ReasonRate, 1)
			t.count.warn("snmp trap refused: over the rate limit", "remote", from.String(), "per_second", t.opts.RatePerSource)
			continue
		}
		// gosnmp rewrites the packet in place while checking a digest.
		ev, reply, reason, err := t.dec.decode(append([]byte(nil), buf[:n]...), from, time.Now())
		if err != nil {
			t.count.refuse(reason, 1)
			t.count.warn("snmp trap refused", "reason", reason, "remote", from.String(), "err", err, "bytes", n)
			continue
		}
		select {
		case out <- trapItem{ev: ev, reply: reply, to: addr}:
		default:
			t.count.refuse(ReasonOverload, 1)
			t.count.warn("snmp trap refused: queue to the sink full", "remote", from.String(), "queue", t.opts.QueueSize)
		}
	}
}

// batch stores queued traps by BatchSize or FlushInterval and answers
// informs once their batch is stored.
func (t *SNMPTrap) batch(ctx context.Context, in <-chan trapItem) {
	var (
		pending []trapItem
		evs     []events.Event
		timer   = time.NewTimer(time.Hour)
		timerC  <-chan time.Time
	)
	timer.Stop()
	defer timer.Stop()
	flush := func() {
		timerC = nil
		if len(pending) == 0 {
			return
		}
		evs = evs[:0]
		for _, it := range pending {
			evs = append(evs, it.ev)
		}
		// Store what was read even while shutting down.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := t.sink.Ingest(fctx, evs)
		cancel()
		if err != nil {
			// Unanswered informs are sent again by their agents.
			t.count.refuse(ReasonSink, len(pending))
			t.log.Error("storing snmp trap events; lost", "err", err, "events", len(pending))
		} else {
			t.count.received.Add(float64(len(pending)))
			for _, it := range pending {
				if it.reply == nil {
					continue
				}
				if _, err := t.conn.WriteTo(it.reply, it.to); err != nil && !errors.Is(err, net.ErrClosed) {
					t.log.Warn("answering an snmp inform", "remote", it.to.String(), "err", err)
				}
			}
		}
		clear(pending)
		pending = pending[:0]
	}
	for {
		select {
		case it, ok := <-in:
			if !ok {
				flush()
				return
			}
			pending = append(pending, it)
			if len(pending) >= t.opts.BatchSize {
				flush()
			} else if timerC == nil {
				timer.Reset(t.opts.FlushInterval)
				timerC = timer.C
			}
		case <-timerC:
			flush()
		}
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// sourceRate is a token bucket per source address. It holds at most max
// sources: past that, idle ones are forgotten, and if none is, all are,
// so that a spoofed flood of addresses cannot grow it.
type sourceRate struct {
	rate, burst float64
	max         int
	buckets     map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newSourceRate(rate, burst float64, max int) *sourceRate {
	return &sourceRate{rate: rate, burst: burst, max: max, buckets: map[netip.Addr]*bucket{}}
}

// allow takes a token for addr. Only the reader calls it: no lock.
func (r *sourceRate) allow(addr netip.Addr, now time.Time) bool {
	b := r.buckets[addr]
	if b == nil {
		if len(r.buckets) >= r.max {
			for a, o := range r.buckets {
				if now.Sub(o.last) > time.Duration(float64(time.Second)*r.burst/r.rate) {
					delete(r.buckets, a)
				}
			}
			if len(r.buckets) >= r.max {
				clear(r.buckets)
			}
		}
		b = &bucket{tokens: r.burst, last: now}
		r.buckets[addr] = b
	}
	b.tokens = min(r.burst, b.tokens+now.Sub(b.last).Seconds()*r.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Standard objects a trap carries, named in outputs and tags. Numeric
// OIDs because Debian ships no IETF MIBs; the lead merges this table
// with the poller's.
var trapOIDNames = map[string]string{
	"1.3.6.1.2.1.1.1":          "sysDescr",
	"1.3.6.1.2.1.1.2":          "sysObjectID",
	"1.3.6.1.2.1.1.3":          "sysUpTime",
	"1.3.6.1.2.1.1.4":          "sysContact",
	"1.3.6.1.2.1.1.5":          "sysName",
	"1.3.6.1.2.1.1.6":          "sysLocation",
	"1.3.6.1.2.1.2.2.1.1":      "ifIndex",
	"1.3.6.1.2.1.2.2.1.2":      "ifDescr",
	"1.3.6.1.2.1.2.2.1.3":      "ifType",
	"1.3.6.1.2.1.2.2.1.7":      "ifAdminStatus",
	"1.3.6.1.2.1.2.2.1.8":      "ifOperStatus",
	"1.3.6.1.2.1.31.1.1.1.1":   "ifName",
	"1.3.6.1.2.1.31.1.1.1.18":  "ifAlias",
	"1.3.6.1.6.3.1.1.4.1":      "snmpTrapOID",
	"1.3.6.1.6.3.1.1.4.3":      "snmpTrapEnterprise",
	"1.3.6.1.6.3.18.1.3":       "snmpTrapAddress",
	"1.3.6.1.6.3.18.1.4":       "snmpTrapCommunity",
	"1.3.6.1.6.3.1.1.5.1":      "coldStart",
	"1.3.6.1.6.3.1.1.5.2":      "warmStart",
	"1.3.6.1.6.3.1.1.5.3":      "linkDown",
	"1.3.6.1.6.3.1.1.5.4":      "linkUp",
	"1.3.6.1.6.3.1.1.5.5":      "authenticationFailure",
	"1.3.6.1.6.3.1.1.5.6":      "egpNeighborLoss",
	"1.3.6.1.4.1.8072.4.0.1":   "nsNotifyStart",
	"1.3.6.1.4.1.8072.4.0.2":   "nsNotifyShutdown",
	"1.3.6.1.4.1.8072.4.0.3":   "nsNotifyRestart",
	"1.3.6.1.6.3.1.1.5":        "snmpTraps",
	"1.3.6.1.4.1.8072.2.3.0.1": "netSnmpExampleHeartbeatNotification",
}

const (
	oidSysUpTime0          = "1.3.6.1.2.1.1.3.0"
	oidSnmpTrapOID0        = "1.3.6.1.6.3.1.1.4.1.0"
	oidSnmpTrapEnterprise0 = "1.3.6.1.6.3.1.1.4.3.0"
	oidSnmpTrapAddress0    = "1.3.6.1.6.3.18.1.3.0"
	oidSnmpTrapCommunity   = "1.3.6.1.6.3.18.1.4"
	oidStandardTraps       = "1.3.6.1.6.3.1.1.5."
	oidIfIndex             = "1.3.6.1.2.1.2.2.1.1."
	oidIfDescr             = "1.3.6.1.2.1.2.2.1.2."
	oidIfName              = "1.3.6.1.2.1.31.1.1.1.1."
	oidIfAdminStatus       = "1.3.6.1.2.1.2.2.1.7."
	oidIfOperStatus        = "1.3.6.1.2.1.2.2.1.8."
)

// ifStatus names ifAdminStatus and ifOperStatus values (IF-MIB).
var ifStatus = map[int]string{1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}

// TrapQualify is the default qualification of a trap by its name, before
// the rules: a link going down is critical (red) and its linkUp (state 0)
// resolves it; an authentication failure (someone probing with a wrong
// community), a cold start (the device lost power) and a lost EGP
// neighbour are major (orange); a warm start and every other trap are
// minor (green), kept open until acknowledged, for rules to reshape.
func TrapQualify(name string) (state int, criticality string) {
	switch name {
	case "linkDown":
		return events.StateCritical, events.Red
	case "linkUp":
		return events.StateOK, ""
	case "authenticationFailure", "coldStart", "egpNeighborLoss":
		return events.StateMajor, events.Orange
	default:
		return events.StateMinor, events.Green
	}
}

// Bounds of what one trap puts in an event.
const (
	maxTrapVarbindTags = 48
	maxTrapTagValue    = 255
	maxTrapOutput      = 1024
	maxTrapLongOutput  = 32 << 10
)

// trapDecoder turns one datagram into an event. It is used by one
// goroutine at a time.
type trapDecoder struct {
	snmp          *gosnmp.GoSNMP
	communities   [][]byte
	connectorName string
	hostName      func(netip.Addr) string
}

var (
	authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
		"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256,
		"SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
	}
	privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
		"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192, "AES256": gosnmp.AES256,
		"AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
	}
)

// ValidSNMPv3User checks a user as the receiver takes it, naming the
// field at fault and never repeating a password.
func ValidSNMPv3User(u SNMPv3User) (field string, err error) {
	switch {
	case u.Name == "" || len(u.Name) > 32:
		return "user", errors.New("must be 1 to 32 characters")
	case u.AuthProtocol == "" && u.AuthPassword != "":
		return "auth_protocol", errors.New("is required with auth_password")
	case u.AuthProtocol == "" && u.PrivProtocol != "":
		return "priv_protocol", errors.New("needs auth_protocol: privacy without authentication does not exist in SNMPv3")
	case u.PrivProtocol == "" && u.PrivPassword != "":
		return "priv_protocol", errors.New("is required with priv_password")
	}
	if u.AuthProtocol != "" {
		if _, ok := authProtocols[strings.ToUpper(u.AuthProtocol)]; !ok {
			return "auth_protocol", fmt.Errorf("must be MD5, SHA, SHA224, SHA256, SHA384 or SHA512, not %q", u.AuthProtocol)
		}
		if u.AuthPassword == "" {
			return "auth_password", errors.New("is required with auth_protocol")
		}
		if len(u.AuthPassword) < 8 {
			return "auth_password", errors.New("must be at least 8 characters (RFC 3414)")
		}
	}
	if u.PrivProtocol != "" {
		if _, ok := privProtocols[strings.ToUpper(u.PrivProtocol)]; !ok {
			return "priv_protocol", fmt.Errorf("must be DES, AES, AES192, AES256, AES192C or AES256C, not %q", u.PrivProtocol)
		}
		if u.PrivPassword == "" {
			return "priv_password", errors.New("is required with priv_protocol")
		}
		if len(u.PrivPassword) < 8 {
			return "priv_password", errors.New("must be at least 8 characters (RFC 3414)")
		}
	}
	return "", nil
}

func newTrapDecoder(communities []string, users []SNMPv3User) (*trapDecoder, error) {
	d := &trapDecoder{
		// gosnmp checks v3 authentication only on a Version3 handle; v1
		// and v2c packets are read by their own version field whatever
		// this says.
		snmp: &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel},
	}
	for _, c := range communities {
		d.communities = append(d.communities, []byte(c))
	}
	// No logger: gosnmp's debug lines would carry user names and keys.
	table := gosnmp.NewSnmpV3SecurityParametersTable(gosnmp.Logger{})
	for _, u := range users {
		if field, err := ValidSNMPv3User(u); err != nil {
			return nil, fmt.Errorf("v3 user %q: %s: %w", u.Name, field, err)
		}
		sp := &gosnmp.UsmSecurityParameters{UserName: u.Name}
		if u.AuthProtocol != "" {
			sp.AuthenticationProtocol = authProtocols[strings.ToUpper(u.AuthProtocol)]
			sp.AuthenticationPassphrase = u.AuthPassword
		}
		if u.PrivProtocol != "" {
			sp.PrivacyProtocol = privProtocols[strings.ToUpper(u.PrivProtocol)]
			sp.PrivacyPassphrase = u.PrivPassword
		}
		if err := table.Add(u.Name, sp); err != nil {
			return nil, fmt.Errorf("v3 user %q: %w", u.Name, err)
		}
	}
	// Always a table, even empty: without one gosnmp would try a v3
	// packet with no credentials at all.
	d.snmp.SetTrapSecurityParametersTable(table)
	return d, nil
}

// unmarshal runs gosnmp's decoder, turning a panic on hostile input into
// a refusal: the receiver must outlive any packet.
func (d *trapDecoder) unmarshal(pkt []byte) (p *gosnmp.SnmpPacket, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%w: %v", errDecoderPanic, r)
		}
	}()
	return d.snmp.UnmarshalTrap(pkt, true)
}

var errDecoderPanic = errors.New("decoder panic")

// decode turns one datagram from the source into an event and, for an
// inform, the response to send once it is stored; else it says why the
// datagram is refused (a reason label) and what was wrong. Error texts
// never carry a community or a password.
func (d *trapDecoder) decode(pkt []byte, from netip.AddrPort, now time.Time) (events.Event, []byte, string, error) {
	version, ok := peekSNMPVersion(pkt)
	if !ok {
		return events.Event{}, nil, ReasonParse, errors.New("not an SNMP message")
	}
	p, err := d.unmarshal(pkt)
	if err != nil {
		if version == 3 && !errors.Is(err, errDecoderPanic) {
			// What failed is the user, the digest or the decryption, or
			// the header (gosnmp does not type its errors); the user's
			// name tells an operator which device's settings to check.
			return events.Event{}, nil, ReasonAuth, fmt.Errorf("v3 user %q not authenticated (unknown user, wrong password, or below the user's security level)", v3UserName(pkt))
		}
		return events.Event{}, nil, ReasonParse, err
	}
	if p.Version != gosnmp.Version3 && !d.communityAllowed(p.Community) {
		return events.Event{}, nil, ReasonCommunity, fmt.Errorf("v%s community not allowed", p.Version)
	}
	switch {
	case p.Version == gosnmp.Version1 && p.PDUType == gosnmp.Trap:
	case p.Version != gosnmp.Version1 && (p.PDUType == gosnmp.SNMPv2Trap || p.PDUType == gosnmp.InformRequest):
	default:
		return events.Event{}, nil, ReasonInvalid, fmt.Errorf("v%s %s PDU is not a trap or an inform", p.Version, p.PDUType)
	}
	ev, err := d.event(p, from, now)
	if err != nil {
		return events.Event{}, nil, ReasonInvalid, err
	}
	var reply []byte
	if p.PDUType == gosnmp.InformRequest {
		if p.Version == gosnmp.Version3 {
			return events.Event{}, nil, ReasonInvalid, errors.New("v3 informs are not supported (no local engine ID)")
		}
		// The response echoes the request with no error (RFC 3416 4.2.7).
		p.PDUType = gosnmp.GetResponse
		p.Error, p.ErrorIndex = gosnmp.NoError, 0
		if reply, err = p.MarshalMsg(); err != nil {
			return events.Event{}, nil, ReasonInvalid, fmt.Errorf("building the inform response: %w", err)
		}
	}
	return ev, reply, "", nil
}

// peekSNMPVersion reads the version field that begins every SNMP message
// (SEQUENCE { INTEGER version, ... }): 0 for v1, 1 for v2c, 3 for v3.
func peekSNMPVersion(b []byte) (int, bool) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, false
	}
	i := 2
	if b[1]&0x80 != 0 {
		i += int(b[1] & 0x7f)
	}
	if len(b) < i+3 || b[i] != 0x02 || b[i+1] != 1 {
		return 0, false
	}
	switch v := int(b[i+2]); v {
	case 0, 1, 3:
		return v, true
	}
	return 0, false
}

// berTLV reads the BER tag, length and value at b[i:]: the value is
// b[start:end].
func berTLV(b []byte, i int) (tag byte, start, end int, ok bool) {
	if i < 0 || i+2 > len(b) {
		return 0, 0, 0, false
	}
	tag, n, start := b[i], int(b[i+1]), i+2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || start+k > len(b) {
			return 0, 0, 0, false
		}
		n = 0
		for _, c := range b[start : start+k] {
			n = n<<8 | int(c)
		}
		start += k
	}
	if start+n > len(b) {
		return 0, 0, 0, false
	}
	return tag, start, start + n, true
}

// v3UserName reads msgUserName from a v3 message (RFC 3412, RFC 3414:
// SEQUENCE { version, msgGlobalData, msgSecurityParameters OCTET STRING
// { SEQUENCE { engineID, boots, time, userName, ... } } }), "" when it
// cannot.
func v3UserName(b []byte) string {
	_, i, _, ok := berTLV(b, 0)
	for range 2 { // version, msgGlobalData
		if !ok {
			return ""
		}
		_, _, i, ok = berTLV(b, i)
	}
	tag, s, e, ok := berTLV(b, i)
	if !ok || tag != 0x04 {
		return ""
	}
	usm := b[s:e]
	_, i, _, ok = berTLV(usm, 0)
	for range 3 { // engine ID, boots, time
		if !ok {
			return ""
		}
		_, _, i, ok = berTLV(usm, i)
	}
	tag, s, e, ok = berTLV(usm, i)
	if !ok || tag != 0x04 {
		return ""
	}
	return clipName(printable(usm[s:e]))
}

func (d *trapDecoder) communityAllowed(c string) bool {
	ok := false
	for _, a := range d.communities {
		// Every entry is compared, in constant time, so that timing
		// says nothing about the allowed communities.
		if subtle.ConstantTimeCompare(a, []byte(c)) == 1 {
			ok = true
		}
	}
	return ok
}

// varbind is one variable of a trap, read for people.
type varbind struct {
	oid, name, typ, value string
}

// event builds the event of a decoded trap.
func (d *trapDecoder) event(p *gosnmp.SnmpPacket, from netip.AddrPort, now time.Time) (events.Event, error) {
	var (
		trapOID string
		vbs     []varbind
		agent   netip.Addr
	)
	if p.Version == gosnmp.Version1 {
		ent := strings.TrimPrefix(p.Enterprise, ".")
		// RFC 3584 3.1: a generic trap maps to snmpTraps.(generic+1), an
		// enterprise-specific one to enterprise.0.specific.
		switch {
		case p.GenericTrap >= 0 && p.GenericTrap <= 5:
			trapOID = oidStandardTraps + strconv.Itoa(p.GenericTrap+1)
		case p.GenericTrap == 6 && ent != "":
			trapOID = ent + ".0." + strconv.Itoa(p.SpecificTrap)
		default:
			return events.Event{}, fmt.Errorf("v1 trap with generic-trap %d and enterprise %q", p.GenericTrap, clipName(ent))
		}
		if a, err := netip.ParseAddr(p.AgentAddress); err == nil && !a.IsUnspecified() {
			agent = a
		}
		vbs = append(vbs, varbind{oid: oidSysUpTime0, name: "sysUpTime.0", typ: "TimeTicks", value: strconv.FormatUint(uint64(p.Timestamp), 10)})
		if ent != "" {
			vbs = append(vbs, varbind{oid: oidSnmpTrapEnterprise0, name: "snmpTrapEnterprise.0", typ: "ObjectIdentifier", value: oidName(ent)})
		}
	}
	for i, v := range p.Variables {
		vb := readVarbind(v)
		if vb.oid == oidSnmpTrapOID0 && p.Version != gosnmp.Version1 {
			if s, ok := v.Value.(string); ok {
				trapOID = strings.TrimPrefix(s, ".")
			}
		}
		if vb.oid == oidSnmpTrapAddress0 {
			if a, err := netip.ParseAddr(vb.value); err == nil && !a.IsUnspecified() {
				agent = a // RFC 3584: the original agent behind a proxy
			}
		}
		if i >= 1024 {
			break // a packet cap keeps this far, but be sure
		}
		vbs = append(vbs, vb)
	}
	if trapOID == "" {
		return events.Event{}, errors.New("no snmpTrapOID.0 varbind")
	}
	if !agent.IsValid() {
		agent = from.Addr()
	}
	component := agent.String()
	if d.hostName != nil {
		if h := d.hostName(agent); h != "" {
			component = h
		}
	}
	name := oidName(trapOID)
	resource := clipName(name)
	if name == "linkDown" || name == "linkUp" {
		resource = linkResource(p.Variables)
	}
	state, crit := TrapQualify(name)
	ev := events.Event{
		Connector: "snmptrap", ConnectorName: d.connectorName,
		EventType: events.TypeCheck, SourceType: "resource",
		Component: clipName(component), Resource: resource,
		State: state, Criticality: crit, Time: now.UTC(),
		Tags: map[string]string{
			"trap_oid":     trapOID,
			"trap_name":    clipName(name),
			"snmp_version": p.Version.String(),
			"remote":       from.Addr().String(),
		},
	}
	if p.Version == gosnmp.Version3 {
		if usm, ok := p.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
			ev.Tags["snmp_user"] = clipName(usm.UserName)
		}
	}
	var out, long strings.Builder
	out.WriteString(name)
	if name == "linkDown" || name == "linkUp" {
		out.WriteString(" " + resource)
	}
	tags := 0
	for _, vb := range vbs {
		if vb.oid == oidSnmpTrapOID0 || vb.oid == oidSysUpTime0 {
			if vb.oid == oidSysUpTime0 {
				ev.Tags["sysuptime"] = vb.value
			}
		} else {
			// The enterprise is in the trap OID already.
			if out.Len() < maxTrapOutput && vb.oid != oidSnmpTrapEnterprise0 {
				out.WriteString(" " + vb.name + "=" + vb.value)
			}
			if tags < maxTrapVarbindTags {
				if _, dup := ev.Tags[vb.name]; !dup {
					ev.Tags[clipName(vb.name)] = clipString(vb.value, maxTrapTagValue)
					tags++
				}
			}
		}
		if long.Len() < maxTrapLongOutput {
			fmt.Fprintf(&long, "%s = %s: %s\n", vb.oid, vb.typ, vb.value)
		}
	}
	ev.Output = clipString(out.String(), maxTrapOutput)
	ev.LongOutput = clipString(strings.TrimSuffix(long.String(), "\n"), maxTrapLongOutput)
	return ev, nil
}

// linkResource names the interface of a linkDown or linkUp trap, the same
// for both so that linkUp resolves linkDown's alarm: its ifDescr or
// ifName varbind, else "if<ifIndex>", else "link".
func linkResource(vars []gosnmp.SnmpPDU) string {
	var descr, ifName, index string
	for _, v := range vars {
		oid := strings.TrimPrefix(v.Name, ".")
		switch {
		case strings.HasPrefix(oid, oidIfDescr):
			descr = readVarbind(v).value
		case strings.HasPrefix(oid, oidIfName):
			ifName = readVarbind(v).value
		case strings.HasPrefix(oid, oidIfIndex):
			if n, ok := v.Value.(int); ok {
				index = strconv.Itoa(n)
			}
		case strings.HasPrefix(oid, oidIfAdminStatus), strings.HasPrefix(oid, oidIfOperStatus):
			// The index is the instance of the status objects.
			if index == "" {
				index = oid[strings.LastIndexByte(oid, '.')+1:]
			}
		}
	}
	for _, s := range []string{descr, ifName} {
		if s != "" && !strings.HasPrefix(s, "0x") {
			return clipName(s)
		}
	}
	if index != "" {
		return "if" + index
	}
	return "link"
}

// oidName names an OID from the table, keeping the instance after the
// name ("ifDescr.3"); unknown OIDs stay numeric.
func oidName(oid string) string {
	oid = strings.TrimPrefix(oid, ".")
	if n, ok := trapOIDNames[oid]; ok {
		return n
	}
	for i := len(oid) - 1; i > 0; i-- {
		if oid[i] != '.' {
			continue
		}
		if n, ok := trapOIDNames[oid[:i]]; ok {
			return n + oid[i:]
		}
	}
	return oid
}

// readVarbind renders a varbind's value for people: text when it is
// printable, else hex; OIDs named; interface states spelled out.
func readVarbind(v gosnmp.SnmpPDU) varbind {
	oid := strings.TrimPrefix(v.Name, ".")
	vb := varbind{oid: oid, name: oidName(oid), typ: v.Type.String()}
	if strings.HasPrefix(oid, oidSnmpTrapCommunity) {
		// A proxy forwards the community of the original trap: a secret.
		vb.value = "(hidden)"
		return vb
	}
	switch x := v.Value.(type) {
	case nil:
		vb.value = ""
	case []byte:
		vb.value = printable(x)
	case string:
		if v.Type == gosnmp.ObjectIdentifier {
			vb.value = oidName(x)
		} else {
			vb.value = printable([]byte(x))
		}
	case int:
		vb.value = strconv.Itoa(x)
		if strings.HasPrefix(oid, oidIfAdminStatus) || strings.HasPrefix(oid, oidIfOperStatus) {
			if s, ok := ifStatus[x]; ok {
				vb.value = s
			}
		}
	default:
		vb.value = fmt.Sprint(x)
	}
	vb.value = clipString(vb.value, 1024)
	return vb
}

// printable is b as text when it is printable UTF-8, else as hex (MAC
// addresses, binary counters), so that outputs stay readable and valid.
func printable(b []byte) string {
	if utf8.Valid(b) {
		ok := true
		for _, r := range string(b) {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
				ok = false
				break
			}
		}
		if ok {
			return string(b)
		}
	}
	return "0x" + fmt.Sprintf("%x", b)
}

// clipString bounds s to n bytes, keeping it valid UTF-8.
func clipString(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\ufffd")
}
