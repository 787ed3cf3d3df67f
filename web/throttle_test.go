package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// wantThrottled fails unless a form answered 429 with a Retry-After and the
// page says, in words, to wait.
func wantThrottled(t *testing.T, what string, res *http.Response, body string) {
	t.Helper()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("%s: %d, want 429", what, res.StatusCode)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra <= 0 {
		t.Errorf("%s: Retry-After %q", what, res.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "Too many attempts. Please wait a few minutes and try again.") {
		t.Errorf("%s: the page does not say to wait: %q", what, body)
	}
}

// The login form, like the API, refuses a throttled attempt with 429 and
// Retry-After, and tells the visitor to wait.
func TestLoginFormThrottled(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	for range 5 {
		res, _ := postForm(t, env, "/login", url.Values{"email": {a.Email}, "password": {"wrong password"}}, "")
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("a wrong password: %d, want 422", res.StatusCode)
		}
	}
	res, body := postForm(t, env, "/login", url.Values{"email": {a.Email}, "password": {"correct horse battery"}}, "")
	wantThrottled(t, "login after five wrong passwords from here", res, body)
}

// The registration and password reset forms share the per-address bound of
// account mail requests, and answer 429 with Retry-After past it.
func TestAccountMailFormsThrottled(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(), apptest.WithEnv("ACCOUNT_MAIL_ADDR_LIMIT", "1"))
	res, _ := postForm(t, env, "/password-reset", url.Values{"email": {testenv.Name("nobody") + "@example.com"}}, "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the first reset request: %d, want 303", res.StatusCode)
	}
	res, body := postForm(t, env, "/password-reset", url.Values{"email": {testenv.Name("nobody") + "@example.com"}}, "")
	wantThrottled(t, "a second reset request from here", res, body)
	res, body = postForm(t, env, "/register", url.Values{"email": {testenv.Name("web") + "@example.com"},
		"password": {"correct horse battery"}, "name": {"Ann"}}, "")
	wantThrottled(t, "a registration after it", res, body)
	if !strings.Contains(body, `value="Ann"`) {
		t.Errorf("the registration form lost what was typed: %q", body)
	}
}
