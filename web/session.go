package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/identity"
)

// sessionCookie holds the same opaque session token POST /api/v1/auth/login
// answers; the identity service resolves it, expires it and revokes it.
const sessionCookie = "herald_session"

type sessionKey struct{}

type session struct {
	token string
	who   identity.Principal
}

// withSession resolves the session cookie into the caller; a token that no
// longer lets anyone in is dropped from the browser.
func (h *Handler) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		p, err := h.id.Authenticate(r.Context(), c.Value)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			h.clearSession(w)
		case err != nil:
			h.fail(w, r, err)
			return
		default:
			r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, session{token: c.Value, who: p}))
		}
		next.ServeHTTP(w, r)
	})
}

// principal is the signed-in caller, or the zero (anonymous) Principal.
func principal(r *http.Request) identity.Principal {
	s, _ := r.Context().Value(sessionKey{}).(session)
	return s.who
}

func sessionToken(r *http.Request) string {
	s, _ := r.Context().Value(sessionKey{}).(session)
	return s.token
}

// requireLogin sends anonymous visitors to the login page, which brings
// them back here afterwards.
func requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !principal(r).Authenticated() {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) setSession(w http.ResponseWriter, s identity.Session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.Token, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

// localPath is next when it is a path on this site, else fallback: a login
// link must not send anyone elsewhere.
func localPath(next, fallback string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return fallback
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return fallback
	}
	return next
}

// clientAddr is the caller's IP address, the key of the per-address login
// throttle.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
