package http

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/identity"
)

type registerRequest struct {
	Email    string `json:"email" validate:"required,max=300"` // trimmed, lower-cased and checked by the domain
	Password string `json:"password" validate:"required,min=8,max=128"`
	Name     string `json:"name" validate:"required,max=255"`
}

func (id *Identity) register(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	reg, res, err := id.svc.Register(r.Context(), identityMeta(r),
		identity.Registration{Email: req.Email, Password: req.Password, Name: req.Name})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+reg.ID.String())
	respondCommand(w, r, http.StatusCreated, res, reg)
}

type verifyRequest struct {
	Token string `json:"token" validate:"required,max=128"`
}

func (id *Identity) verifyPost(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	id.verify(w, r, req.Token)
}

// verifyGet serves the link of the verification mail.
func (id *Identity) verifyGet(w http.ResponseWriter, r *http.Request) {
	id.verify(w, r, r.URL.Query().Get("token"))
}

func (id *Identity) verify(w http.ResponseWriter, r *http.Request, token string) {
	a, res, err := id.svc.Verify(r.Context(), identityMeta(r), token)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondCommand(w, r, http.StatusOK, res, a)
}

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

// rateLimited answers a throttled login 429 rate_limited with Retry-After.
type rateLimited struct{ *identity.RateLimitedError }

func (rateLimited) Code() string { return CodeRateLimited }

// loginProblem translates the refusals of a login; anything else goes to
// respondError as it is.
func loginProblem(err error) error {
	var limited *identity.RateLimitedError
	switch {
	case errors.As(err, &limited):
		return rateLimited{limited}
	case errors.Is(err, identity.ErrBadCredentials):
		return &ProblemError{Code: CodeUnauthenticated, Detail: "wrong email or password"}
	case errors.Is(err, domain.ErrUserBlocked):
		return &ProblemError{Code: CodeUserBlocked, Detail: "this account is blocked"}
	case errors.Is(err, domain.ErrEmailNotVerified):
		return &ProblemError{Code: CodeEmailNotVerified, Detail: "confirm your email address with the link mailed to you first"}
	}
	return err
}

// logout ends the session of the token the request carries.
func (id *Identity) logout(w http.ResponseWriter, r *http.Request) {
	token, _ := bearerToken(r)
	if err := id.svc.Logout(r.Context(), token); err != nil {
		respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type passwordResetRequest struct {
	Email string `json:"email" validate:"required,max=254"`
}

// requestPasswordReset answers 202 whether or not the email has an account.
func (id *Identity) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	var req passwordResetRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	if err := id.svc.RequestPasswordReset(r.Context(), identityMeta(r), req.Email); err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusAccepted, map[string]string{"status": "if the email has an account, a reset token was mailed to it"})
}

type passwordResetConfirmRequest struct {
	Token    string `json:"token" validate:"required,max=128"`
	Password string `json:"password" validate:"required,min=8,max=128"`
}

func (id *Identity) confirmPasswordReset(w http.ResponseWriter, r *http.Request) {
	var req passwordResetConfirmRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	a, res, err := id.svc.ConfirmPasswordReset(r.Context(), identityMeta(r), req.Token, req.Password)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondCommand(w, r, http.StatusOK, res, a)
}

// me answers the caller's account, from its events (never stale).
func (id *Identity) me(w http.ResponseWriter, r *http.Request) {
	a, err := id.svc.Account(r.Context(), principal(r).UserID)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, a)
}
