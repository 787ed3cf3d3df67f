package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/web"
)

// Every route of both front doors, API and pages, refuses a body over its
// limit with a 413 problem document before its handler runs: 1 MiB, or
// more for the few routes that take files or long id lists.
func TestEveryRouteLimitsItsBody(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())
	cfg := env.App.HTTPConfig()
	cfg.Registry = nil // a fresh one: the application's holds the metrics already
	root := api.NewRouter(cfg)
	large := map[string]int64{
		"POST /api/v1/clients/import": 200 << 20, "POST /clients/import": 201 << 20,
		"POST /api/v1/mailings": 8 << 20, "PUT /api/v1/mailings/{id}": 8 << 20, "PATCH /api/v1/mailings/{id}": 8 << 20,
	}
	send := func(method, path string, length int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader("{}"))
		req.ContentLength = length
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		root.ServeHTTP(rec, req)
		return rec
	}
	var routes int
	walk := func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes++
		path := strings.NewReplacer("{id}", uuid.NewString(), "{asset}", "x.js", "/*", "/x").Replace(pattern)
		limit, ok := large[method+" "+pattern]
		if !ok {
			limit = 1 << 20
		}
		rec := send(method, path, limit+1)
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != http.StatusRequestEntityTooLarge || p.Code != "payload_too_large" ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s with %d bytes: %d %s %s", method, pattern, limit+1, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if ok {
			if rec := send(method, path, 1<<20+1); rec.Code == http.StatusRequestEntityTooLarge {
				t.Errorf("%s %s refuses a body of 1 MiB + 1 although it takes up to %d bytes", method, pattern, limit)
			}
		}
		return nil
	}
	if err := chi.Walk(root.(chi.Routes), walk); err != nil {
		t.Fatal(err)
	}
	if err := chi.Walk(web.Routes(env.App.Pages), walk); err != nil {
		t.Fatal(err)
	}
	if routes < 80 {
		t.Fatalf("walked only %d routes", routes)
	}

	// A mailing for 100,000 clients fits its larger limit: the ids are
	// read and checked (they name no client of the caller), not refused
	// for their size.
	ids := make([]string, 100_000)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	body, _ := json.Marshal(map[string]any{"message_id": uuid.New(), "client_ids": ids, "start_at": "2030-01-01T00:00:00Z",
		"end_at": "2030-02-01T00:00:00Z", "periodicity": "weekly", "timezone": "Europe/Paris"})
	if len(body) < 3_500_000 {
		t.Fatalf("the body is %d bytes", len(body))
	}
	acc := apptest.SignUp(env, testenv.Name("big")+"@example.org", "correct horse battery")
	// Sent without a length too (chunked): the body is then held to the
	// route's limit as it is read, and a client's to the default.
	for _, length := range []int64{int64(len(body)), -1} {
		req := httptest.NewRequest("POST", "/api/v1/mailings", bytes.NewReader(body))
		req.ContentLength = length
		req.Header.Set("Authorization", "Bearer "+acc.Token)
		rec := httptest.NewRecorder()
		root.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "client_ids") {
			b, _ := io.ReadAll(rec.Body)
			t.Fatalf("a mailing for 100,000 clients, length %d: %d %s", length, rec.Code, b)
		}
	}
	req := httptest.NewRequest("POST", "/api/v1/clients", bytes.NewReader(body))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+acc.Token)
	rec := httptest.NewRecorder()
	root.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a client of %d bytes sent without a length: %d %s", len(body), rec.Code, rec.Body)
	}
}
