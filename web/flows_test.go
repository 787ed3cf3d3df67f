package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// postForm posts a same-origin form, carrying cookie when it is not "".
func postForm(t *testing.T, env *apptest.Env, path string, form url.Values, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", env.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", env.URL)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return send(t, req)
}

var tokenLine = regexp.MustCompile(`(?m)^([A-Za-z0-9_-]{43})\r?$`)

// mailedTokenOf waits for a mail to email whose subject holds subject and
// returns the token standing alone on a line of it.
func mailedTokenOf(t *testing.T, env *apptest.Env, email, subject string) string {
	t.Helper()
	var token string
	var body string
	testenv.Eventually(t, 30*time.Second, "the mail "+subject+" to "+email, func() bool {
		msgs, err := env.Sink.Messages()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if slices.Contains(m.Recipients, email) && strings.Contains(m.Subject, subject) {
				if got := tokenLine.FindStringSubmatch(m.Body); got != nil {
					token, body = got[1], m.Body
				}
			}
		}
		return token != ""
	})
	if link := env.URL + "/password-reset?token=" + token; !strings.Contains(body, link) {
		t.Fatalf("the mail does not link to %s: %q", link, body)
	}
	return token
}

func TestPasswordResetThroughThePages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")

	res, _ := postForm(t, env, "/password-reset", url.Values{"email": {a.Email}}, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("ask for a reset: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	token := mailedTokenOf(t, env, a.Email, "Reset")

	// The mail links to the page that takes the token.
	_, body := get(t, env, "/password-reset?token="+token)
	if !strings.Contains(body, `name="token" value="`+token+`"`) {
		t.Fatalf("the reset page does not carry the token: %q", body)
	}
	res, body = postForm(t, env, "/password-reset", url.Values{"token": {token}, "password": {"short"}}, "")
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="password-error"`) {
		t.Fatalf("a too short password: %d %q", res.StatusCode, body)
	}
	res, _ = postForm(t, env, "/password-reset", url.Values{"token": {token}, "password": {"a brand new secret"}}, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("set the new password: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if r := env.Do("GET", "/api/v1/me", nil, apptest.Bearer(a.Token)...); r.Status != http.StatusUnauthorized {
		t.Errorf("the session from before the reset still works: %d", r.Status)
	}

	res, body = postForm(t, env, "/login", url.Values{"email": {a.Email}, "password": {"correct horse battery"}}, "")
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Wrong email or password") {
		t.Errorf("login with the old password: %d", res.StatusCode)
	}
	res, _ = postForm(t, env, "/login", url.Values{"email": {a.Email}, "password": {"a brand new secret"}, "next": {"/dashboard?x=1"}}, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard?x=1" {
		t.Fatalf("login with the new password: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "herald_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over http", session)
	}
	if r := env.Do("GET", "/api/v1/me", nil, apptest.Bearer(session.Value)...); r.Status != http.StatusOK {
		t.Errorf("the cookie's token is not an API session: %d", r.Status)
	}
}

func TestVerifyWithABadToken(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())
	res, body := get(t, env, "/verify?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid, already used or expired") {
		t.Fatalf("GET /verify with an unknown token: %d %q", res.StatusCode, body)
	}
}

// The home page shows the figures GET /api/v1/stats answers.
func TestHomeShowsThePublicFigures(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "ann@example.org", "full_name": "Ann Lee"})
	testenv.Eventually(t, 30*time.Second, "the home page to count the client", func() bool {
		_, body := get(t, env, "/")
		return strings.Contains(body, `id="clients-unique"><strong>1</strong>unique recipient<`)
	})
	var stats struct {
		ClientsUnique int64 `json:"clients_unique"`
	}
	env.Do("GET", "/api/v1/stats", nil).Decode(t, &stats)
	if stats.ClientsUnique != 1 {
		t.Errorf("the API counts %d clients", stats.ClientsUnique)
	}
}
