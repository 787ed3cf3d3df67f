package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	apidoc "github.com/heraldmail/herald/api"
	"github.com/heraldmail/herald/projections"
)

// syncBuffer collects log lines written from handler goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

var testUser = Principal{UserID: uuid.MustParse("0193f000-0000-7000-8000-000000000001"), Email: "u@example.com"}

// testRoutes exercise what the route table does: full paths, requireAuth,
// minPosition, behind the global middleware.
func testRoutes(r chi.Router) {
	r.Get("/test/page", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "page") })
	r.Get("/api/v1/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	r.Get("/api/v1/panic-after-write", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(202)
		panic(errors.New("late boom"))
	})
	r.With(minPosition("things")).Get("/api/v1/public", func(w http.ResponseWriter, r *http.Request) {
		respond(w, r, 200, map[string]string{"public": "yes"})
	})
	r.Get("/api/v1/abort", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	r.Route("/api/v1/things", func(r chi.Router) {
		r.Use(requireAuth)
		r.With(minPosition("things")).Get("/{id}", func(w http.ResponseWriter, r *http.Request) {
			respond(w, r, 200, map[string]string{"id": chi.URLParam(r, "id"), "user": principal(r).Email})
		})
		r.Post("/", func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Name string `json:"name" validate:"required"`
			}
			if err := decode(w, r, &body); err != nil {
				respondError(w, r, err)
				return
			}
			respond(w, r, 201, body)
		})
	})
}

func newTestRouter(t *testing.T, cfg Config) (http.Handler, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	cfg.Logger = zerolog.New(buf).Level(zerolog.DebugLevel)
	if cfg.Authenticator == nil {
		cfg.Authenticator = AuthenticatorFunc(func(ctx context.Context, token string) (Principal, error) {
			if token == "t0ken-secret" {
				return testUser, nil
			}
			return Principal{}, &ProblemError{Status: 401, Code: CodeUnauthenticated}
		})
	}
	mux, ok := NewRouter(cfg).(*chi.Mux)
	if !ok {
		t.Fatal("the router is not a chi mux")
	}
	testRoutes(mux)
	return mux, buf
}

