// Package api holds Herald's public API description, openapi.yaml (OpenAPI
// 3.1), embedded so the binary serves it at GET /api/openapi.yaml. Every
// area adds its paths to that file; the http package serves it.
package api

import _ "embed"

// OpenAPI is the content of openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
