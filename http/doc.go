// Package http is the door of Herald's JSON API. It owns the chi router with
// its one route table (routes.go, in the order of the API reference), the
// global middleware (request ids, which are the correlation of the
// commands a request makes; structured access logs; Prometheus metrics;
// panic recovery; the bearer token resolved through an Authenticator and
// required by requireAuth; X-Min-Position), the operations endpoints
// (/healthz, /readyz, /metrics, /api/openapi.yaml and /api/docs, the API
// reference page that renders it with a vendored Redoc), and thin handlers, one
// file per endpoint named <thing>_<action>.go, that read a request, call the
// core and answer. What they share lives in one file each: reading requests
// (request_decode.go: the strict JSON body; request_params.go: path ids,
// If-Match, paging), writing answers (respond.go: JSON, command answers with
// X-Event-Position, pages, RFC 9457 problems; problem.go maps errors to the
// stable codes of the API contract) and who may do what (policy.go). Accounts,
// sessions and what a token resolves to belong to package identity; the
// commands decide what changes. Callers import it as
// `api "github.com/heraldmail/herald/http"`.
package http
