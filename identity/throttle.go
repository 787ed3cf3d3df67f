package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// ThrottleConfig: after EmailLimit failures for one email, or AddrLimit from
// one address, within Window, logins are refused with a RateLimitedError
// until the window ends.
type ThrottleConfig struct {
	EmailLimit int64
	AddrLimit  int64
	Window     time.Duration
	// KeyPrefix namespaces the Redis keys (tests use a unique one).
	KeyPrefix string
}

func (c *ThrottleConfig) defaults() {
	if c.EmailLimit <= 0 {
		c.EmailLimit = 5
	}
	if c.AddrLimit <= 0 {
		c.AddrLimit = 20
	}
	if c.Window <= 0 {
		c.Window = 15 * time.Minute
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "herald:"
	}
}

// RateLimitedError refuses a login while its email or address has failed
// too often; RetryAfter says when the window ends.
type RateLimitedError struct{ retry time.Duration }

func (e *RateLimitedError) Error() string { return "too many failed logins; try again later" }

// RetryAfter is how long until a login is tried again.
func (e *RateLimitedError) RetryAfter() time.Duration { return e.retry }

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

// check returns a *RateLimitedError when either counter is at its limit.
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
		return &RateLimitedError{retry: retry}
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
