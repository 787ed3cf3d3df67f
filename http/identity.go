package http

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/password"
	"github.com/heraldmail/herald/mail"
	"github.com/heraldmail/herald/projections"
)

// Mailer sends one message; *mail.Client is one.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) mail.Result
}

// IdentityConfig is what the identity area needs; cmd/herald fills it in.
type IdentityConfig struct {
	Pool   *pgxpool.Pool
	Store  commands.EventStore
	Redis  *redis.Client // login throttling, shared by every API process
	Mailer Mailer
	Hasher *password.Hasher
	// PublicBaseURL prefixes the links in verification and reset mails.
	PublicBaseURL string
	// SessionTTL is how long a login token works (default 24 h).
	SessionTTL time.Duration
	// VerifyTTL and ResetTTL bound the mailed tokens (default 24 h and 1 h).
	VerifyTTL time.Duration
	ResetTTL  time.Duration
	// PrincipalTTL is how long an authenticated token's Principal is reused
	// without a session lookup (0 means PrincipalCacheTTL, negative turns
	// the cache off): the longest a token revoked by another process keeps
	// working. Revocations made by this process take effect at once.
	PrincipalTTL time.Duration
	// Throttle bounds failed logins; zero values take the defaults of API.md.
	Throttle ThrottleConfig
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger logs background work (mails sent after the answer).
	Logger zerolog.Logger
}

// ThrottleConfig: after EmailLimit failures for one email, or AddrLimit from
// one address, within Window, logins answer 429 until the window ends.
type ThrottleConfig struct {
	EmailLimit int64
	AddrLimit  int64
	Window     time.Duration
	// KeyPrefix namespaces the Redis keys (tests use a unique one).
	KeyPrefix string
}

// Identity is the identity area: registration, verification, login,
// sessions, password reset, /me and the users endpoints. It is the API's
// Authenticator and a Module.
type Identity struct {
	cfg      IdentityConfig
	users    *commands.UserHandler
	groups   *commands.GroupHandler
	queries  *projections.UserQueries
	sessions *projections.Sessions
	throttle *loginThrottle
	// principals caches Authenticate's answers; nil when PrincipalTTL < 0.
	principals *principalCache
	bg         sync.WaitGroup
}

// NewIdentity checks cfg and builds the area.
func NewIdentity(cfg IdentityConfig) (*Identity, error) {
	if cfg.Pool == nil || cfg.Store == nil || cfg.Redis == nil || cfg.Mailer == nil || cfg.Hasher == nil {
		return nil, errors.New("http: identity needs a pool, an event store, Redis, a mailer and a password hasher")
	}
	if cfg.PublicBaseURL == "" {
		return nil, errors.New("http: identity needs PUBLIC_BASE_URL for mailed links")
	}
	cfg.PublicBaseURL = strings.TrimRight(cfg.PublicBaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 24 * time.Hour
	}
	if cfg.VerifyTTL <= 0 {
		cfg.VerifyTTL = 24 * time.Hour
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = time.Hour
	}
	if cfg.Throttle.EmailLimit <= 0 {
		cfg.Throttle.EmailLimit = 5
	}
	if cfg.Throttle.AddrLimit <= 0 {
		cfg.Throttle.AddrLimit = 20
	}
	if cfg.Throttle.Window <= 0 {
		cfg.Throttle.Window = 15 * time.Minute
	}
	if cfg.Throttle.KeyPrefix == "" {
		cfg.Throttle.KeyPrefix = "herald:"
	}
	q, err := projections.NewUserQueries(cfg.Pool)
	if err != nil {
		return nil, err
	}
	s, err := projections.NewSessions(cfg.Pool)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	users, err := commands.NewUserHandler(cfg.Store, q, func() time.Time { return now() })
	if err != nil {
		return nil, err
	}
	groups, err := commands.NewGroupHandler(cfg.Store)
	if err != nil {
		return nil, err
	}
	var principals *principalCache
	switch {
	case cfg.PrincipalTTL == 0:
		principals = newPrincipalCache(PrincipalCacheTTL)
	case cfg.PrincipalTTL > 0:
		principals = newPrincipalCache(cfg.PrincipalTTL)
	}
	return &Identity{cfg: cfg, users: users, groups: groups, queries: q, sessions: s,
		throttle: &loginThrottle{rdb: cfg.Redis, cfg: cfg.Throttle}, principals: principals}, nil
}

// Wait blocks until mails sent in the background after an answer are done
// (shutdown and tests).
func (id *Identity) Wait() { id.bg.Wait() }

// Mount registers the auth, /me and users routes.
func (id *Identity) Mount(r chi.Router) {
	id.mountAuth(r)
	id.mountUsers(r)
}

// Tokens (sessions, verification, reset) are 256 random bits, base64url
// without padding (43 characters); only their SHA-256 is stored.
const tokenBytes = 32

func newToken() (token string, hash []byte) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// tokenKey is the claim key of a mailed token: its SHA-256 in hex.
func tokenKey(token string) string { return hex.EncodeToString(hashToken(token)) }

