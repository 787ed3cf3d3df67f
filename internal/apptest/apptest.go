// Package apptest starts the whole Herald application for component tests:
// a fresh migrated PostgreSQL database, the shared test Redis under a unique
// topic prefix, an in-process SMTP sink, the HTTP API on a loopback port and
// every background component (relay, projectors, scheduler, sender), wired
// exactly as `herald serve` wires them. Every exchange of Env.HTTP (and so
// of Env.Do) with the API is held to api/openapi.yaml (internal/apicheck):
// a test that gets an answer the document does not promise fails.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/eventstore"
	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/apicheck"
	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// Env is a running application.
type Env struct {
	T    testing.TB
	App  *app.App
	URL  string
	Sink *mail.Sink
	Pool *pgxpool.Pool
	// HTTP is a client of the API whose every exchange under /api/ (and with
	// the probes) is checked against api/openapi.yaml; a breach fails T.
	HTTP *http.Client

	o    options
	vars map[string]string // the environment the configuration is parsed from
	addr string            // the API's listener, kept across Restart
	stop func()            // stops the running application

	contract *apicheck.Document // what HTTP's exchanges with the API are held to
}

type options struct {
	roles    map[string]bool
	now      func() time.Time
	env      map[string]string
	config   []func(*config.Config)
	logLevel zerolog.Level
	logTo    io.Writer
}

// Option changes how Start builds the application.
type Option func(*options)

// WithRoles runs only the given background roles (the API always runs).
func WithRoles(roles ...string) Option {
	return func(o *options) {
		o.roles = map[string]bool{}
		for _, r := range roles {
			o.roles[r] = true
		}
	}
}

// WithNow injects the clock.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithEnv sets environment variables (name, value pairs) the configuration
// is parsed from, over the test defaults (SMTP_URL names the sink, say).
func WithEnv(pairs ...string) Option {
	return func(o *options) {
		if o.env == nil {
			o.env = map[string]string{}
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			o.env[pairs[i]] = pairs[i+1]
		}
	}
}

// WithConfig adjusts the configuration before the application is built.
func WithConfig(f func(*config.Config)) Option {
	return func(o *options) { o.config = append(o.config, f) }
}

// WithLogLevel shows more of the application's log in the test output.
func WithLogLevel(l zerolog.Level) Option { return func(o *options) { o.logLevel = l } }

// WithLogOutput sends the application's log, one JSON object a line, to w
// instead of the test output, for a test that reads it. w must be safe for
// concurrent writes.
func WithLogOutput(w io.Writer) Option { return func(o *options) { o.logTo = w } }

// Start builds and runs the application until t ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := options{roles: map[string]bool{app.RoleProjector: true, app.RoleScheduler: true, app.RoleSender: true}, logLevel: zerolog.WarnLevel}
	for _, f := range opts {
		f(&o)
	}
	sink, err := mail.NewSink(mail.SinkConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	contract, err := apicheck.Herald()
	if err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	e := &Env{T: t, Sink: sink, o: o, addr: ln.Addr().String(), contract: contract}
	e.vars = map[string]string{
		"DATABASE_URL":    testenv.DatabaseURL(t),
		"REDIS_URL":       testenv.RedisURL(),
		"SMTP_URL":        sink.URL(),
		"MAIL_FROM":       "Herald <herald@test.localhost>",
		"PUBLIC_BASE_URL": "http://" + e.addr,
		// A fixed test key: the tokens of one run of the tests are as unguessable as any.
		"UNSUBSCRIBE_SECRET": "apptest-unsubscribe-secret-0123456789",
		"BUS_TOPIC_PREFIX":   testenv.Name("t") + ".",
		"BUS_MAXLEN":         "100000",
		// Every test's requests come from 127.0.0.1: tests that register
		// many accounts must not meet the per-address limit.
		"ACCOUNT_MAIL_ADDR_LIMIT": "100000",
	}
	maps.Copy(e.vars, o.env)
	t.Cleanup(func() { _ = sink.Close() })
	e.boot(ln)
	return e
}

// Restart stops the application as a shutdown would and starts it again on
// the same database, Redis streams, sink and API address: what one process
// held in memory is gone, what it stored is not.
func (e *Env) Restart() {
	e.T.Helper()
	e.stop()
	e.stop = nil
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		e.T.Fatal(err)
	}
	e.boot(ln)
}

func (e *Env) boot(ln net.Listener) {
	t := e.T
	t.Helper()
	log := testenv.Logger(t, e.o.logLevel)
	if e.o.logTo != nil {
		log = zerolog.New(e.o.logTo).Level(e.o.logLevel).With().Timestamp().Logger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := e.vars[k]; return v, ok },
		config.NeedDatabase, config.NeedRedis, config.NeedSMTP, config.NeedPublicURL, config.NeedUnsubscribe)
	if err != nil {
		cancel()
		_ = ln.Close()
		t.Fatal(err)
	}
	for _, f := range e.o.config {
		f(&cfg)
	}
	pool, err := eventstore.OpenPool(ctx, cfg.DatabaseURL)
	if err != nil {
		cancel()
		_ = ln.Close()
		t.Fatal(err)
	}
	rdb := testenv.Redis(t)
	a, err := app.New(app.Deps{Config: cfg, Log: log, Pool: pool, Redis: rdb, Now: e.o.now})
	if err != nil {
		cancel()
		_ = ln.Close()
		pool.Close()
		t.Fatal(err)
	}
	// Stopped before the Redis client and the database go (cleanups run
	// last registered first).
	t.Cleanup(func() {
		if e.stop != nil {
			e.stop()
			e.stop = nil
		}
	})
	srv := httptest.NewUnstartedServer(api.NewRouter(a.HTTPConfig()))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()

	var wg sync.WaitGroup
	for _, c := range a.ComponentsFor(e.o.roles) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("component %s: %v", c.Name, err)
			}
		}()
	}
	// Every exchange with the API is held to api/openapi.yaml: a test that
	// gets an answer the document does not promise fails, naming the
	// operation.
	hc := srv.Client()
	hc.Transport = e.contract.Transport(t, hc.Transport)
	e.App, e.URL, e.Pool, e.HTTP = a, "http://"+e.addr, pool, hc
	e.stop = func() {
		srv.Close()
		cancel()
		wg.Wait()
		a.Close()
		pool.Close()
	}
}

// Response is an HTTP answer, read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v, failing the test on error.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d response %q: %v", r.Status, r.Body, err)
	}
}

// Do sends a request. body may be nil, a string or []byte (sent as is), or
// any value (sent as JSON). headers are name, value pairs.
func (e *Env) Do(method, path string, body any, headers ...string) *Response {
	e.T.Helper()
	return e.do(e.HTTP, method, path, body, headers...)
}

// DoFrom is Do from another loopback address, such as 127.0.0.2: the
// application sees a different client (throttles are kept per address).
// The exchange is held to api/openapi.yaml as Do's are.
func (e *Env) DoFrom(ip, method, path string, body any, headers ...string) *Response {
	e.T.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: dialer.DialContext}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: e.contract.Transport(e.T, tr)}
	return e.do(hc, method, path, body, headers...)
}

func (e *Env) do(hc *http.Client, method, path string, body any, headers ...string) *Response {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(apicheck.ReportTo(context.Background(), e.T), method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := hc.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// Bearer is the Authorization header pair for token.
func Bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }
