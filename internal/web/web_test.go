package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

const wantCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	if got := h.Get("Content-Security-Policy"); got != wantCSP {
		t.Errorf("%s: Content-Security-Policy %q, want %q", what, got, wantCSP)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", what, got)
	}
	if got := h.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("%s: Referrer-Policy %q", what, got)
	}
}

func TestHandler(t *testing.T) {
	files := fstest.MapFS{
		"index.html":          {Data: []byte("<html>app</html>")},
		"assets/app-1234.js":  {Data: []byte("console.log(1)")},
		"assets/app-1234.css": {Data: []byte("body{}")},
		"favicon.svg":         {Data: []byte("<svg/>")},
	}
	h := newHandler(files)
	tests := []struct {
		method, path string
		status       int
		body         string // substring of the body
		cache        string // substring of Cache-Control; "" = must be absent
		ctype        string // prefix of Content-Type
	}{
		{"GET", "/", 200, "<html>app</html>", "no-cache", "text/html"},
		{"GET", "/index.html", 200, "<html>app</html>", "no-cache", "text/html"},
		{"GET", "/login", 200, "<html>app</html>", "no-cache", "text/html"},
		{"GET", "/hosts", 200, "<html>app</html>", "no-cache", "text/html"},
		{"GET", "/hosts/12", 200, "<html>app</html>", "no-cache", "text/html"},
		{"GET", "/services/7?from=x", 200, "<html>app</html>", "no-cache", "text/html"},
		{"GET", "/assets/app-1234.js", 200, "console.log(1)", "immutable", "text/javascript"},
		{"GET", "/assets/app-1234.css", 200, "body{}", "max-age=31536000", "text/css"},
		{"HEAD", "/assets/app-1234.js", 200, "", "immutable", "text/javascript"},
		{"GET", "/assets/missing.js", 404, "", "", "text/plain"},
		{"GET", "/assets/deep/missing.css", 404, "", "", "text/plain"},
		{"GET", "/favicon.svg", 200, "<svg/>", "", "image/svg+xml"},
		{"POST", "/", 405, "", "", "text/plain"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		what := tt.method + " " + tt.path
		if rec.Code != tt.status {
			t.Errorf("%s: status %d, want %d", what, rec.Code, tt.status)
		}
		if !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("%s: body %q, want it to contain %q", what, rec.Body.String(), tt.body)
		}
		cc := rec.Header().Get("Cache-Control")
		if (tt.cache == "" && cc != "") || !strings.Contains(cc, tt.cache) {
			t.Errorf("%s: Cache-Control %q, want %q", what, cc, tt.cache)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
			t.Errorf("%s: Content-Type %q, want %q", what, ct, tt.ctype)
		}
		checkSecurityHeaders(t, what, rec.Header())
	}
}

func TestHandlerWithoutBuild(t *testing.T) {
	h := newHandler(fstest.MapFS{".gitkeep": {}})
	for _, p := range []string{"/", "/hosts/1"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "make web") {
			t.Fatalf("%s: unbuilt console: %d %q", p, rec.Code, rec.Body.String())
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		checkSecurityHeaders(t, p, rec.Header())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/assets/app.js", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("missing asset without a build: %d", rec.Code)
	}
}

// The embedded build, whichever it is (the console built or only .gitkeep),
// answers the index or the not-built page with the same headers.
func TestEmbedded(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<html") {
		t.Fatalf("embedded: %d %q", rec.Code, rec.Body.String())
	}
	checkSecurityHeaders(t, "embedded", rec.Header())
}
