// Package http owns Herald's HTTP API: the chi router with its global
// middleware (request ids, structured access logs, Prometheus metrics, panic
// recovery, bearer authentication), the operations endpoints (/healthz,
// /readyz, /metrics, /api/openapi.yaml), and what every area's handlers share —
// RFC 9457 problem documents with the stable codes of API.md (problemFor is
// the one place errors become statuses), the strict JSON body decoder, paging
// and cursors, X-Event-Position and X-Min-Position, the Principal and the
// authorization policy (policy.go). One route table (routes.go) lists
// every endpoint. Callers import it as
// `api "github.com/heraldmail/herald/http"`.
package http
