package http

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/identity"
)

// Principal is the authenticated caller of a request; the identity service
// decides who that is.
type Principal = identity.Principal

// Authenticator turns a bearer token into the caller. The identity area
// implements it. A token that is unknown, expired, revoked or belongs to a
// blocked user returns an error wrapping domain.ErrNotFound or
// domain.ErrForbidden, or a *ProblemError with status 401; any other error is
// an infrastructure failure and answers 500 on protected routes.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, token string) (Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, token string) (Principal, error) {
	return f(ctx, token)
}

type principalKey struct{}

var (
	errMalformedAuthorization = errors.New("the Authorization header must be `Bearer <token>`")
	errNoAuthenticator        = errors.New("no authenticator configured: every token is refused")
)

// authResult is what authenticate found, for requireAuth to act on.
type authResult struct {
	principal Principal
	tokenSent bool
	err       error // why the token was refused (nil when none was sent or it was good)
}

// WithPrincipal returns ctx carrying p (tests and non-HTTP callers use it).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, authResult{principal: p, tokenSent: true})
}

// PrincipalFrom returns the caller; ok is false for anonymous requests.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	a, _ := ctx.Value(principalKey{}).(authResult)
	return a.principal, a.principal.Authenticated()
}

// principal returns the caller of a request behind requireAuth.
func principal(r *http.Request) Principal {
	p, _ := PrincipalFrom(r.Context())
	return p
}

// bearerToken returns the token of an `Authorization: Bearer <token>`
// header; sent reports whether an Authorization header was present at all.
func bearerToken(r *http.Request) (token string, sent bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// authenticate resolves the bearer token, if any, into the request's
// Principal. It never refuses a request itself: anonymous routes stay open
// even with a stale token; requireAuth decides on protected ones.
func authenticate(a Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, sent := bearerToken(r)
			if !sent {
				next.ServeHTTP(w, r)
				return
			}
			res := authResult{tokenSent: true}
			switch {
			case tok == "":
				res.err = errMalformedAuthorization
			case a == nil:
				res.err = errNoAuthenticator
			default:
				p, err := a.Authenticate(r.Context(), tok)
				switch {
				case err != nil:
					res.err = err
				case !p.Authenticated():
					res.err = errors.New("authenticator returned no user")
				default:
					res.principal = p
				}
			}
			ctx := context.WithValue(r.Context(), principalKey{}, res)
			// The request's own logger (requestContext's), which the access
			// log writes with too, takes the user in place. Outside a
			// request context there is no logger of the request's to take it.
			if res.principal.Authenticated() && infoOf(ctx) != nil {
				user := res.principal.UserID.String()
				zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("user_id", user) })
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// tokenRefused reports whether err means "this token does not let anyone
// in", as opposed to a failure to check it.
func tokenRefused(err error) bool {
	var pe *ProblemError
	if errors.As(err, &pe) {
		return pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden ||
			pe.Code == CodeUnauthenticated || pe.Code == CodeUserBlocked
	}
	return errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrForbidden) ||
		errors.Is(err, errMalformedAuthorization) || errors.Is(err, errNoAuthenticator)
}

// requireAuth answers 401 unauthenticated (with WWW-Authenticate: Bearer)
// unless the request carries a valid token.
func requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := r.Context().Value(principalKey{}).(authResult)
		if a.principal.Authenticated() {
			next.ServeHTTP(w, r)
			return
		}
		if a.err != nil && !tokenRefused(a.err) {
			respondError(w, r, a.err) // the token store failed: 500, logged
			return
		}
		challenge := `Bearer realm="herald"`
		detail := "sign in with POST /api/v1/auth/login and send Authorization: Bearer <token>"
		if a.tokenSent {
			challenge += `, error="invalid_token"`
			detail = "the bearer token is invalid, expired or revoked"
		}
		respondError(w, r, &ProblemError{Code: CodeUnauthenticated, Detail: detail, Headers: http.Header{"WWW-Authenticate": {challenge}}})
	})
}
