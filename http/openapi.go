package http

import (
	"net/http"
	"strconv"

	apidoc "github.com/heraldmail/herald/api"
)

// openAPIDocument serves api/openapi.yaml, embedded in the binary.
func openAPIDocument(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(apidoc.OpenAPI)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(apidoc.OpenAPI)
	}
}
