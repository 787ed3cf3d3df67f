package http

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// maxMailingBodyBytes is the body limit of a mailing's create and update:
// client_ids holds up to domain.MaxMailingClients ids (about 3.9 MB of JSON).
const maxMailingBodyBytes = 8 << 20

// largeBodies are the API routes whose bodies may exceed maxBodyBytes.
var largeBodies = map[string]int64{
	"POST /api/v1/clients/import": maxImportBytes,
	"POST /api/v1/mailings":       maxMailingBodyBytes,
	"PUT /api/v1/mailings/{id}":   maxMailingBodyBytes,
	"PATCH /api/v1/mailings/{id}": maxMailingBodyBytes,
}

// BodyLimiter is implemented by a second front door (Config.Pages) whose
// routes take larger bodies than maxBodyBytes: BodyLimit is their limit, 0
// for the default.
type BodyLimiter interface {
	BodyLimit(r *http.Request) int64
}

type bodyLimitKey struct{}

// bodyLimitOf is the body limit limitBody set for r.
func bodyLimitOf(r *http.Request) int64 {
	if n, ok := r.Context().Value(bodyLimitKey{}).(int64); ok {
		return n
	}
	return maxBodyBytes
}

// limitBody caps every request body at its route's limit (maxBodyBytes
// unless largeBodies or the pages say more): a declared length over it is
// a 413 before anything else runs, and reading past it fails with
// *http.MaxBytesError, which answers 413 too.
func limitBody(pages BodyLimiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			limit := int64(maxBodyBytes)
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.Routes != nil {
				if mux, ok := rc.Routes.(interface {
					Find(*chi.Context, string, string) string
				}); ok {
					if n, ok := largeBodies[r.Method+" "+mux.Find(chi.NewRouteContext(), r.Method, r.URL.Path)]; ok {
						limit = n
					}
				}
			}
			if pages != nil {
				if n := pages.BodyLimit(r); n > limit {
					limit = n
				}
			}
			if r.ContentLength > limit {
				w.Header().Set("Connection", "close")
				respondError(w, r, problem(CodePayloadTooLarge, fmt.Sprintf("the request body must be at most %d bytes", limit)))
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, limit)))
		})
	}
}
