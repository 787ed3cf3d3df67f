package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
)

func TestAuthentication(t *testing.T) {
	alice := Principal{UserID: uuid.New(), Email: "alice@example.com"}
	auth := AuthenticatorFunc(func(ctx context.Context, token string) (Principal, error) {
		switch token {
		case "good":
			return alice, nil
		case "expired":
			return Principal{}, fmt.Errorf("token: %w", domain.ErrNotFound)
		case "blocked":
			return Principal{}, &ProblemError{Status: 401, Code: CodeUnauthenticated, Detail: "user blocked"}
		case "db-down":
			return Principal{}, errors.New("connection refused to secret-db")
		}
		return Principal{}, domain.NotFound("token")
	})
	protected := authenticate(auth)(requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(w, r, 200, map[string]string{"user": principal(r).Email})
	})))
	open := authenticate(auth)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := PrincipalFrom(r.Context())
		respond(w, r, 200, map[string]bool{"signed_in": ok})
	}))
	tests := []struct {
		name      string
		header    string
		status    int
		challenge string
		openBody  string
	}{
		{"no header", "", 401, `Bearer realm="herald"`, `{"signed_in":false}`},
		{"good token", "Bearer good", 200, "", `{"signed_in":true}`},
		{"scheme is case-insensitive", "bearer good", 200, "", `{"signed_in":true}`},
		{"expired", "Bearer expired", 401, `Bearer realm="herald", error="invalid_token"`, `{"signed_in":false}`},
		{"blocked user", "Bearer blocked", 401, `Bearer realm="herald", error="invalid_token"`, `{"signed_in":false}`},
		{"basic auth", "Basic dXNlcjpwYXNz", 401, `Bearer realm="herald", error="invalid_token"`, `{"signed_in":false}`},
		{"empty bearer", "Bearer ", 401, `Bearer realm="herald", error="invalid_token"`, `{"signed_in":false}`},
		{"store failure", "Bearer db-down", 500, "", `{"signed_in":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/x", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			protected.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("protected: %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if tt.status == 401 && readProblem(t, rec).Code != CodeUnauthenticated {
				t.Fatal("401 without code unauthenticated")
			}
			if tt.status == 500 {
				p := readProblem(t, rec)
				if p.Code != CodeInternal || p.Detail == "" || contains(rec.Body.String(), "secret-db") {
					t.Fatalf("store failure: %+v", p)
				}
			}
			// Open routes stay open whatever the token.
			rec = httptest.NewRecorder()
			open.ServeHTTP(rec, req)
			if rec.Code != 200 || trim(rec.Body.String()) != tt.openBody {
				t.Fatalf("open route: %d %s", rec.Code, rec.Body)
			}
		})
	}
	// Without an authenticator every token is refused, and anonymous stays anonymous.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("Authorization", "Bearer good")
	authenticate(nil)(requireAuth(http.NotFoundHandler())).ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("nil authenticator: %d", rec.Code)
	}
}

func TestWithPrincipal(t *testing.T) {
	p := Principal{UserID: uuid.New()}
	got, ok := PrincipalFrom(WithPrincipal(context.Background(), p))
	if !ok || got.UserID != p.UserID {
		t.Fatal("WithPrincipal round trip")
	}
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Fatal("empty context is signed in")
	}
}
