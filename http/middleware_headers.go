package http

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
)

// apiPolicy is the Content-Security-Policy of every JSON answer: a JSON
// document loads nothing and is framed by nobody, even if a browser is
// tricked into rendering it. HTML answers of this package (the API
// reference, the home page) set their own.
const apiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// apiHeaders sets the security headers every answer carries (the web pages
// set their own over them). An answer to a signed-in caller, or to an
// authentication request, holds personal data or a token: no cache keeps
// it unless its handler says otherwise.
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", apiPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if principal(r).Authenticated() || strings.HasPrefix(r.URL.Path, "/api/v1/auth/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// homePolicy lets the home page use its one inline style block (by hash)
// and nothing else.
var homePolicy = "default-src 'none'; style-src '" + styleHash(homeHTML) + "'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// styleHash is the CSP source of the first <style> block of page.
func styleHash(page string) string {
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if m == nil {
		return "none"
	}
	sum := sha256.Sum256([]byte(m[1]))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
