package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	files := fstest.MapFS{
		"index.html":         {Data: []byte("<html>app</html>")},
		"assets/app-1234.js": {Data: []byte("console.log(1)")},
		"favicon.svg":        {Data: []byte("<svg/>")},
	}
	h := newHandler(files)
	tests := []struct {
		path, method string
		status       int
		body, cache  string
	}{
		{"/", "GET", 200, "<html>app</html>", "no-cache"},
		{"/hosts/12", "GET", 200, "<html>app</html>", "no-cache"},
		{"/assets/app-1234.js", "GET", 200, "console.log(1)", "immutable"},
		{"/assets/missing.js", "GET", 404, "", ""},
		{"/favicon.svg", "GET", 200, "<svg/>", ""},
		{"/", "POST", 405, "", ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.body) || !strings.Contains(rec.Header().Get("Cache-Control"), tt.cache) {
			t.Errorf("%s %s: %d %q cache %q", tt.method, tt.path, rec.Code, rec.Body.String(), rec.Header().Get("Cache-Control"))
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: security headers missing: %v", tt.path, rec.Header())
		}
	}
}

func TestHandlerWithoutBuild(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(fstest.MapFS{}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "make build") {
		t.Fatalf("unbuilt console: %d %q", rec.Code, rec.Body.String())
	}
}
