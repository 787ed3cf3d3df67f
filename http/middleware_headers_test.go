package http

import (
	"strings"
	"testing"
)

// Every JSON answer carries the security headers; a signed-in caller's is
// never stored by a cache; the API reference keeps the policy it needs.
func TestAPISecurityHeaders(t *testing.T) {
	h, _ := newTestRouter(t, Config{})
	check := func(name string, got map[string]string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", name, k, got[k], v)
			}
		}
	}
	headersOf := func(method, target string, hdr ...string) map[string]string {
		rec := do(h, method, target, "", hdr...)
		out := map[string]string{}
		for k := range rec.Header() {
			out[k] = rec.Header().Get(k)
		}
		return out
	}
	common := map[string]string{
		"Content-Security-Policy": apiPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	}
	if !strings.Contains(apiPolicy, "default-src 'none'") || !strings.Contains(apiPolicy, "frame-ancestors 'none'") {
		t.Fatalf("the API policy %q does not forbid loading and framing", apiPolicy)
	}
	signedIn := headersOf("GET", "/api/v1/things/x", "Authorization", "Bearer t0ken-secret")
	check("signed-in read", signedIn, common)
	check("signed-in read", signedIn, map[string]string{"Cache-Control": "no-store"})
	check("anonymous 401", headersOf("GET", "/api/v1/things/x"), common)
	check("unknown endpoint", headersOf("GET", "/api/v1/nope"), common)
	check("probe", headersOf("GET", "/healthz"), common)

	docs := headersOf("GET", "/api/docs")
	check("API reference", docs, map[string]string{"Content-Security-Policy": docsPolicy, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"})
	if !strings.Contains(homePolicy, "'sha256-") {
		t.Fatalf("the home page policy %q does not allow its style block by hash", homePolicy)
	}
}
