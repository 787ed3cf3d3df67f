package http

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// HeaderRequestID carries the request id both ways. The id is a UUID and
// is the correlation of every event the request's commands append: a
// client may send its own; anything else is replaced by a fresh UUID v7.
const HeaderRequestID = "X-Request-ID"

// requestInfo is per-request state shared by the middlewares: set by
// requestContext, completed by authenticate (user id), read by accessLog,
// which sits outside authenticate and cannot see the context it makes.
type requestInfo struct {
	id     uuid.UUID
	userID uuid.UUID
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

// requestContext gives every request an id (echoed in X-Request-ID) and a
// logger carrying it in the context, where zerolog.Ctx finds it.
func requestContext(base zerolog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := requestID(r.Header.Get(HeaderRequestID))
			if !ok {
				id = uuid.Must(uuid.NewV7())
			}
			w.Header().Set(HeaderRequestID, id.String())
			log := base.With().Str("request_id", id.String()).Logger()
			ctx := context.WithValue(r.Context(), requestInfoKey{}, &requestInfo{id: id})
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
// user id. No bodies and no Authorization header are logged.
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
		if info := infoOf(r.Context()); info != nil && info.userID != uuid.Nil {
			ev = ev.Str("user_id", info.userID.String())
		}
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

// httpMetrics counts requests and observes durations by route pattern.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_http_request_duration_seconds",
			Help:    "HTTP request duration in seconds, by method and route pattern.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *httpMetrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		route := routeOf(r)
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}

// HeaderMinPosition asks a read to wait until its read models have applied
// this store position (read-your-writes after a command's X-Event-Position).
const HeaderMinPosition = "X-Min-Position"

// minPosition makes a read honour X-Min-Position for the named projectors:
// without the header it does nothing; with it, it waits up to the router's
// MinPositionTimeout (5 s) and answers 503 projection_lag (Retry-After: 1)
// if they are still behind, 400 malformed_header if the header is not a
// non-negative integer.
func minPosition(projectors ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := strings.TrimSpace(r.Header.Get(HeaderMinPosition))
			if raw == "" {
				next.ServeHTTP(w, r)
				return
			}
			pos, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || pos < 0 {
				respondError(w, r, problem(CodeMalformedHeader, HeaderMinPosition+" must be a non-negative integer (a X-Event-Position value)"))
				return
			}
			d := depsOf(r.Context())
			if d.waiter == nil {
				respondError(w, r, projectionLag("this server cannot wait for read models; retry without "+HeaderMinPosition))
				return
			}
			timeout := d.waitTimeout
			if timeout <= 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			err = d.waiter.WaitFor(ctx, projectors, pos)
			expired := ctx.Err() != nil
			cancel()
			switch {
			case err == nil:
				next.ServeHTTP(w, r)
			case r.Context().Err() != nil:
				// The client left; nobody reads the answer.
				zerolog.Ctx(r.Context()).Debug().Err(err).Msg("client left while waiting for read models")
			case expired || errors.Is(err, context.DeadlineExceeded):
				respondError(w, r, projectionLag("the read models have not reached position "+raw+" within "+timeout.String()))
			default:
				respondError(w, r, err)
			}
		})
	}
}

// projectionLag is the 503 of a read whose read models are behind: the
// client may retry in a second.
func projectionLag(detail string) error {
	return &ProblemError{Code: CodeProjectionLag, Detail: detail, Headers: http.Header{"Retry-After": {"1"}}}
}
