package http

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Areas are the handlers of the API's areas; routes.go routes them.
type Areas struct {
	Identity  *Identity  // auth, /me, users
	Resources *Resources // clients, messages, mailings, the public stats and home page
	Sending   *Sending   // dispatch and attempts of a mailing
	History   *History   // a mailing's audit history
	Reports   *Reports   // reports
}

// Config is what the router needs; internal/app fills it in.
type Config struct {
	// Logger is the base logger; each request gets a child with its id.
	Logger zerolog.Logger
	// Authenticator resolves bearer tokens; nil makes every token invalid.
	Authenticator Authenticator
	// Waiter serves X-Min-Position; nil answers 503 projection_lag to
	// requests that send the header (read-your-writes is then unavailable).
	Waiter Waiter
	// MinPositionTimeout bounds an X-Min-Position wait (default 5s, the API contract).
	MinPositionTimeout time.Duration
	// Checkers are run by /readyz.
	Checkers []Checker
	// Areas serve the API's endpoints; a nil area's routes answer 500
	// (tests of the middleware run without them).
	Areas
	// Pages is the web interface, the second front door: it mounts its own
	// route table on the same router, behind the same middleware. Nil
	// serves the JSON API alone.
	Pages interface{ Mount(r chi.Router) }
	// Registry receives the HTTP metrics and is served at /metrics. Nil
	// means a fresh registry with the Go and process collectors; cmd/herald
	// passes one shared with the background components.
	Registry *prometheus.Registry
}

// deps are router-wide values handlers reach through the request context.
type deps struct {
	waiter      Waiter
	waitTimeout time.Duration
}

func depsOf(ctx context.Context) deps {
	if info := infoOf(ctx); info != nil && info.deps != nil {
		return *info.deps
	}
	return deps{}
}

// NewRouter builds the HTTP handler: global middleware, the route table
// (routes.go), and problem documents for 404 and 405. It panics only on
// programming errors (a metric registered twice in cfg.Registry).
func NewRouter(cfg Config) http.Handler {
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	metrics, err := newHTTPMetrics(reg)
	if err != nil {
		panic("http: register metrics: " + err.Error())
	}
	d := deps{waiter: cfg.Waiter, waitTimeout: cfg.MinPositionTimeout}
	if d.waitTimeout <= 0 {
		d.waitTimeout = 5 * time.Second
	}

	r := chi.NewRouter()
	// Outermost first: metrics and the access log must see the status the
	// recoverer writes after a panic.
	r.Use(requestContext(cfg.Logger, &d))
	r.Use(metrics.middleware)
	r.Use(accessLog)
	r.Use(recoverer)
	r.Use(authenticate(cfg.Authenticator))
	r.Use(apiHeaders)
	pages, _ := cfg.Pages.(BodyLimiter)
	r.Use(limitBody(pages))

	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		respondError(w, r, problem(CodeNotFound, "no such endpoint: "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		respondError(w, r, problem(CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
	})

	routes(r, cfg.Areas, operations{checkers: cfg.Checkers, metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})})
	if cfg.Pages != nil {
		cfg.Pages.Mount(r)
	}
	return r
}
