package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// ThrottleConfig bounds what one caller can make Herald do about accounts.
//
// Logins: an address may try AddrLimit logins (over any accounts) per
// Window; an account takes AccountLimit wrong passwords per Window, after
// which only addresses that have not failed on it in the window are still
// heard (see Login). Account mails: an address may register or ask for a
// password reset MailAddrLimit times per MailWindow, and one recipient is
// sent a password reset at most once per MailRecipientEvery. Whatever is over its bound is
// refused with a RateLimitedError until the window ends, alike for emails
// with and without an account.
type ThrottleConfig struct {
	AccountLimit int64 // default 5
	// AddrLimit must exceed AccountLimit; default 20.
	AddrLimit          int64
	Window             time.Duration // default 15 min
	MailAddrLimit      int64         // default 10
	MailWindow         time.Duration // default 1 h
	MailRecipientEvery time.Duration // default 1 min
	// KeyPrefix namespaces the Redis keys (tests use a unique one).
	KeyPrefix string
}

func (c *ThrottleConfig) defaults() {
	if c.AccountLimit <= 0 {
		c.AccountLimit = 5
	}
	if c.AddrLimit <= c.AccountLimit {
		c.AddrLimit = max(20, c.AccountLimit+1)
	}
	if c.Window <= 0 {
		c.Window = 15 * time.Minute
	}
	if c.MailAddrLimit <= 0 {
		c.MailAddrLimit = 10
	}
	if c.MailWindow <= 0 {
		c.MailWindow = time.Hour
	}
	if c.MailRecipientEvery <= 0 {
		c.MailRecipientEvery = time.Minute
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "herald:"
	}
}

// RateLimitedError refuses a login, registration or password reset request
// while its caller, account or recipient is over its bound; RetryAfter says
// when the window ends.
type RateLimitedError struct{ retry time.Duration }

func (e *RateLimitedError) Error() string { return "too many attempts; try again later" }

// RetryAfter is how long until the call is worth trying again.
func (e *RateLimitedError) RetryAfter() time.Duration { return e.retry }

// throttle keeps its counters in Redis (shared by every API process), one
// fixed window per key opened by its first count. Each attempt is counted
// by one script before any work is done, so parallel requests cannot all
// read a count under the limit and then all go ahead. When Redis is
// unreachable nothing is throttled (logged): an outage of Redis must not
// lock every user out.
type throttle struct {
	rdb *redis.Client
	cfg ThrottleConfig
}

// reserveLogin counts one login attempt, unless the address is over its
// limit, or the account is over its limit and this address has already
// failed on it (or is trying it right now): then it refuses. KEYS: the
// account's failures, the address's attempts, the address's failures on
// the account. ARGV: the account limit, the address limit, the window in ms.
// Answers 0 when counted, else the milliseconds until the refusing window
// ends.
var reserveLogin = redis.NewScript(`
local function count(k) return tonumber(redis.call('GET', k) or '0') end
local function wait(k)
  local t = redis.call('PTTL', k)
  if t < 0 then return tonumber(ARGV[3]) end
  return t
end
if count(KEYS[2]) >= tonumber(ARGV[2]) then return wait(KEYS[2]) end
if count(KEYS[1]) >= tonumber(ARGV[1]) and count(KEYS[3]) > 0 then return wait(KEYS[1]) end
for _, k in ipairs(KEYS) do
  if redis.call('INCR', k) == 1 then redis.call('PEXPIRE', k, ARGV[3]) end
end
return 0
`)

// releaseLogin takes back an attempt that was not a wrong password: the
// account's and the address's counts go down by one (within their
// window), and the address is clean for the account again.
var releaseLogin = redis.NewScript(`
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
redis.call('DEL', KEYS[3])
return 0
`)

// reserveMail counts one account mail request of an address, unless the
// address is over its limit or the recipient (when named) was mailed within
// its interval. KEYS: the address's requests, and the recipient's marker if
// any. ARGV: the address limit, its window in ms, the recipient interval in
// ms. Answers as reserveLogin.
var reserveMail = redis.NewScript(`
local function wait(k, def)
  local t = redis.call('PTTL', k)
  if t < 0 then return tonumber(def) end
  return t
end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return wait(KEYS[1], ARGV[2]) end
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return wait(KEYS[2], ARGV[3]) end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if KEYS[2] then redis.call('SET', KEYS[2], 1, 'PX', ARGV[3]) end
return 0
`)

// hashed keeps emails out of Redis in clear.
func hashed(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// loginAttempt is a counted login attempt; release takes it back.
type loginAttempt struct {
	t    *throttle
	keys []string // nil when Redis did not count it
}

// login reserves one attempt to log in to email from addr, or refuses
// with a *RateLimitedError.
func (t *throttle) login(ctx context.Context, email, addr string) (loginAttempt, error) {
	p := t.cfg.KeyPrefix + "login:"
	keys := []string{p + "account:" + hashed(email), p + "addr:" + addr, p + "pair:" + hashed(email, addr)}
	wait, err := reserveLogin.Run(ctx, t.rdb, keys, t.cfg.AccountLimit, t.cfg.AddrLimit, t.cfg.Window.Milliseconds()).Int64()
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("login throttle unavailable; not throttling")
		return loginAttempt{}, nil
	}
	if wait > 0 {
		return loginAttempt{}, &RateLimitedError{retry: time.Duration(wait) * time.Millisecond}
	}
	return loginAttempt{t: t, keys: keys}, nil
}

// release takes the attempt back: only wrong passwords stay counted.
func (a loginAttempt) release(ctx context.Context) {
	if a.keys == nil {
		return
	}
	if err := releaseLogin.Run(ctx, a.t.rdb, a.keys).Err(); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("login throttle unavailable; attempt not released")
	}
}

// mail reserves one request from addr for an account mail, or refuses
// with a *RateLimitedError. A password reset names its recipient, mailed at
// most once per interval; a registration does not (an email has one
// account, so its verification mail goes out once). It answers the same
// for emails with and without an account.
func (t *throttle) mail(ctx context.Context, addr, resetRecipient string) error {
	p := t.cfg.KeyPrefix + "accountmail:"
	keys := []string{p + "addr:" + addr}
	if resetRecipient != "" {
		keys = append(keys, p+"reset:"+hashed(resetRecipient))
	}
	wait, err := reserveMail.Run(ctx, t.rdb, keys, t.cfg.MailAddrLimit, t.cfg.MailWindow.Milliseconds(),
		t.cfg.MailRecipientEvery.Milliseconds()).Int64()
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("account mail throttle unavailable; not throttling")
		return nil
	}
	if wait > 0 {
		return &RateLimitedError{retry: time.Duration(wait) * time.Millisecond}
	}
	return nil
}
