package http

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/password"
)

// The auth endpoints of API.md, and /me.
func (id *Identity) mountAuth(r chi.Router) {
	r.Post("/api/v1/auth/register", id.register)
	r.Post("/api/v1/auth/verify", id.verifyPost)
	r.Get("/api/v1/auth/verify", id.verifyGet)
	r.Post("/api/v1/auth/login", id.login)
	r.With(requireAuth).Post("/api/v1/auth/logout", id.logout)
	r.Post("/api/v1/auth/password-reset", id.passwordReset)
	r.Post("/api/v1/auth/password-reset/confirm", id.passwordResetConfirm)
	r.With(requireAuth).Get("/api/v1/me", id.me)
}

type registerRequest struct {
	Email    string `json:"email" validate:"required,max=300"` // trimmed, lower-cased and checked by the domain
	Password string `json:"password" validate:"required,min=8,max=128"`
	Name     string `json:"name" validate:"required,max=255"`
}

type registerResponse struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
}

// register creates the account (group users), then mails the verification
// link. The account exists once the events are committed; a mail failure is
// logged, not answered, and the user can ask for a password reset, which
// also verifies the address.
func (id *Identity) register(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := domain.ValidatePassword(req.Password); err != nil {
		writeError(w, r, err)
		return
	}
	hash, err := id.cfg.Hasher.Hash(req.Password)
	if err != nil {
		writeError(w, r, err)
		return
	}
	token, _ := newToken()
	userID := uuid.Must(uuid.NewV7())
	u, res, err := id.users.Register(r.Context(), identityMeta(r, userID, "RegisterUser"), commands.Register{
		Account:       domain.NewAccount{ID: userID, Email: req.Email, Name: req.Name, PasswordHash: hash},
		VerifyHash:    tokenKey(token),
		VerifyExpires: id.cfg.Now().Add(id.cfg.VerifyTTL),
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	subject, body := id.verificationMail(u, token)
	id.sendMail(r.Context(), *zerolog.Ctx(r.Context()), "verification", u, subject, body)
	w.Header().Set("Location", "/api/v1/users/"+u.ID().String())
	writeCommand(w, http.StatusCreated, res, registerResponse{ID: u.ID(), Email: u.Email()})
}

type verifyRequest struct {
	Token string `json:"token" validate:"required,max=128"`
}

func (id *Identity) verifyPost(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	id.verify(w, r, req.Token)
}

// verifyGet serves the link of the verification mail.
func (id *Identity) verifyGet(w http.ResponseWriter, r *http.Request) {
	id.verify(w, r, r.URL.Query().Get("token"))
}

func (id *Identity) verify(w http.ResponseWriter, r *http.Request, token string) {
	if !wellFormedToken(token) {
		writeError(w, r, domain.ErrTokenInvalid)
		return
	}
	u, res, err := id.users.VerifyEmail(r.Context(), identityMeta(r, uuid.Nil, "VerifyEmail"), tokenKey(token))
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := id.viewOf(r.Context(), u, res.Version)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeCommand(w, http.StatusOK, res, v)
}

type loginRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userView  `json:"user"`
}

var errBadCredentials = &ProblemError{Code: CodeUnauthenticated, Detail: "wrong email or password"}

// login checks the password against the account's events (not a read model
// that may lag, so a just verified or just blocked account is seen as it
// is), then opens a session.
func (id *Identity) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	ctx := r.Context()
	email, addr := domain.NormalizeEmail(req.Email), clientAddr(r)
	if err := id.throttle.check(ctx, email, addr); err != nil {
		writeError(w, r, err)
		return
	}
	u, _, err := id.users.FindByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) {
		id.cfg.Hasher.CheckNothing(req.Password) // as slow as a wrong password
		id.throttle.fail(ctx, email, addr)
		writeError(w, r, errBadCredentials)
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := id.cfg.Hasher.Check(u.PasswordHash(), req.Password); err != nil {
		if errors.Is(err, password.ErrMismatch) {
			id.throttle.fail(ctx, email, addr)
			err = errBadCredentials
		}
		writeError(w, r, err)
		return
	}
	switch err := u.CanLogin(); {
	case errors.Is(err, domain.ErrUserBlocked):
		writeError(w, r, &ProblemError{Code: CodeUserBlocked, Detail: "this account is blocked"})
		return
	case errors.Is(err, domain.ErrEmailNotVerified):
		writeError(w, r, &ProblemError{Code: CodeEmailNotVerified, Detail: "confirm your email address with the link mailed to you first"})
		return
	case err != nil:
		writeError(w, r, err)
		return
	}
	token, hash := newToken()
	now := id.cfg.Now().UTC()
	expires := now.Add(id.cfg.SessionTTL).Truncate(time.Second)
	if err := id.sessions.Create(ctx, hash, u.ID(), now, expires); err != nil {
		writeError(w, r, err)
		return
	}
	// A block or password reset that committed after the account was loaded
	// above may have revoked the user's sessions before this one existed:
	// look again now that it does, and end it if so. (Either this reload sees
	// the change, or the change commits later and its revocation ends this
	// session.)
	if again, _, err := id.users.Load(ctx, u.ID()); err != nil || !again.Active() || again.PasswordHash() != u.PasswordHash() {
		if _, rerr := id.sessions.Revoke(context.WithoutCancel(ctx), hash, now); rerr != nil {
			zerolog.Ctx(ctx).Error().Err(rerr).Msg("revoke a session opened during a block")
		}
		switch {
		case err != nil:
			writeError(w, r, err)
		case !again.Active():
			writeError(w, r, &ProblemError{Code: CodeUserBlocked, Detail: "this account is blocked"})
		default:
			writeError(w, r, errBadCredentials)
		}
		return
	}
	id.throttle.succeed(ctx, email, addr)
	v, err := id.viewOf(ctx, u, u.Version())
	if err != nil {
		writeError(w, r, err)
		return
	}
	zerolog.Ctx(ctx).Info().Str("user_id", u.ID().String()).Msg("login")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: expires, User: v})
}

