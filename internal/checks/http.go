package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds how much of a response body is read (for body_regex).
const maxBody = 1 << 20

type statusRange struct{ lo, hi int }

type httpCheck struct {
	url          string
	method       string
	headers      map[string]string
	body         string
	expect       []statusRange
	bodyRE       *regexp.Regexp
	follow       bool
	maxRedirects int
	warn, crit   *Range
	certWarn     int
	certCrit     int
	client       *http.Client
	timeout      time.Duration
}

func newHTTP(p *params, o Options) (Checker, error) {
	c := &httpCheck{timeout: o.Timeout}
	c.url = p.str("url", "")
	if c.url == "" {
		host := target(p, o)
		useTLS := p.boolean("tls", false)
		scheme, port := "http", 80
		if useTLS {
			scheme, port = "https", 443
		}
		port = p.integer("port", port, 1, 65535)
		path := p.str("path", "/")
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		c.url = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
	} else {
		for _, k := range []string{"address", "port", "path", "tls"} {
			if _, ok := p.spec[k]; ok {
				p.fail(k, "cannot be given with url")
			}
		}
	}
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail("url", "%q is not an http(s) URL", c.url)
	}
	c.method = strings.ToUpper(p.str("method", "GET"))
	switch c.method {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH":
	default:
		p.fail("method", "unknown method %q", c.method)
	}
	c.headers = p.stringMap("headers")
	c.body = p.str("body", "")
	c.expect = parseStatuses(p)
	if re := p.str("body_regex", ""); re != "" {
		if c.bodyRE, err = regexp.Compile(re); err != nil {
			p.fail("body_regex", "%v", err)
		}
	}
	c.follow = p.boolean("follow_redirects", false)
	c.maxRedirects = p.integer("max_redirects", 10, 0, 50)
	c.warn, c.crit = p.threshold("warning"), p.threshold("critical")
	c.certWarn = p.integer("cert_days_warning", 0, 0, 100000)
	c.certCrit = p.integer("cert_days_critical", 0, 0, 100000)
	skip := p.boolean("tls_skip_verify", false)
	c.client = &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: skip},
			DisableKeepAlives:   true, // each check measures a fresh connection, like check_http
			TLSHandshakeTimeout: o.Timeout,
			Proxy:               nil,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !c.follow {
				return http.ErrUseLastResponse
			}
			if len(via) > c.maxRedirects {
				return fmt.Errorf("more than %d redirects", c.maxRedirects)
			}
			return nil
		},
	}
	return c, p.err
}

// parseStatuses reads expect_status: 200, [200, 301], "200-299" or
// "200,301"; the default is 200-399.
func parseStatuses(p *params) []statusRange {
	v, ok := p.spec["expect_status"]
	p.used["expect_status"] = true
	if !ok || v == nil {
		return []statusRange{{200, 399}}
	}
	var items []string
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			items = append(items, fmt.Sprint(e))
		}
	case []string:
		items = t
	case float64:
		items = []string{formatFloat(t)}
	default:
		items = strings.Split(fmt.Sprint(t), ",")
	}
	var out []statusRange
	for _, it := range items {
		it = strings.TrimSpace(it)
		lo, hi, isRange := strings.Cut(it, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
			p.fail("expect_status", "%q is not a status code or range such as 200-299", it)
			return nil
		}
		out = append(out, statusRange{a, b})
	}
	return out
}

func (c *httpCheck) statusOK(code int) bool {
	for _, r := range c.expect {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

func (c *httpCheck) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return timed(func() Result {
		start := time.Now()
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		req, err := http.NewRequestWithContext(ctx, c.method, c.url, body)
		if err != nil {
			return Result{State: Unknown, Output: "HTTP UNKNOWN - " + err.Error()}
		}
		req.Header.Set("User-Agent", "vigie-check/1")
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		resp, err := c.client.Do(req)
		if err != nil {
			var ue *url.Error
			msg := err.Error()
			if errors.As(err, &ue) {
				msg = shortNetErr(ue.Err)
			}
			return Result{State: Critical, Output: fmt.Sprintf("HTTP CRITICAL - %s: %s", c.url, msg)}
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		secs := time.Since(start).Seconds()

		r := Result{State: OK}
		var problems []string
		if !c.statusOK(resp.StatusCode) {
			r.State = Critical
			problems = append(problems, fmt.Sprintf("unexpected status %d", resp.StatusCode))
		}
		if c.bodyRE != nil && !c.bodyRE.Match(data) {
			r.State = Critical
			problems = append(problems, fmt.Sprintf("body does not match %q", c.bodyRE.String()))
		}
		perf := []Perf{{Label: "size", Value: float64(len(data)), Unit: "B", Min: ptr(0.0)}}
		if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
			cert := resp.TLS.PeerCertificates[0]
			days := time.Until(cert.NotAfter).Hours() / 24
			perf = append(perf, Perf{Label: "cert_days", Value: roundTo(days, 1)})
			switch {
			case days < 0:
				r.State = Critical
				problems = append(problems, fmt.Sprintf("certificate expired on %s", cert.NotAfter.UTC().Format("2006-01-02")))
			case c.certCrit > 0 && days < float64(c.certCrit):
				r.State = Critical
				problems = append(problems, fmt.Sprintf("certificate expires in %.0f days", days))
			case c.certWarn > 0 && days < float64(c.certWarn):
				if r.State == OK {
					r.State = Warning
				}
				problems = append(problems, fmt.Sprintf("certificate expires in %.0f days", days))
			}
		}
		r.Perfdata = perf
		withTimeThresholds(&r, secs, c.warn, c.crit)
		out := fmt.Sprintf("HTTP %s - %s %d - %d bytes in %.3f second response time", r.State, resp.Proto, resp.StatusCode, len(data), secs)
		if len(problems) > 0 {
			out += " - " + strings.Join(problems, "; ")
		}
		r.Output = out
		return r
	})
}
