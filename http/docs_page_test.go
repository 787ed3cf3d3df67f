package http_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/apicheck"
)

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	srcAttr     = regexp.MustCompile(`\bsrc="([^"]+)"`)
	dataAttr    = regexp.MustCompile(`\bdata-(redoc|spec)-url="([^"]+)"`)
	eventAttr   = regexp.MustCompile(`(?i)\son[a-z]+=`)
	policyParts = regexp.MustCompile(`\s*;\s*`)
)

// GET /api/docs is a page that renders the OpenAPI document with Redoc
// under a Content-Security-Policy that allows Herald's own scripts only:
// every script is a file it serves (fingerprinted, cached a year), none is
// inline, and the files and the document the page names are there. Every
// exchange is also held to api/openapi.yaml.
func TestAPIReferencePage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(api.NewRouter(api.Config{}))
	defer srv.Close()
	doc, err := apicheck.Herald()
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: doc.Transport(t, srv.Client().Transport)}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := c.Get(srv.URL + path)
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

	res, page := get("/api/docs")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /api/docs: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var scriptSrc string
	for _, d := range policyParts.Split(res.Header.Get("Content-Security-Policy"), -1) {
		if strings.HasPrefix(d, "script-src ") {
			scriptSrc = d
		}
	}
	if scriptSrc != "script-src 'self'" {
		t.Errorf("the policy's scripts: %q, want script-src 'self' (policy %q)", scriptSrc, res.Header.Get("Content-Security-Policy"))
	}
	if eventAttr.MatchString(page) || strings.Contains(page, "javascript:") {
		t.Errorf("the page holds inline script:\n%s", page)
	}

	var scripts []string
	for _, m := range scriptTag.FindAllStringSubmatch(page, -1) {
		if strings.TrimSpace(m[2]) != "" {
			t.Errorf("an inline script: %s", m[0])
		}
		src := srcAttr.FindStringSubmatch(m[1])
		if src == nil {
			t.Errorf("a script without src: %s", m[0])
			continue
		}
		scripts = append(scripts, src[1])
	}
	data := map[string]string{}
	for _, m := range dataAttr.FindAllStringSubmatch(page, -1) {
		data[m[1]] = m[2]
	}
	if len(scripts) != 1 || data["redoc"] == "" || data["spec"] != "/api/openapi.yaml" {
		t.Fatalf("scripts %q, Redoc %q, document %q in the page:\n%s", scripts, data["redoc"], data["spec"], page)
	}

	fingerprinted := regexp.MustCompile(`^/api/docs/[a-z.]+\.[0-9a-f]{12}\.js$`)
	for _, u := range []string{scripts[0], data["redoc"]} {
		res, body := get(u)
		if !fingerprinted.MatchString(u) || res.StatusCode != 200 ||
			res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
			res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || len(body) == 0 {
			t.Errorf("GET %s: %d %q %q, %d bytes", u, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), len(body))
		}
		switch u {
		case scripts[0]:
			if !strings.Contains(body, "redocUrl") || !strings.Contains(body, "specUrl") {
				t.Errorf("%s does not start Redoc from the page's data:\n%s", u, body)
			}
		case data["redoc"]:
			if !strings.HasPrefix(body, "/*!\n * Redoc 3.") || !strings.Contains(body[:4000], "The MIT License") ||
				!strings.Contains(body, "RedocStandalone") {
				t.Errorf("%s is not the vendored Redoc with its version and licence: %.300s", u, body)
			}
		}
	}
	if res, body := get(data["spec"]); res.StatusCode != 200 || !strings.HasPrefix(body, "openapi: 3.1") {
		t.Errorf("GET %s: %d", data["spec"], res.StatusCode)
	}
	if res, _ := get("/api/docs/redoc.standalone.000000000000.js"); res.StatusCode != 404 ||
		res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("an unknown file: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
