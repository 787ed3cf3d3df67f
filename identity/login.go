package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/password"
	"github.com/heraldmail/herald/projections"
)

// ErrBadCredentials refuses a login whose email or password is wrong,
// without saying which.
var ErrBadCredentials = errors.New("wrong email or password")

var errNoSession = domain.NotFound("session")

// Credentials are what a login sends, and the caller's address (the key of
// the per-address throttle).
type Credentials struct {
	Email    string
	Password string
	Addr     string
}

// Session is a login's answer: the bearer token, when it expires and the
// account.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      Account   `json:"user"`
}

// Login checks the password against the account's events (not a read model
// that may lag, so a just verified or just blocked account is seen as it
// is), then opens a session. It fails with *RateLimitedError while the
// address or the account is throttled, ErrBadCredentials,
// domain.ErrUserBlocked or domain.ErrEmailNotVerified.
//
// The attempt is counted before the password is checked, so of many
// parallel guesses no more than the limits are heard. Only wrong passwords
// stay counted. An account over its limit still hears an address that has
// not failed on it within the window (once at a time): a guesser cannot
// lock the owner out, while each address it uses gets one guess per window
// at most.
func (s *Service) Login(ctx context.Context, c Credentials) (Session, error) {
	email := domain.NormalizeEmail(c.Email)
	attempt, err := s.throttle.login(ctx, email, c.Addr)
	if err != nil {
		return Session{}, err
	}
	session, err := s.login(ctx, email, c.Password)
	if !errors.Is(err, ErrBadCredentials) {
		attempt.release(context.WithoutCancel(ctx))
	}
	return session, err
}

func (s *Service) login(ctx context.Context, email, pw string) (Session, error) {
	u, _, err := s.cfg.Users.FindByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) {
		s.cfg.Hasher.CheckNothing(pw) // as slow as a wrong password
		return Session{}, ErrBadCredentials
	}
	if err != nil {
		return Session{}, err
	}
	if err := s.cfg.Hasher.Check(u.PasswordHash(), pw); err != nil {
		if errors.Is(err, password.ErrMismatch) {
			err = ErrBadCredentials
		}
		return Session{}, err
	}
	if err := u.CanLogin(); err != nil {
		return Session{}, err
	}
	token, hash := newToken()
	now := s.cfg.Now().UTC()
	expires := now.Add(s.cfg.SessionTTL).Truncate(time.Second)
	if err := s.cfg.Sessions.Create(ctx, hash, u.ID(), now, expires); err != nil {
		return Session{}, err
	}
	// A block or password reset that committed after the account was loaded
	// above may have revoked the user's sessions before this one existed:
	// look again now that it does, and end it if so. (Either this reload sees
	// the change, or the change commits later and its revocation ends this
	// session.)
	if again, _, err := s.cfg.Users.Load(ctx, u.ID()); err != nil || !again.Active() || again.PasswordHash() != u.PasswordHash() {
		if _, rerr := s.cfg.Sessions.Revoke(context.WithoutCancel(ctx), hash, now); rerr != nil {
			zerolog.Ctx(ctx).Error().Err(rerr).Msg("revoke a session opened during a block")
		}
		switch {
		case err != nil:
			return Session{}, err
		case !again.Active():
			return Session{}, domain.ErrUserBlocked
		}
		return Session{}, ErrBadCredentials
	}
	a, err := s.accountOf(ctx, u, u.Version())
	if err != nil {
		return Session{}, err
	}
	zerolog.Ctx(ctx).Info().Str("user_id", u.ID().String()).Msg("login")
	return Session{Token: token, ExpiresAt: expires, User: a}, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	hash := sha256.Sum256([]byte(token))
	_, err := s.cfg.Sessions.Revoke(ctx, hash[:], s.cfg.Now())
	s.principals.forgetToken(hash)
	return err
}

// touchEvery is how often a session in use moves its idle deadline: once
// a minute, or a tenth of a shorter idle timeout.
func (s *Service) touchEvery() time.Duration { return min(time.Minute, s.cfg.SessionIdle/10) }

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Authenticate resolves a bearer token into its Principal. A session lives
// until its absolute expiry (SessionTTL) or SessionIdle without use, in the
// sessions table (revoked at once by logout, block and password
// reset) joined with the users read model; when that model has not caught up
// with the account yet, the account is rebuilt from its events. Good answers
// are kept for a moment in the principal cache (see principalCache for the
// staleness bounds). A token that lets nobody in fails with an error of
// class domain.ErrNotFound.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !wellFormedToken(token) {
		return Principal{}, errNoSession
	}
	hash := sha256.Sum256([]byte(token))
	now := s.cfg.Now()
	if p, ok := s.principals.get(hash, now); ok {
		return p, nil
	}
	gen := s.principals.generation()
	su, ok, err := s.cfg.Sessions.Lookup(ctx, hash[:], now, now.Add(-s.cfg.SessionIdle))
	if err != nil {
		return Principal{}, err
	}
	if !ok {
		return Principal{}, errNoSession
	}
	// The idle deadline moves at most once a touchEvery, so a busy
	// session costs no write per request.
	if now.Sub(su.SeenAt) >= s.touchEvery() {
		if err := s.cfg.Sessions.Touch(ctx, hash[:], now); err != nil {
			return Principal{}, err
		}
		su.SeenAt = now
	}
	row := su.User
	if row == nil {
		a, err := s.Account(ctx, su.UserID)
		if errors.Is(err, domain.ErrNotFound) {
			return Principal{}, errNoSession
		}
		if err != nil {
			return Principal{}, err
		}
		if !a.IsActive {
			return Principal{}, errNoSession
		}
		// Not cached: the read model will have the account in a moment.
		return principalOf(&projections.UserRow{ID: a.ID, Email: a.Email, IsStaff: a.IsStaff, IsSuperuser: a.IsSuperuser,
			Groups: a.Groups, Permissions: a.Permissions}), nil
	}
	p := principalOf(row)
	// A cached answer lasts no longer than the session would stay idle.
	s.principals.put(hash, gen, p, su.CreatedAt, earliest(su.ExpiresAt, su.SeenAt.Add(s.cfg.SessionIdle)), now)
	return p, nil
}