// wellFormedToken rejects what newToken cannot have made, before any lookup.
func wellFormedToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

var errNoSession = domain.NotFound("session")

// Authenticate resolves a bearer token into its Principal. A session lives
// in the sessions table (revoked at once by logout, block and password
// reset) joined with the users read model; when that model has not caught up
// with the account yet, the account is rebuilt from its events. Good answers
// are kept for a moment in the principal cache (see principalCache for the
// staleness bounds).
func (id *Identity) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !wellFormedToken(token) {
		return Principal{}, errNoSession
	}
	hash := sha256.Sum256([]byte(token))
	now := id.cfg.Now()
	if p, ok := id.principals.get(hash, now); ok {
		return p, nil
	}
	gen := id.principals.generation()
	su, ok, err := id.sessions.Lookup(ctx, hash[:], now)
	if err != nil {
		return Principal{}, err
	}
	if !ok {
		return Principal{}, errNoSession
	}
	row := su.User
	if row == nil {
		v, err := id.view(ctx, su.UserID)
		if errors.Is(err, domain.ErrNotFound) {
			return Principal{}, errNoSession
		}
		if err != nil {
			return Principal{}, err
		}
		if !v.IsActive {
			return Principal{}, errNoSession
		}
		// Not cached: the read model will have the account in a moment.
		return principalOf(&projections.UserRow{ID: v.ID, Email: v.Email, IsStaff: v.IsStaff, IsSuperuser: v.IsSuperuser,
			Groups: v.Groups, Permissions: v.Permissions}), nil
	}
	p := principalOf(row)
	id.principals.put(hash, gen, p, su.CreatedAt, su.ExpiresAt, now)
	return p, nil
}

func principalOf(row *projections.UserRow) Principal {
	perms := make(map[string]bool, len(row.Permissions))
	for _, p := range row.Permissions {
		perms[p] = true
	}
	return Principal{UserID: row.ID, Email: row.Email, IsStaff: row.IsStaff, IsSuperuser: row.IsSuperuser,
		Permissions: perms, Groups: row.Groups}
}

