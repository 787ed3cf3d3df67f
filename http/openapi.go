package http

import (
	"net/http"

	apidoc "github.com/heraldmail/herald/api"
)

// openAPIDocument serves api/openapi.yaml, embedded in the binary.
func openAPIDocument(w http.ResponseWriter, r *http.Request) {
	respondDocument(w, r, "application/yaml", apidoc.OpenAPI)
}
