package apicheck_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/heraldmail/herald/internal/apicheck"
)

// recorder is a testing.TB that keeps the failures reported to it instead
// of failing the test that runs it.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// answer is a handler that answers status, contentType and body.
func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const problem404 = `{"type":"urn:herald:problem:not_found","title":"Not found","status":404,"code":"not_found"}`

// The transport lets a server that keeps the document's word through, and
// fails the test, naming the operation, on every kind of drift: a field the
// document does not name, a status or Content-Type it does not declare, a
// required field left out, a path it does not have, a request it rules out
// that the server accepts anyway.
func TestTransportCatchesDrift(t *testing.T) {
	t.Parallel()
	doc, err := apicheck.Herald()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		method  string
		path    string
		headers []string
		body    string
		handler http.HandlerFunc
		want    []string // substrings of the one failure; none means no failure
	}{
		{name: "an answer as declared", method: "GET", path: "/api/v1/stats",
			handler: answer(200, "application/json", `{"mailings_total":3,"mailings_active":1,"clients_unique":2}`)},
		{name: "a field the document does not name", method: "GET", path: "/api/v1/stats",
			handler: answer(200, "application/json", `{"mailings_total":3,"mailings_active":1,"clients_unique":2,"mailings_paused":0}`),
			want:    []string{"GET /api/v1/stats (getStats)", "answered 200", "mailings_paused"}},
		{name: "a status the operation does not declare", method: "GET", path: "/api/v1/stats",
			handler: answer(http.StatusTeapot, "application/problem+json", `{"type":"about:blank","title":"Teapot","status":418,"code":"internal"}`),
			want:    []string{"GET /api/v1/stats (getStats)", "status 418 is not declared"}},
		{name: "a required field left out", method: "GET", path: "/api/v1/stats",
			handler: answer(200, "application/json", `{"mailings_total":3,"mailings_active":1}`),
			want:    []string{"GET /api/v1/stats (getStats)", "clients_unique"}},
		{name: "a Content-Type the status does not declare", method: "GET", path: "/api/v1/stats",
			handler: answer(200, "text/plain", "3 1 2"),
			want:    []string{"GET /api/v1/stats (getStats)", `Content-Type "text/plain" is not declared`}},
		{name: "a field of the wrong type in a shared schema", method: "GET", path: "/api/v1/me",
			headers: []string{"Authorization", "Bearer t"},
			handler: answer(200, "application/json", `{"id":"not-a-uuid","email":"a@example.com","name":"A","is_active":true,`+
				`"is_staff":false,"is_superuser":false,"email_verified":true,"groups":[],"created_at":"2026-01-02T03:04:05Z"}`),
			want: []string{"GET /api/v1/me (getMe)", "not-a-uuid"}},
		{name: "a path the document does not have", method: "GET", path: "/api/v1/secrets",
			handler: answer(200, "application/json", `{}`),
			want:    []string{"GET /api/v1/secrets", "no operation of the document matches"}},
		{name: "a path the document does not have, refused", method: "GET", path: "/api/v1/secrets",
			handler: answer(404, "application/problem+json", problem404)},
		{name: "a request the document rules out, accepted", method: "POST", path: "/api/v1/clients",
			headers: []string{"Authorization", "Bearer t", "Content-Type", "application/json"},
			body:    `{"full_name":"No Email"}`,
			handler: answer(201, "application/json", `{"id":"7f1d6c1e-8f0b-4a5e-9d6c-1c2b3a4d5e6f"}`),
			want:    []string{"POST /api/v1/clients (createClient)", "the request breaks the document, yet the server accepted it", "email"}},
		{name: "a request the document rules out, refused", method: "POST", path: "/api/v1/clients",
			headers: []string{"Authorization", "Bearer t", "Content-Type", "application/json"},
			body:    `{"full_name":"No Email"}`,
			handler: answer(422, "application/problem+json", `{"type":"urn:herald:problem:validation_failed","title":"Validation failed",`+
				`"status":422,"code":"validation_failed","errors":[{"field":"email","message":"required"}]}`)},
		{name: "pages are not the API's", method: "GET", path: "/clients",
			handler: answer(http.StatusSeeOther, "text/html", "<p>sign in</p>")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			rec := &recorder{TB: t}
			client := &http.Client{Transport: doc.Transport(rec, srv.Client().Transport),
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, err := http.NewRequest(c.method, srv.URL+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(c.headers); i += 2 {
				req.Header.Set(c.headers[i], c.headers[i+1])
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if err != nil || len(got) == 0 {
				t.Fatalf("the caller's body after the check: %q, %v", got, err)
			}
			for _, f := range rec.failures {
				t.Log(f)
			}
			switch {
			case len(c.want) == 0 && len(rec.failures) > 0:
				t.Fatalf("failed an exchange that keeps the document's word:\n%s", strings.Join(rec.failures, "\n"))
			case len(c.want) > 0 && len(rec.failures) != 1:
				t.Fatalf("want one failure, got %d: %q", len(rec.failures), rec.failures)
			}
			for _, w := range c.want {
				if !strings.Contains(rec.failures[0], w) {
					t.Errorf("the failure does not say %q:\n%s", w, rec.failures[0])
				}
			}
		})
	}
}

// The document itself loads, validates and routes.
func TestHeraldDocumentLoads(t *testing.T) {
	t.Parallel()
	if _, err := apicheck.Herald(); err != nil {
		t.Fatal(err)
	}
}

// A breach is reported to the test named by the request's context, not to
// the one the client was built for: a subtest or a fuzz input sharing its
// parent's client fails itself.
func TestReportTo(t *testing.T) {
	t.Parallel()
	doc, err := apicheck.Herald()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(answer(http.StatusTeapot, "text/plain", "tea"))
	defer srv.Close()
	owner, input := &recorder{TB: t}, &recorder{TB: t}
	client := &http.Client{Transport: doc.Transport(owner, srv.Client().Transport)}
	req, err := http.NewRequestWithContext(apicheck.ReportTo(t.Context(), input), "GET", srv.URL+"/api/v1/stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if len(owner.failures) != 0 || len(input.failures) != 1 {
		t.Fatalf("the client's test got %q, the request's %q", owner.failures, input.failures)
	}
}

// A fixed path segment wins over a parameter in the same place, as in
// chi: GET /api/things/export is not GET /api/things/{id}.
func TestFixedSegmentsWin(t *testing.T) {
	t.Parallel()
	doc, err := apicheck.Load([]byte(`openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /api/things/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: string, format: uuid } }]
      responses: { "200": { description: one, content: { application/json: { schema: { type: object } } } } }
  /api/things/export:
    get:
      responses: { "200": { description: all, content: { text/csv: { schema: { type: string } } } } }
`))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(answer(200, "text/csv", "id\n"))
	defer srv.Close()
	rec := &recorder{TB: t}
	client := &http.Client{Transport: doc.Transport(rec, srv.Client().Transport)}
	res, err := client.Get(srv.URL + "/api/things/export")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if len(rec.failures) != 0 {
		t.Fatalf("GET /api/things/export was taken for another operation: %q", rec.failures)
	}
}
