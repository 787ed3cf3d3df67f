package identity

import (
	"context"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// Registration is what a new account sends, and the caller's address (the
// key of the per-address throttle).
type Registration struct {
	Email    string
	Password string
	Name     string
	Addr     string
}

// Registered answers a registration.
type Registered struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
}

// Register creates the account (group users), then mails the verification
// link. The account exists once the events are committed; a mail failure is
// logged, not returned, and the user can ask for a password reset, which
// also verifies the address. The account is its own actor. It fails with
// *RateLimitedError while the caller's address is throttled (see
// ThrottleConfig).
func (s *Service) Register(ctx context.Context, meta domain.Metadata, r Registration) (Registered, eventstore.Result, error) {
	if err := domain.ValidatePassword(r.Password); err != nil {
		return Registered{}, eventstore.Result{}, err
	}
	if err := s.throttle.mail(ctx, r.Addr, ""); err != nil {
		return Registered{}, eventstore.Result{}, err
	}
	hash, err := s.cfg.Hasher.Hash(r.Password)
	if err != nil {
		return Registered{}, eventstore.Result{}, err
	}
	token, _ := newToken()
	userID := uuid.Must(uuid.NewV7())
	meta.ActorID, meta.Command = userID, "RegisterUser"
	u, res, err := s.cfg.Users.Register(ctx, meta, commands.Register{
		Account:       domain.NewAccount{ID: userID, Email: r.Email, Name: r.Name, PasswordHash: hash},
		VerifyHash:    tokenKey(token),
		VerifyExpires: s.cfg.Now().Add(s.cfg.VerifyTTL),
	})
	if err != nil {
		return Registered{}, eventstore.Result{}, err
	}
	s.sendMail(ctx, *zerolog.Ctx(ctx), verificationMail, u, token, s.cfg.VerifyTTL)
	return Registered{ID: u.ID(), Email: u.Email()}, res, nil
}

// Verify consumes a verification token: the address is proven. The token's
// holder acts, not a signed-in caller.
func (s *Service) Verify(ctx context.Context, meta domain.Metadata, token string) (Account, eventstore.Result, error) {
	if !wellFormedToken(token) {
		return Account{}, eventstore.Result{}, domain.ErrTokenInvalid
	}
	meta.ActorID, meta.Command = uuid.Nil, "VerifyEmail"
	u, res, err := s.cfg.Users.VerifyEmail(ctx, meta, tokenKey(token))
	return s.answer(ctx, u, res, err)
}

// RequestPasswordReset mails a reset token to the account of email, if
// there is one and it is active. Only the throttle is asked before the
// answer (it fails with *RateLimitedError while the caller's address or the
// recipient is throttled, alike for emails with and without an account);
// looking the account up, recording the token and mailing it happen in the
// background, so the answer neither says nor takes longer when the account
// exists.
func (s *Service) RequestPasswordReset(ctx context.Context, meta domain.Metadata, email, addr string) error {
	email = domain.NormalizeEmail(email)
	if err := s.throttle.mail(ctx, addr, email); err != nil {
		return err
	}
	log := zerolog.Ctx(ctx).With().Logger()
	ctx = log.WithContext(context.WithoutCancel(ctx))
	s.bg.Go(func() { s.requestPasswordReset(ctx, log, meta, email) })
	return nil
}

func (s *Service) requestPasswordReset(ctx context.Context, log zerolog.Logger, meta domain.Metadata, email string) {
	token, _ := newToken()
	meta.ActorID, meta.Command = uuid.Nil, "RequestPasswordReset"
	u, err := s.cfg.Users.RequestPasswordReset(ctx, meta, email, tokenKey(token), s.cfg.Now().Add(s.cfg.ResetTTL))
	if err != nil {
		log.Error().Err(err).Msg("password reset request")
		return
	}
	if u != nil && u.Active() {
		s.sendMail(ctx, log, resetMail, u, token, s.cfg.ResetTTL)
	}
}

// ConfirmPasswordReset consumes a reset token, sets the new password and
// ends every session of the account.
func (s *Service) ConfirmPasswordReset(ctx context.Context, meta domain.Metadata, token, newPassword string) (Account, eventstore.Result, error) {
	if err := domain.ValidatePassword(newPassword); err != nil {
		return Account{}, eventstore.Result{}, err
	}
	if !wellFormedToken(token) {
		return Account{}, eventstore.Result{}, domain.ErrTokenInvalid
	}
	hash, err := s.cfg.Hasher.Hash(newPassword)
	if err != nil {
		return Account{}, eventstore.Result{}, err
	}
	meta.ActorID, meta.Command = uuid.Nil, "ResetPassword"
	u, res, err := s.cfg.Users.ResetPassword(ctx, meta, tokenKey(token), hash)
	if err != nil {
		return Account{}, eventstore.Result{}, err
	}
	_, err = s.cfg.Sessions.RevokeUser(ctx, u.ID(), s.cfg.Now())
	s.principals.forgetUser(u.ID())
	return s.answer(ctx, u, res, err)
}
