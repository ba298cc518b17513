package remote

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Target is one remote-write receiver.
type Target struct {
	// Name identifies the target in metrics, logs and the queue's
	// directory.
	Name string
	URL  string
	// BearerToken, or Username and Password, authenticate; Headers are
	// added to every request. None of them is ever logged.
	BearerToken        string
	Username, Password string
	Headers            map[string]string
	// Timeout bounds one request (default 30 s).
	Timeout       time.Duration
	TLSSkipVerify bool
}

// LogValue keeps secrets out of logs even when a Target is logged whole.
func (t Target) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", t.Name), slog.String("url", redactURL(t.URL)))
}

// Client sends remote-write requests to one target.
type Client struct {
	t  Target
	hc *http.Client
}

// NewClient builds a client for t.
func NewClient(t Target) (*Client, error) {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote write %s: url must be an http:// or https:// URL", t.Name)
	}
	if u.User != nil {
		return nil, fmt.Errorf("remote write %s: url must not carry credentials; use basic_auth", t.Name)
	}
	if t.Timeout <= 0 {
		t.Timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: t.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: t.TLSSkipVerify, MinVersion: tls.VersionTLS12},
	}
	return &Client{t: t, hc: &http.Client{Transport: tr, Timeout: t.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// SendError is a failed request: Retry says whether it may succeed later
// (network errors, 5xx, 429, and the answers of a misconfigured target:
// see retryable4xx), RetryAfter what the receiver asked for.
type SendError struct {
	Status     int
	Retry      bool
	RetryAfter time.Duration
	msg        string
}

func (e *SendError) Error() string { return e.msg }

// retryable4xx are answers that say nothing of the data: the receiver is
// busy (429, 408), or the target is misconfigured or not there yet (401,
// 403, 404), which an administrator fixes. Their batches stay queued and
// are sent again; any other 4xx refuses the data itself, forever.
var retryable4xx = map[int]bool{
	http.StatusTooManyRequests: true, http.StatusRequestTimeout: true,
	http.StatusUnauthorized: true, http.StatusForbidden: true, http.StatusNotFound: true,
}

// maxAnswer bounds how much of an error answer is read and kept.
const maxAnswer = 512

// Send posts one snappy-compressed WriteRequest. Errors are *SendError
// and never contain the target's credentials.
func (c *Client) Send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.t.URL, bytes.NewReader(body))
	if err != nil {
		return &SendError{msg: c.scrub(fmt.Sprintf("building the request: %v", err))}
	}
	for k, v := range c.t.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Content-Encoding", ContentEncoding)
	req.Header.Set("X-Prometheus-Remote-Write-Version", ProtocolVersion)
	req.Header.Set("User-Agent", "vigie-remote-write")
	switch {
	case c.t.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.t.BearerToken)
	case c.t.Username != "":
		req.SetBasicAuth(c.t.Username, c.t.Password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, query string included
		}
		return &SendError{Retry: true, msg: c.scrub(fmt.Sprintf("posting to %s: %v", redactURL(c.t.URL), err))}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := &SendError{Status: resp.StatusCode}
	e.Retry = resp.StatusCode >= 500 || retryable4xx[resp.StatusCode]
	e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	text := strings.TrimSpace(strings.ToValidUTF8(string(answer), "?"))
	e.msg = c.scrub(fmt.Sprintf("%s answered %s: %s", redactURL(c.t.URL), resp.Status, text))
	return e
}

// scrub removes the credentials from a message, should a receiver echo
// them.
func (c *Client) scrub(s string) string {
	basic := ""
	if c.t.Username != "" {
		basic = base64.StdEncoding.EncodeToString([]byte(c.t.Username + ":" + c.t.Password))
	}
	for _, secret := range []string{c.t.BearerToken, c.t.Password, basic} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "<secret>")
		}
	}
	for _, v := range c.t.Headers {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "<header>")
		}
	}
	return s
}

// redactURL drops the query string, which may carry a key.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.User = nil
	return u.String()
}

// retryAfter reads Retry-After: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
