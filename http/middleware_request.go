package http

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// HeaderRequestID carries the request id both ways. The id is a UUID and
// is the correlation of every event the request's commands append: a
// client may send its own; anything else is replaced by a fresh UUID v7.
const HeaderRequestID = "X-Request-ID"

// requestInfo is per-request state shared by the middlewares, carried in
// the one context value requestContext adds: the request id, the router's
// deps, and the body limit limitBody decided.
type requestInfo struct {
	id        uuid.UUID
	deps      *deps
	bodyLimit int64 // 0 until limitBody runs: maxBodyBytes
}

type requestInfoKey struct{}

func infoOf(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if info := infoOf(ctx); info != nil {
		return info.id.String()
	}
	return ""
}

// Correlation is the correlation id of the commands of the request ctx
// belongs to: its request id (a fresh UUID v7 outside a request).
func Correlation(ctx context.Context) uuid.UUID {
	if info := infoOf(ctx); info != nil {
		return info.id
	}
	return uuid.Must(uuid.NewV7())
}

// requestID reads a client's X-Request-ID: kept when it is a UUID in its
// usual 36-character form (not the nil UUID, which correlates nothing).
func requestID(header string) (uuid.UUID, bool) {
	if len(header) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(header)
	return id, err == nil && id != uuid.Nil
}

// requestContext gives every request an id (echoed in X-Request-ID), the
// router's deps and a logger carrying the id in the context, where
// zerolog.Ctx finds it.
func requestContext(base zerolog.Logger, d *deps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := requestID(r.Header.Get(HeaderRequestID))
			if !ok {
				id = uuid.Must(uuid.NewV7())
			}
			idText := id.String()
			w.Header().Set(HeaderRequestID, idText)
			log := base.With().Str("request_id", idText).Logger()
			ctx := context.WithValue(r.Context(), requestInfoKey{}, &requestInfo{id: id, deps: d})
			ctx = log.WithContext(ctx)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// routeOf is the chi pattern that served r ("/api/v1/clients/{id}"), or
// "unmatched"; metrics and logs use it so ids do not explode cardinality.
func routeOf(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// quietRoutes are logged at debug: probes and scrapes would drown the log.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// accessLog writes one structured line per request: method, path (never the
// query, which may hold tokens), route, status, bytes, duration, request id,
// user id (which authenticate adds to the request's logger). No bodies and
// no Authorization header are logged.
func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		log := zerolog.Ctx(r.Context())
		route := routeOf(r)
		var ev *zerolog.Event
		switch {
		case status >= 500:
			ev = log.Error()
		case quietRoutes[route]:
			ev = log.Debug()
		default:
			ev = log.Info()
		}
		ev = ev.Str("method", r.Method).Str("path", r.URL.Path).Str("route", route).
			Int("status", status).Int("bytes", ww.BytesWritten()).Dur("duration", time.Since(start))
		ev.Msg("http request")
	})
}

// recoverer turns a panic into a logged 500 problem (when nothing was
// written yet) instead of a dropped connection.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // net/http's own way to abort a response
			}
			zerolog.Ctx(r.Context()).Error().Str("panic", panicText(v)).Bytes("stack", debug.Stack()).
				Str("method", r.Method).Str("path", r.URL.Path).Msg("handler panicked")
			if ww, ok := w.(middleware.WrapResponseWriter); ok && ww.Status() != 0 {
				return // the status line is gone; nothing more can be said
			}
			respondError(w, r, problem(CodeInternal, "the server failed to handle the request; quote the request_id when reporting it"))
		}()
		next.ServeHTTP(w, r)
	})
}

func panicText(v any) string {
	switch x := v.(type) {
	case error:
		return x.Error()
	case string:
		return x
	}
	return "non-error panic value"
}