// logout ends the session of the token the request carries.
func (id *Identity) logout(w http.ResponseWriter, r *http.Request) {
	token, _ := bearerToken(r)
	hash := sha256.Sum256([]byte(token))
	_, err := id.sessions.Revoke(r.Context(), hash[:], id.cfg.Now())
	id.principals.forgetToken(hash)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type passwordResetRequest struct {
	Email string `json:"email" validate:"required,max=254"`
}

// passwordReset answers 202 whether or not the email has an account; the
// mail leaves in the background so the answer takes as long either way.
func (id *Identity) passwordReset(w http.ResponseWriter, r *http.Request) {
	var req passwordResetRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	accepted := map[string]string{"status": "if the email has an account, a reset token was mailed to it"}
	if !id.throttle.resetAllowed(r.Context(), domain.NormalizeEmail(req.Email)) {
		writeJSON(w, http.StatusAccepted, accepted) // one mail a minute is enough
		return
	}
	token, _ := newToken()
	u, err := id.users.RequestPasswordReset(r.Context(), identityMeta(r, uuid.Nil, "RequestPasswordReset"),
		req.Email, tokenKey(token), id.cfg.Now().Add(id.cfg.ResetTTL))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if u != nil && u.Active() {
		subject, body := id.resetMail(u, token)
		log := zerolog.Ctx(r.Context()).With().Logger()
		ctx := context.WithoutCancel(r.Context())
		id.bg.Go(func() { id.sendMail(ctx, log, "password_reset", u, subject, body) })
	}
	writeJSON(w, http.StatusAccepted, accepted)
}

type passwordResetConfirmRequest struct {
	Token    string `json:"token" validate:"required,max=128"`
	Password string `json:"password" validate:"required,min=8,max=128"`
}

// passwordResetConfirm sets the new password and ends every session of the
// account.
func (id *Identity) passwordResetConfirm(w http.ResponseWriter, r *http.Request) {
	var req passwordResetConfirmRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := domain.ValidatePassword(req.Password); err != nil {
		writeError(w, r, err)
		return
	}
	if !wellFormedToken(req.Token) {
		writeError(w, r, domain.ErrTokenInvalid)
		return
	}
	hash, err := id.cfg.Hasher.Hash(req.Password)
	if err != nil {
		writeError(w, r, err)
		return
	}
	u, res, err := id.users.ResetPassword(r.Context(), identityMeta(r, uuid.Nil, "ResetPassword"), tokenKey(req.Token), hash)
	if err != nil {
		writeError(w, r, err)
		return
	}
	_, err = id.sessions.RevokeUser(r.Context(), u.ID(), id.cfg.Now())
	id.principals.forgetUser(u.ID())
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := id.viewOf(r.Context(), u, res.Version)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeCommand(w, http.StatusOK, res, v)
}

// me answers the caller's account, from its events (never stale).
func (id *Identity) me(w http.ResponseWriter, r *http.Request) {
	v, err := id.view(r.Context(), principal(r).UserID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
