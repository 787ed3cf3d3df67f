package http

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/identity"
)

type loginRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
}

func (id *Identity) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	s, err := id.svc.Login(r.Context(), identity.Credentials{Email: req.Email, Password: req.Password, Addr: clientAddr(r)})
	if err != nil {
		respondError(w, r, loginProblem(err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond(w, r, http.StatusOK, s)
}

// rateLimited answers a throttled login, registration or password reset
// request 429 rate_limited with Retry-After.
type rateLimited struct{ *identity.RateLimitedError }

func (rateLimited) Code() string { return CodeRateLimited }

// throttled translates the identity service's throttle refusal; anything
// else is returned as it is.
func throttled(err error) error {
	if limited := (*identity.RateLimitedError)(nil); errors.As(err, &limited) {
		return rateLimited{limited}
	}
	return err
}

// loginProblem translates the refusals of a login; anything else goes to
// respondError as it is.
func loginProblem(err error) error {
	switch {
	case errors.Is(err, identity.ErrBadCredentials):
		return &ProblemError{Code: CodeUnauthenticated, Detail: "wrong email or password"}
	case errors.Is(err, domain.ErrUserBlocked):
		return &ProblemError{Code: CodeUserBlocked, Detail: "this account is blocked"}
	case errors.Is(err, domain.ErrEmailNotVerified):
		return &ProblemError{Code: CodeEmailNotVerified, Detail: "confirm your email address with the link mailed to you first"}
	}
	return throttled(err)
}