func do(h http.Handler, method, target string, body string, hdr ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRouterBasics(t *testing.T) {
	h, logs := newTestRouter(t, Config{})

	rec := do(h, "GET", "/test/page", "")
	if rec.Code != 200 || rec.Body.String() != "page" {
		t.Fatalf("a route: %d %q", rec.Code, rec.Body)
	}
	if id, err := uuid.Parse(rec.Header().Get(HeaderRequestID)); err != nil || id.Version() != 7 {
		t.Fatalf("request id %q is not a UUID v7 (%v)", rec.Header().Get(HeaderRequestID), err)
	}

	rec = do(h, "GET", "/healthz", "")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", rec.Code, rec.Body)
	}

	rec = do(h, "GET", "/nope", "")
	if rec.Code != 404 || readProblem(t, rec).Code != CodeNotFound {
		t.Fatalf("404: %d", rec.Code)
	}
	rec = do(h, "DELETE", "/healthz", "")
	if rec.Code != 405 || readProblem(t, rec).Code != CodeMethodNotAllowed {
		t.Fatalf("405: %d", rec.Code)
	}

	rec = do(h, "GET", "/api/openapi.yaml", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/yaml" || !bytes.Equal(rec.Body.Bytes(), apidoc.OpenAPI) ||
		!strings.HasPrefix(rec.Body.String(), "openapi: 3.1") {
		t.Fatalf("openapi: %d %q", rec.Code, rec.Header())
	}

	// A client's own request id is kept when it is a UUID; anything else
	// (a hostile one too) is replaced by a fresh one.
	own := uuid.NewString()
	rec = do(h, "GET", "/healthz", "", HeaderRequestID, own)
	if rec.Header().Get(HeaderRequestID) != own {
		t.Fatal("client request id not echoed")
	}
	for _, bad := range []string{"abc-123", "bad id\n{}", uuid.Nil.String(), "{" + own + "}"} {
		rec = do(h, "GET", "/healthz", "", HeaderRequestID, bad)
		if got, err := uuid.Parse(rec.Header().Get(HeaderRequestID)); err != nil || got.String() == own || got == uuid.Nil {
			t.Fatalf("request id %q answered %q", bad, rec.Header().Get(HeaderRequestID))
		}
	}

	// Authenticated route with the access log checked for leaks.
	req1 := uuid.NewString()
	rec = do(h, "GET", "/api/v1/things/42?token=query-secret", "", "Authorization", "Bearer t0ken-secret", HeaderRequestID, req1)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"user":"u@example.com"`) {
		t.Fatalf("auth route: %d %s", rec.Code, rec.Body)
	}
	var line map[string]any
	for _, l := range logs.lines(t) {
		if l["request_id"] == req1 && l["message"] == "http request" {
			line = l
		}
	}
	if line == nil {
		t.Fatalf("no access log line for %s", req1)
	}
	logs.mu.Lock()
	for l := range strings.SplitSeq(logs.b.String(), "\n") {
		if strings.Contains(l, req1) && strings.Contains(l, `"message":"http request"`) && strings.Count(l, `"user_id"`) != 1 {
			t.Fatalf("access log line names the user %d times: %s", strings.Count(l, `"user_id"`), l)
		}
	}
	logs.mu.Unlock()
	if line["method"] != "GET" || line["path"] != "/api/v1/things/42" || line["route"] != "/api/v1/things/{id}" ||
		line["status"] != 200.0 || line["user_id"] != testUser.UserID.String() || line["level"] != "info" {
		t.Fatalf("access log fields: %v", line)
	}
	if _, ok := line["duration"].(float64); !ok {
		t.Fatalf("access log without duration: %v", line)
	}
	logs.mu.Lock()
	all := logs.b.String()
	logs.mu.Unlock()
	for _, secret := range []string{"t0ken-secret", "query-secret"} {
		if strings.Contains(all, secret) {
			t.Fatalf("log leaks %q:\n%s", secret, all)
		}
	}

	rec = do(h, "GET", "/api/v1/things/42", "")
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", rec.Code)
	}
	rec = do(h, "POST", "/api/v1/things/", `{"name":""}`, "Authorization", "Bearer t0ken-secret", "Content-Type", "application/json")
	if rec.Code != 422 || readProblem(t, rec).Errors[0].Field != "name" {
		t.Fatalf("decode through the router: %d %s", rec.Code, rec.Body)
	}
}

func TestRouterRecoversPanics(t *testing.T) {
	h, logs := newTestRouter(t, Config{})
	panic1 := uuid.NewString()
	rec := do(h, "GET", "/api/v1/panic", "", HeaderRequestID, panic1)
	if rec.Code != 500 {
		t.Fatalf("panic: %d", rec.Code)
	}
	p := readProblem(t, rec)
	if p.Code != CodeInternal || p.RequestID != panic1 || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic problem: %+v", p)
	}
	var sawPanic, sawAccess bool
	for _, l := range logs.lines(t) {
		if l["request_id"] != panic1 {
			continue
		}
		if l["message"] == "handler panicked" && l["panic"] == "boom" && l["stack"] != nil {
			sawPanic = true
		}
		if l["message"] == "http request" && l["status"] == 500.0 && l["level"] == "error" {
			sawAccess = true
		}
	}
	if !sawPanic || !sawAccess {
		t.Fatalf("panic logged %v, access logged as 500 %v", sawPanic, sawAccess)
	}

	// After the status line went out, the recoverer must not write another.
	rec = do(h, "GET", "/api/v1/panic-after-write", "")
	if rec.Code != 202 || rec.Body.Len() != 0 {
		t.Fatalf("panic after write: %d %q", rec.Code, rec.Body)
	}

	// http.ErrAbortHandler keeps net/http's meaning: the connection is dropped.
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/abort")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("ErrAbortHandler answered %d instead of aborting", resp.StatusCode)
	}
	// …and the server survives every one of them.
	resp, err = http.Get(srv.URL + "/api/v1/panic")
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("after panics: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestRouterMetrics(t *testing.T) {
	h, _ := newTestRouter(t, Config{})
	for range 3 {
		do(h, "GET", "/api/v1/things/"+uuid.NewString(), "", "Authorization", "Bearer t0ken-secret")
	}
	do(h, "GET", "/api/v1/panic", "")
	do(h, "GET", "/no/such/thing", "")
	rec := do(h, "GET", "/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("metrics: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`herald_http_requests_total{method="GET",route="/api/v1/things/{id}",status="2xx"} 3`,
		`herald_http_requests_total{method="GET",route="/api/v1/panic",status="5xx"} 1`,
		`herald_http_requests_total{method="GET",route="unmatched",status="4xx"} 1`,
		`herald_http_request_duration_seconds_count{method="GET",route="/api/v1/things/{id}"} 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Invented methods and paths add no series: 5,000 of them leave /metrics
// holding the same label values as one.
func TestRouterMetricsBounded(t *testing.T) {
	h, _ := newTestRouter(t, Config{})
	for i := range 5000 {
		do(h, fmt.Sprintf("X%dY", i), fmt.Sprintf("/api/v1/things/%d/../nope%d", i, i), "")
	}
	do(h, "BREW", "/healthz", "")
	body := do(h, "GET", "/metrics", "").Body.String()
	var series int
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "herald_http_requests_total{") {
			series++
			if !strings.Contains(l, `method="OTHER"`) && !strings.Contains(l, `method="GET"`) {
				t.Errorf("a method outside the fixed set: %s", l)
			}
			if !regexp.MustCompile(`status="[1-5]xx"`).MatchString(l) {
				t.Errorf("a status that is not a class: %s", l)
			}
		}
	}
	if series > 3 {
		t.Fatalf("%d request series after 5,000 invented requests; want at most 3:\n%s", series, body)
	}
}

