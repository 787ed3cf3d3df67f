// Package identity is the identity application service: registration and
// email verification, login with its throttling, sessions and the Principal
// a token resolves to, password reset, blocking, activating and grouping
// accounts, the tokens it mints (only their hashes are kept) and the
// account mails with their templates. It decides; the HTTP door only turns
// requests into its calls and its answers and errors into responses.
package identity

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/password"
	"github.com/heraldmail/herald/projections"
)

// Users runs the commands of accounts and loads them from their events
// (commands.UserHandler, decorated).
type Users interface {
	Load(ctx context.Context, id uuid.UUID) (*domain.User, int64, error)
	FindByEmail(ctx context.Context, email string) (*domain.User, int64, error)
	Register(ctx context.Context, meta domain.Metadata, cmd commands.Register) (*domain.User, eventstore.Result, error)
	VerifyEmail(ctx context.Context, meta domain.Metadata, tokenHash string) (*domain.User, eventstore.Result, error)
	RequestPasswordReset(ctx context.Context, meta domain.Metadata, email, tokenHash string, expires time.Time) (*domain.User, error)
	ResetPassword(ctx context.Context, meta domain.Metadata, tokenHash, newHash string) (*domain.User, eventstore.Result, error)
	Block(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (*domain.User, eventstore.Result, error)
	Activate(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (*domain.User, eventstore.Result, error)
	SetGroups(ctx context.Context, meta domain.Metadata, id uuid.UUID, groups []string, ifMatch int64) (*domain.User, eventstore.Result, error)
}

// Groups loads groups from their events (commands.GroupHandler).
type Groups interface {
	Load(ctx context.Context, name string) (*domain.Group, error)
}

// Accounts reads the users read model (projections.UserQueries).
type Accounts interface {
	User(ctx context.Context, id uuid.UUID) (projections.UserRow, error)
	ListUsers(ctx context.Context, after uuid.UUID, limit int) ([]projections.UserRow, error)
}

// Sessions is the login session table (projections.Sessions).
type Sessions interface {
	Create(ctx context.Context, tokenHash []byte, userID uuid.UUID, now, expires time.Time) error
	Lookup(ctx context.Context, tokenHash []byte, now, idleSince time.Time) (projections.SessionUser, bool, error)
	Touch(ctx context.Context, tokenHash []byte, now time.Time) error
	Revoke(ctx context.Context, tokenHash []byte, now time.Time) (bool, error)
	RevokeUser(ctx context.Context, userID uuid.UUID, now time.Time) (int64, error)
}

// Config is what the service is built from; the composition root fills it in.
type Config struct {
	Users    Users
	Groups   Groups
	Accounts Accounts
	Sessions Sessions
	Redis    *redis.Client // throttling, shared by every API process
	Mailer   Mailer
	Hasher   *password.Hasher
	// PublicBaseURL prefixes the links in verification and reset mails.
	PublicBaseURL string
	// SessionTTL is how long a login token works (default 24 h).
	SessionTTL time.Duration
	// SessionIdle ends a session unused for that long (default 2 h).
	SessionIdle time.Duration
	// VerifyTTL and ResetTTL bound the mailed tokens (default 24 h and 1 h).
	VerifyTTL time.Duration
	ResetTTL  time.Duration
	// PrincipalTTL is how long an authenticated token's Principal is reused
	// without a session lookup (0 means PrincipalCacheTTL, negative turns
	// the cache off): the longest a token revoked by another process keeps
	// working. Revocations made by this process take effect at once.
	PrincipalTTL time.Duration
	// Throttle bounds logins and account mails; zero values take the
	// defaults of the API contract.
	Throttle ThrottleConfig
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the identity application service.
type Service struct {
	cfg      Config
	throttle *throttle
	// principals caches Authenticate's answers; nil when PrincipalTTL < 0.
	principals *principalCache
	bg         sync.WaitGroup
}

// New checks cfg and builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.Users == nil || cfg.Groups == nil || cfg.Accounts == nil || cfg.Sessions == nil ||
		cfg.Redis == nil || cfg.Mailer == nil || cfg.Hasher == nil {
		return nil, errors.New("identity: needs the user and group handlers, the users read model, sessions, Redis, a mailer and a password hasher")
	}
	if cfg.PublicBaseURL == "" {
		return nil, errors.New("identity: needs PUBLIC_BASE_URL for mailed links")
	}
	cfg.PublicBaseURL = strings.TrimRight(cfg.PublicBaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 24 * time.Hour
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 2 * time.Hour
	}
	if cfg.VerifyTTL <= 0 {
		cfg.VerifyTTL = 24 * time.Hour
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = time.Hour
	}
	cfg.Throttle.defaults()
	var principals *principalCache
	switch {
	case cfg.PrincipalTTL == 0:
		principals = newPrincipalCache(PrincipalCacheTTL)
	case cfg.PrincipalTTL > 0:
		principals = newPrincipalCache(cfg.PrincipalTTL)
	}
	return &Service{cfg: cfg, throttle: &throttle{rdb: cfg.Redis, cfg: cfg.Throttle}, principals: principals}, nil
}

// Wait blocks until the work done in the background after an answer (the
// mails, a password reset request) is done (shutdown and tests).
func (s *Service) Wait() { s.bg.Wait() }
