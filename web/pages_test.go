package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// get fetches path from the running application without following
// redirects.
func get(t *testing.T, env *apptest.Env, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func wantSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, part := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, part)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: CSP %q allows inline code", what, csp)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", what, got)
	}
	if got := h.Get("Referrer-Policy"); got == "" {
		t.Errorf("%s: no Referrer-Policy", what)
	}
}

var stylesheet = regexp.MustCompile(`<link rel="stylesheet" href="(/static/app\.[0-9a-f]{12}\.css)">`)

func TestPagesOverHTTP(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())

	t.Run("every page carries the security headers and no inline code", func(t *testing.T) {
		for _, p := range []string{"/", "/login", "/register", "/password-reset", "/verify?token=nope", "/no-such-page"} {
			res, body := get(t, env, p)
			wantSecurityHeaders(t, p, res.Header)
			if strings.Contains(body, " style=") || strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") {
				t.Errorf("%s has inline style or script", p)
			}
		}
	})

	t.Run("static files are fingerprinted and cached for a year", func(t *testing.T) {
		_, body := get(t, env, "/login")
		m := stylesheet.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no fingerprinted stylesheet in %q", body)
		}
		res, css := get(t, env, m[1])
		if res.StatusCode != 200 || !strings.Contains(css, "body") {
			t.Fatalf("GET %s: %d %q", m[1], res.StatusCode, css)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("Cache-Control %q", cc)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("Content-Type %q", ct)
		}
		if res, _ := get(t, env, "/static/app.css"); res.StatusCode != 404 {
			t.Errorf("the unfingerprinted name answers %d", res.StatusCode)
		}
	})

	t.Run("a cross-origin form post is refused", func(t *testing.T) {
		form := url.Values{"email": {"a@example.com"}, "password": {"whatever-long"}}.Encode()
		for name, hdr := range map[string][2]string{
			"foreign Origin":          {"Origin", "http://evil.example"},
			"cross-site fetch header": {"Sec-Fetch-Site", "cross-site"},
		} {
			req, err := http.NewRequest("POST", env.URL+"/login", strings.NewReader(form))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(hdr[0], hdr[1])
			res, body := send(t, req)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "sent from another site") {
				t.Errorf("%s: %d %q, want 403 and the refusal page", name, res.StatusCode, body)
			}
			if res.Header.Get("Set-Cookie") != "" {
				t.Errorf("%s: a refused post set a cookie", name)
			}
		}
		// The same form from the site itself is judged on its content.
		req, err := http.NewRequest("POST", env.URL+"/login", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", env.URL)
		res, body := send(t, req)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Wrong email or password") {
			t.Errorf("same-origin post: %d %q", res.StatusCode, body)
		}
	})

	t.Run("Accept-Language picks Russian, the footer cookie wins", func(t *testing.T) {
		_, body := get(t, env, "/login", "Accept-Language", "ru-RU,ru;q=0.9,en;q=0.5")
		if !strings.Contains(body, `<html lang="ru">`) || !strings.Contains(body, "Забыли пароль?") {
			t.Errorf("Russian login page: %q", body)
		}
		_, body = get(t, env, "/login", "Accept-Language", "ru", "Cookie", "herald_lang=en")
		if !strings.Contains(body, "Forgot your password?") {
			t.Errorf("English by cookie: %q", body)
		}
		_, body = get(t, env, "/login", "Accept-Language", "de")
		if !strings.Contains(body, `<html lang="en">`) {
			t.Errorf("fallback to English: %q", body)
		}
	})

	t.Run("anonymous visitors of private pages go to the login page", func(t *testing.T) {
		res, _ := get(t, env, "/dashboard?tab=1")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fdashboard%3Ftab%3D1" {
			t.Errorf("GET /dashboard: %d Location %q", res.StatusCode, res.Header.Get("Location"))
		}
		_, body := get(t, env, "/login?next=%2Fdashboard%3Ftab%3D1")
		if !strings.Contains(body, `name="next" value="/dashboard?tab=1"`) {
			t.Errorf("the login form does not carry next: %q", body)
		}
		_, body = get(t, env, "/login?next=https://evil.example/")
		if !strings.Contains(body, `name="next" value="/dashboard"`) {
			t.Errorf("a foreign next survived: %q", body)
		}
	})

	t.Run("the cookie holds the API's session token, and logout revokes it", func(t *testing.T) {
		a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
		cookie := "herald_session=" + a.Token
		res, body := get(t, env, "/dashboard", "Cookie", cookie)
		if res.StatusCode != 200 || !strings.Contains(body, "Owner of "+a.Email) {
			t.Fatalf("GET /dashboard with the API's token: %d %q", res.StatusCode, body)
		}
		req, err := http.NewRequest("POST", env.URL+"/logout", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Origin", env.URL)
		if res, _ := send(t, req); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Fatalf("POST /logout: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := get(t, env, "/dashboard", "Cookie", cookie); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the old cookie still opens /dashboard: %d", res.StatusCode)
		}
		if res := env.Do("GET", "/api/v1/me", nil, apptest.Bearer(a.Token)...); res.Status != http.StatusUnauthorized {
			t.Errorf("the API still accepts the logged-out token: %d", res.Status)
		}
	})

	t.Run("unknown pages get an HTML 404, the API keeps its problem document", func(t *testing.T) {
		res, body := get(t, env, "/no-such-page")
		if res.StatusCode != 404 || !strings.Contains(body, "Page not found") {
			t.Errorf("GET /no-such-page: %d %q", res.StatusCode, body)
		}
		res, _ = get(t, env, "/api/v1/no-such-endpoint")
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET /api/v1/no-such-endpoint: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if r := env.Do("GET", "/no-such-page", nil); r.Status != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET /no-such-page from a program: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		res, body = get(t, env, "/logout")
		if res.StatusCode != 405 || !strings.Contains(body, "Page not found") {
			t.Errorf("GET /logout: %d %q", res.StatusCode, body)
		}
	})

	t.Run("form errors are shown next to their fields", func(t *testing.T) {
		form := url.Values{"email": {"not-an-email"}, "password": {"short"}, "name": {""}}.Encode()
		req, err := http.NewRequest("POST", env.URL+"/register", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, body := send(t, req)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="name-error"`) {
			t.Errorf("POST /register: %d %q", res.StatusCode, body)
		}
		if !strings.Contains(body, `value="not-an-email"`) {
			t.Errorf("the form lost what was typed: %q", body)
		}
		form = url.Values{"email": {"not-an-email"}, "password": {"short"}, "name": {"Ann"}}.Encode()
		req, err = http.NewRequest("POST", env.URL+"/register", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, body = send(t, req)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="password-error"`) {
			t.Errorf("POST /register with a short password: %d %q", res.StatusCode, body)
		}
	})
}
