package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestOpenAPIGolden makes every change of the published contract visible:
// run `go test ./internal/api -run OpenAPI -update` after a deliberate one.
func TestOpenAPIGolden(t *testing.T) {
	got := OpenAPI()
	const golden = "testdata/openapi.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the OpenAPI document changed; if deliberate, run go test ./internal/api -run OpenAPI -update")
	}
}

func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Summary   string         `json:"summary"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range routePatterns() {
		method, path, _ := strings.Cut(p, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s is not documented", p)
			continue
		}
		if op.Summary == "" || len(op.Responses) < 2 {
			t.Errorf("%s lacks a summary or responses", p)
		}
	}
	// Every schema referenced exists.
	b := OpenAPI()
	for _, part := range strings.Split(string(b), `"#/components/schemas/`)[1:] {
		name, _, _ := strings.Cut(part, `"`)
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("schema %q referenced but not defined", name)
		}
	}
}