// userView is the User of API.md (plus version and permissions).
type userView struct {
	ID            uuid.UUID `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	IsActive      bool      `json:"is_active"`
	IsStaff       bool      `json:"is_staff"`
	IsSuperuser   bool      `json:"is_superuser"`
	EmailVerified bool      `json:"email_verified"`
	Groups        []string  `json:"groups"`
	Permissions   []string  `json:"permissions"`
	CreatedAt     time.Time `json:"created_at"`
	Version       int64     `json:"version"`
}

func viewOfRow(u projections.UserRow) userView {
	return userView{ID: u.ID, Email: u.Email, Name: u.Name, IsActive: u.IsActive, IsStaff: u.IsStaff,
		IsSuperuser: u.IsSuperuser, EmailVerified: u.EmailVerified, Groups: u.Groups, Permissions: u.Permissions,
		CreatedAt: u.CreatedAt, Version: u.Version}
}

// viewOf is the account as its events say, right after a command; the
// permissions come from the groups read model (groups change rarely).
func (id *Identity) viewOf(ctx context.Context, u *domain.User, version int64) (userView, error) {
	perms := domain.AllPermissions()
	if !u.Superuser() {
		var err error
		if perms, err = id.groupPermissions(ctx, u.Groups()); err != nil {
			return userView{}, err
		}
	}
	groups := u.Groups()
	if groups == nil {
		groups = []string{}
	}
	return userView{ID: u.ID(), Email: u.Email(), Name: u.Name(), IsActive: u.Active(), IsStaff: u.Staff(),
		IsSuperuser: u.Superuser(), EmailVerified: u.EmailVerified(), Groups: groups, Permissions: perms,
		CreatedAt: u.CreatedAt().UTC(), Version: version}, nil
}

// groupPermissions is the union of the groups' permissions, from the group
// streams (a group just created is seen at once).
func (id *Identity) groupPermissions(ctx context.Context, groups []string) ([]string, error) {
	set := map[string]bool{}
	for _, name := range groups {
		g, err := id.groups.Load(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, p := range g.Permissions() {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// view loads the account from its events (never stale).
func (id *Identity) view(ctx context.Context, userID uuid.UUID) (userView, error) {
	u, _, err := id.users.Load(ctx, userID)
	if err != nil {
		return userView{}, err
	}
	return id.viewOf(ctx, u, u.Version())
}

// identityMeta is the audit metadata of a command made by request r.
func identityMeta(r *http.Request, actor uuid.UUID, command string) domain.Metadata {
	corr, err := uuid.Parse(RequestID(r.Context()))
	if err != nil {
		corr = uuid.New()
	}
	return domain.Metadata{ActorID: actor, CorrelationID: corr, Command: command}
}

// clientAddr is the caller's IP address (RemoteAddr, which a trusted proxy
// middleware may have rewritten), the key of the per-address throttle.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginThrottle counts failed logins in Redis (shared by every API process):
// one fixed window per key, opened by the first failure and lasting
// cfg.Window. When Redis is unreachable logins are not throttled (logged):
// an outage of Redis must not lock every user out.
type loginThrottle struct {
	rdb *redis.Client
	cfg ThrottleConfig
}

func (t *loginThrottle) keys(email, addr string) (emailKey, addrKey string) {
	sum := sha256.Sum256([]byte(email)) // no address in clear in Redis
	return t.cfg.KeyPrefix + "login:fail:email:" + hex.EncodeToString(sum[:16]),
		t.cfg.KeyPrefix + "login:fail:addr:" + addr
}

// rateLimited is the 429 answer with its Retry-After.
type rateLimited struct{ retry time.Duration }

func (e rateLimited) Error() string {
	return "too many failed logins; try again later"
}
func (e rateLimited) Code() string              { return CodeRateLimited }
func (e rateLimited) RetryAfter() time.Duration { return e.retry }

// check returns a rateLimited error when either counter is at its limit.
func (t *loginThrottle) check(ctx context.Context, email, addr string) error {
	ek, ak := t.keys(email, addr)
	pipe := t.rdb.Pipeline()
	eCount, aCount := pipe.Get(ctx, ek), pipe.Get(ctx, ak)
	eTTL, aTTL := pipe.PTTL(ctx, ek), pipe.PTTL(ctx, ak)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("login throttle unavailable; not throttling")
		return nil
	}
	var retry time.Duration
	if n, _ := eCount.Int64(); n >= t.cfg.EmailLimit {
		retry = max(retry, ttlOr(eTTL.Val(), t.cfg.Window))
	}
	if n, _ := aCount.Int64(); n >= t.cfg.AddrLimit {
		retry = max(retry, ttlOr(aTTL.Val(), t.cfg.Window))
	}
	if retry > 0 {
		return rateLimited{retry: retry}
	}
	return nil
}

func ttlOr(ttl, def time.Duration) time.Duration {
	if ttl <= 0 {
		return def
	}
	return ttl
}

// fail counts one failed login for email and addr.
func (t *loginThrottle) fail(ctx context.Context, email, addr string) {
	ek, ak := t.keys(email, addr)
	pipe := t.rdb.TxPipeline()
	for _, k := range []string{ek, ak} {
		pipe.SetNX(ctx, k, 0, t.cfg.Window) // opens the window; INCR keeps its TTL
		pipe.Incr(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("login throttle unavailable; failure not counted")
	}
}

// resetAllowed lets one password reset mail per email leave per minute, so
// the endpoint cannot be used to flood a mailbox. It answers the same for
// emails with and without an account.
func (t *loginThrottle) resetAllowed(ctx context.Context, email string) bool {
	sum := sha256.Sum256([]byte(email))
	ok, err := t.rdb.SetNX(ctx, t.cfg.KeyPrefix+"reset:email:"+hex.EncodeToString(sum[:16]), 1, time.Minute).Result()
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("reset throttle unavailable; not throttling")
		return true
	}
	return ok
}

// succeed clears the email's failures (not the address's).
func (t *loginThrottle) succeed(ctx context.Context, email, addr string) {
	ek, _ := t.keys(email, addr)
	if err := t.rdb.Del(ctx, ek).Err(); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("login throttle unavailable; failures not cleared")
	}
}

// sendMail sends one identity mail, logging the outcome (never the body:
// it holds a token).
func (id *Identity) sendMail(ctx context.Context, log zerolog.Logger, kind string, to *domain.User, subject, body string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res := id.cfg.Mailer.Send(ctx, mail.Message{To: to.Email(), ToName: to.Name(), Subject: subject, TextBody: body})
	ev := log.Info()
	if !res.OK() {
		ev = log.Error().Err(res.Err)
	}
	ev.Str("mail", kind).Str("user_id", to.ID().String()).Str("outcome", res.Outcome.String()).
		Str("server_response", res.Response).Msg("identity mail")
}

func (id *Identity) verificationMail(u *domain.User, token string) (subject, body string) {
	link := id.cfg.PublicBaseURL + "/api/v1/auth/verify?token=" + token
	// The token also stands alone on a line: mail clients and scripts that
	// see the quoted-printable source (where "=" is "=3D" and long lines are
	// folded) can still copy it whole.
	return "Confirm your Herald account", fmt.Sprintf(`Hello %s,

Please confirm the email address of your Herald account by opening this link:

%s

or by sending this token to POST %s/api/v1/auth/verify as {"token": "..."}:

%s

The link works once and expires in %s. If you did not register, ignore this message.
`, u.Name(), link, id.cfg.PublicBaseURL, token, id.cfg.VerifyTTL)
}

func (id *Identity) resetMail(u *domain.User, token string) (subject, body string) {
	return "Reset your Herald password", fmt.Sprintf(`Hello %s,

Someone asked to reset the password of your Herald account. To choose a new one, send
this token with your new password to POST %s/api/v1/auth/password-reset/confirm:

%s

The token works once and expires in %s. If you did not ask, ignore this message; your
password stays as it is.
`, u.Name(), id.cfg.PublicBaseURL, token, id.cfg.ResetTTL)
}
