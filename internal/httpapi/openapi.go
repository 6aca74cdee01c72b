package httpapi

import (
	_ "embed"
	"net/http"

	"sigs.k8s.io/yaml"
)

// openAPIYAML is the API's description, the single source that tests
// validate every response against.
//
//go:embed openapi/openapi.yaml
var openAPIYAML []byte

// OpenAPI returns the OpenAPI 3.1 description as YAML.
func OpenAPI() []byte { return openAPIYAML }

// openAPIJSON is the description as served, converted once at start-up.
func openAPIJSON() ([]byte, error) { return yaml.YAMLToJSON(openAPIYAML) }

// handleOpenAPI serves GET /openapi.json.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.openapi)
}
