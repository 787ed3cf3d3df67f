package http

import (
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

// bodyLimitOf is the body limit limitBody set for r.
func bodyLimitOf(r *http.Request) int64 {
	if info := infoOf(r.Context()); info != nil && info.bodyLimit > 0 {
		return info.bodyLimit
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
			hasBody := r.Body != nil && r.Body != http.NoBody
			limit := int64(maxBodyBytes)
			// A body declared within the default cannot grow past it
			// (net/http reads no more than Content-Length): only a larger
			// or undeclared one needs its route's limit looked up.
			if r.ContentLength > maxBodyBytes || (r.ContentLength < 0 && hasBody) {
				limit = routeBodyLimit(r, pages)
			}
			if r.ContentLength > limit {
				w.Header().Set("Connection", "close")
				respondError(w, r, problem(CodePayloadTooLarge, fmt.Sprintf("the request body must be at most %d bytes", limit)))
				return
			}
			if hasBody {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			if info := infoOf(r.Context()); info != nil {
				info.bodyLimit = limit
			}
			next.ServeHTTP(w, r)
		})
	}
}

// routeBodyLimit is the body limit of the route r is for: maxBodyBytes
// unless largeBodies or the pages say more.
func routeBodyLimit(r *http.Request, pages BodyLimiter) int64 {
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
	return limit
}
