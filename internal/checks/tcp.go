package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

type tcpCheck struct {
	addr       string
	send       string
	expect     string
	useTLS     bool
	skipVerify bool
	warn, crit *Range
	timeout    time.Duration
}

func newTCP(p *params, o Options) (Checker, error) {
	c := &tcpCheck{timeout: o.Timeout}
	if _, ok := p.spec["port"]; !ok {
		p.fail("port", "is required")
	}
	port := p.integer("port", 1, 1, 65535)
	host := target(p, o)
	c.addr = net.JoinHostPort(host, strconv.Itoa(port))
	c.send = p.str("send", "")
	c.expect = p.str("expect", "")
	c.useTLS = p.boolean("tls", false)
	c.skipVerify = p.boolean("tls_skip_verify", false)
	c.warn, c.crit = p.threshold("warning"), p.threshold("critical")
	return c, p.err
}

func (c *tcpCheck) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return timed(func() Result {
		start := time.Now()
		d := net.Dialer{}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return Result{State: Critical, Output: fmt.Sprintf("TCP CRITICAL - %s: %s", c.addr, shortNetErr(err))}
		}
		defer conn.Close()
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		if c.useTLS {
			host, _, _ := net.SplitHostPort(c.addr)
			tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: c.skipVerify})
			if err := tc.HandshakeContext(ctx); err != nil {
				return Result{State: Critical, Output: fmt.Sprintf("TCP CRITICAL - TLS handshake with %s: %s", c.addr, shortNetErr(err))}
			}
			conn = tc
		}
		if c.send != "" {
			if _, err := io.WriteString(conn, c.send); err != nil {
				return Result{State: Critical, Output: fmt.Sprintf("TCP CRITICAL - sending to %s: %s", c.addr, shortNetErr(err))}
			}
		}
		if c.expect != "" {
			got, err := readUntil(conn, c.expect, 64<<10)
			if !strings.Contains(got, c.expect) {
				why := fmt.Sprintf("%q not found in %q", c.expect, truncateStr(got, 60))
				if err != nil && got == "" {
					why = fmt.Sprintf("no answer (%s), expected %q", shortNetErr(err), c.expect)
				}
				return Result{State: Warning, Output: fmt.Sprintf("TCP WARNING - %s: %s", c.addr, why)}
			}
		}
		secs := time.Since(start).Seconds()
		r := Result{State: OK}
		withTimeThresholds(&r, secs, c.warn, c.crit)
		r.Output = fmt.Sprintf("TCP %s - %.3f second response time on %s", r.State, secs, c.addr)
		return r
	})
}

// readUntil reads until want appears, the peer closes, or max bytes.
func readUntil(r io.Reader, want string, max int) (string, error) {
	var b strings.Builder
	buf := make([]byte, 4096)
	for b.Len() < max {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if strings.Contains(b.String(), want) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

// shortNetErr strips the Go plumbing from network errors: "dial tcp
// 127.0.0.1:1: connect: connection refused" becomes "connection refused".
func shortNetErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && !strings.Contains(s, "x509") && !strings.Contains(s, "tls:") {
		return s[i+2:]
	}
	return s
}
