package checks

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

type dnsCheck struct {
	name       string
	qtype      uint16
	server     string
	expect     []string
	proto      string
	warn, crit *Range
	timeout    time.Duration
}

func newDNS(p *params, o Options) (Checker, error) {
	c := &dnsCheck{timeout: o.Timeout}
	c.name = p.str("name", "")
	if c.name == "" {
		p.fail("name", "is required (the name to look up)")
	}
	t := strings.ToUpper(p.str("type", "A"))
	qt, ok := dns.StringToType[t]
	if !ok {
		p.fail("type", "unknown record type %q", t)
	}
	c.qtype = qt
	c.server = p.str("server", "")
	if c.server == "" {
		if cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cfg.Servers) > 0 {
			c.server = net.JoinHostPort(cfg.Servers[0], cfg.Port)
		} else {
			c.server = "127.0.0.1:53"
		}
	} else if _, _, err := net.SplitHostPort(c.server); err != nil {
		c.server = net.JoinHostPort(strings.Trim(c.server, "[]"), "53")
	}
	c.expect = p.strs("expect")
	c.proto = p.str("protocol", "udp")
	if c.proto != "udp" && c.proto != "tcp" {
		p.fail("protocol", "must be udp or tcp")
	}
	c.warn, c.crit = p.threshold("warning"), p.threshold("critical")
	return c, p.err
}

func (c *dnsCheck) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return timed(func() Result {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(c.name), c.qtype)
		m.RecursionDesired = true
		cl := &dns.Client{Net: c.proto, Timeout: c.timeout}
		start := time.Now()
		in, _, err := cl.ExchangeContext(ctx, m, c.server)
		secs := time.Since(start).Seconds()
		qt := dns.TypeToString[c.qtype]
		if err != nil {
			return Result{State: Critical, Output: fmt.Sprintf("DNS CRITICAL - %s %s via %s: %s", c.name, qt, c.server, shortNetErr(err))}
		}
		if in.Rcode != dns.RcodeSuccess {
			return Result{State: Critical, Output: fmt.Sprintf("DNS CRITICAL - %s %s via %s: %s", c.name, qt, c.server, dns.RcodeToString[in.Rcode])}
		}
		var answers []string
		for _, rr := range in.Answer {
			if rr.Header().Rrtype != c.qtype {
				continue
			}
			// The record's data, without the header (name, ttl, class).
			full := rr.String()
			hdr := rr.Header().String()
			answers = append(answers, strings.TrimSpace(strings.TrimPrefix(full, hdr)))
		}
		r := Result{State: OK}
		if len(answers) == 0 {
			r.State = Critical
		}
		missing := []string{}
		for _, want := range c.expect {
			found := false
			for _, a := range answers {
				if strings.Contains(a, want) {
					found = true
				}
			}
			if !found {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			r.State = Critical
		}
		withTimeThresholds(&r, secs, c.warn, c.crit)
		out := fmt.Sprintf("DNS %s - %.3f seconds response time, %s %s returns %s", r.State, secs, c.name, qt, strings.Join(answers, ", "))
		if len(answers) == 0 {
			out = fmt.Sprintf("DNS CRITICAL - %s has no %s record (%.3f seconds)", c.name, qt, secs)
		}
		if len(missing) > 0 {
			out += fmt.Sprintf(" - expected %s not found", strings.Join(missing, ", "))
		}
		r.Output = out
		return r
	})
}
