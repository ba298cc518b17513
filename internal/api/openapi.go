package api

import (
	_ "embed"
	"net/http"
)

// openapiDoc is the published API contract; TestOpenAPICoversRoutes keeps it
// in step with the routes.
//
//go:embed openapi.json
var openapiDoc []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiDoc)
}
