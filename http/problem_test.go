package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/domain"
)

// readProblem checks the response is a problem document and decodes it.
func readProblem(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %s)", ct, rec.Body)
	}
	var p Problem
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	if p.Status != rec.Code {
		t.Fatalf("body status %d != HTTP status %d", p.Status, rec.Code)
	}
	if p.Type != problemTypeBase+p.Code || p.Title == "" {
		t.Fatalf("type/title not filled: %+v", p)
	}
	return p
}

type codedErr struct {
	code  string
	after time.Duration
}

func (e codedErr) Error() string             { return "coded " + e.code }
func (e codedErr) Code() string              { return e.code }
func (e codedErr) RetryAfter() time.Duration { return e.after }

func TestRespondErrorMapsClasses(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		fields     []domain.FieldError
		header     string // "Name: value" expected, optional
		hideDetail string // text that must not reach the client
	}{
		{"not found", fmt.Errorf("load client: %w", domain.NotFound("client 42")), 404, "not_found", nil, "", ""},
		{"validation", fmt.Errorf("create: %w", &domain.ValidationError{Fields: []domain.FieldError{{Field: "email", Message: "must be a valid email"}}}), 422, "validation_failed",
			[]domain.FieldError{{Field: "email", Message: "must be a valid email"}}, "", ""},
		{"invalid without fields", fmt.Errorf("%w: start_at after end_at", domain.ErrInvalid), 422, "validation_failed", nil, "", ""},
		{"email taken before conflict", fmt.Errorf("register: %w", domain.ErrEmailTaken), 409, "email_taken",
			[]domain.FieldError{{Field: "email", Message: "is already taken"}}, "", ""},
		{"conflict", domain.Conflict("stale version"), 409, "conflict", nil, "", ""},
		{"forbidden", domain.Forbidden("nope"), 403, "forbidden", nil, "", ""},
		{"problem error", fmt.Errorf("login: %w", &ProblemError{Code: CodeUserBlocked, Detail: "blocked by staff", Headers: http.Header{"X-Extra": {"1"}}}), 403, "user_blocked", nil, "X-Extra: 1", ""},
		{"problem error explicit status", &ProblemError{Status: 418, Code: "teapot", Title: "I'm a teapot"}, 418, "teapot", nil, "", ""},
		{"coded", fmt.Errorf("login: %w", codedErr{code: CodeEmailNotVerified}), 403, "email_not_verified", nil, "", ""},
		{"coded rate limited", codedErr{code: CodeRateLimited, after: 1500 * time.Millisecond}, 429, "rate_limited", nil, "Retry-After: 2", ""},
		{"coded unknown is internal", codedErr{code: "bogus"}, 500, "internal", nil, "", "bogus"},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413, "payload_too_large", nil, "", ""},
		{"anything else", errors.New("pq: password authentication failed for secret-host"), 500, "internal", nil, "", "secret-host"},
		{"nil", nil, 500, "internal", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/x", nil)
			respondError(rec, req, tt.err)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			raw := rec.Body.String()
			p := readProblem(t, rec)
			if p.Code != tt.code {
				t.Fatalf("code %q, want %q", p.Code, tt.code)
			}
			if fmt.Sprint(p.Errors) != fmt.Sprint(tt.fields) {
				t.Fatalf("errors %v, want %v", p.Errors, tt.fields)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if got := rec.Header().Get(k); got != v {
					t.Fatalf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.hideDetail != "" && strings.Contains(raw, tt.hideDetail) {
				t.Fatalf("internal error text leaked to the client: %s", raw)
			}
		})
	}
}

func TestRespondErrorHead(t *testing.T) {
	rec := httptest.NewRecorder()
	respondError(rec, httptest.NewRequest("HEAD", "/x", nil), problem(CodeNotFound, ""))
	if rec.Code != 404 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: %d %q", rec.Code, rec.Body)
	}
}

// Every stable code of the API contract has its status.
func TestStableCodes(t *testing.T) {
	want := map[string]int{
		"validation_failed": 422, "malformed_json": 400, "unauthenticated": 401, "forbidden": 403,
		"not_found": 404, "conflict": 409, "email_taken": 409, "email_not_verified": 403,
		"user_blocked": 403, "rate_limited": 429, "internal": 500, "projection_lag": 503, "payload_too_large": 413,
	}
	for code, status := range want {
		if codeInfo[code].status != status {
			t.Errorf("%s: status %d, want %d", code, codeInfo[code].status, status)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
func trim(s string) string        { return strings.TrimSpace(s) }

func TestProblemKeepsAngleBrackets(t *testing.T) {
	rec := httptest.NewRecorder()
	respondError(rec, httptest.NewRequest("GET", "/x", nil), problem(CodeUnauthenticated, "send Bearer <token> & retry"))
	if !strings.Contains(rec.Body.String(), `"detail":"send Bearer <token> & retry"`) {
		t.Fatalf("body %s", rec.Body)
	}
}