// An anonymous caller's X-Min-Position is ignored (it wrote nothing to read
// back, and a wait would hold the request); a position past the store's
// last event answers 400 at once rather than after the timeout.
func TestMinPositionBounded(t *testing.T) {
	var waits atomic.Int64
	waiter := WaiterFunc(func(ctx context.Context, projectors []string, position int64) error {
		waits.Add(1)
		if position > 100 {
			return fmt.Errorf("%w: position %d", projections.ErrPositionAhead, position)
		}
		<-ctx.Done()
		return ctx.Err()
	})
	h, _ := newTestRouter(t, Config{Waiter: waiter, MinPositionTimeout: time.Hour})
	if rec := do(h, "GET", "/api/v1/public", "", HeaderMinPosition, "50"); rec.Code != 200 || waits.Load() != 0 {
		t.Fatalf("anonymous X-Min-Position: %d after %d waits, want 200 without waiting", rec.Code, waits.Load())
	}
	rec := do(h, "GET", "/api/v1/things/1", "", "Authorization", "Bearer t0ken-secret", HeaderMinPosition, "101")
	if rec.Code != 400 || readProblem(t, rec).Code != CodeMalformedHeader {
		t.Fatalf("a position past the store: %d %s", rec.Code, rec.Body)
	}
}

func TestMinPosition(t *testing.T) {
	var (
		mu      sync.Mutex
		applied int64 = 10
		asked   []string
	)
	waiter := WaiterFunc(func(ctx context.Context, projectors []string, position int64) error {
		mu.Lock()
		asked = projectors
		mu.Unlock()
		for {
			mu.Lock()
			ok := applied >= position
			mu.Unlock()
			if ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	h, _ := newTestRouter(t, Config{Waiter: waiter, MinPositionTimeout: 150 * time.Millisecond})
	get := func(pos string) *httptest.ResponseRecorder {
		hdr := []string{"Authorization", "Bearer t0ken-secret"}
		if pos != "" {
			hdr = append(hdr, HeaderMinPosition, pos)
		}
		return do(h, "GET", "/api/v1/things/1", "", hdr...)
	}

	if rec := get(""); rec.Code != 200 {
		t.Fatalf("no header: %d", rec.Code)
	}
	if rec := get("10"); rec.Code != 200 {
		t.Fatalf("reached: %d", rec.Code)
	}
	if len(asked) != 1 || asked[0] != "things" {
		t.Fatalf("waited for %v", asked)
	}
	start := time.Now()
	rec := get("11")
	if rec.Code != 503 || readProblem(t, rec).Code != CodeProjectionLag || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("behind: %d %s", rec.Code, rec.Body)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("waited %s, want about the 150ms timeout", d)
	}
	// Caught up during the wait: answers as soon as it is.
	go func() {
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		applied = 12
		mu.Unlock()
	}()
	if rec := get("12"); rec.Code != 200 {
		t.Fatalf("caught up while waiting: %d", rec.Code)
	}
	for _, bad := range []string{"x", "-1", "1.5", "99999999999999999999"} {
		rec := get(bad)
		if rec.Code != 400 || readProblem(t, rec).Code != CodeMalformedHeader {
			t.Errorf("X-Min-Position %q: %d", bad, rec.Code)
		}
	}

	// A waiter failure is a 500, not a lag.
	failing, _ := newTestRouter(t, Config{Waiter: WaiterFunc(func(context.Context, []string, int64) error {
		return errors.New("checkpoint table missing")
	})})
	rec = do(failing, "GET", "/api/v1/things/1", "", "Authorization", "Bearer t0ken-secret", HeaderMinPosition, "1")
	if rec.Code != 500 {
		t.Fatalf("waiter failure: %d", rec.Code)
	}
	// No waiter: the header cannot be honoured; say so rather than serve stale data.
	none, _ := newTestRouter(t, Config{})
	rec = do(none, "GET", "/api/v1/things/1", "", "Authorization", "Bearer t0ken-secret", HeaderMinPosition, "1")
	if rec.Code != 503 || readProblem(t, rec).Code != CodeProjectionLag {
		t.Fatalf("no waiter: %d", rec.Code)
	}
}
