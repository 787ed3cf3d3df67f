package identity

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// principalCache keeps, for a short while, the Principal a session token
// resolved to, so that a busy client does not cost a session lookup (a
// PostgreSQL round trip joining sessions, users and groups) per request.
//
// Staleness is bounded, and zero where this process made the change:
//   - logout, block, activate, password reset and group changes served by
//     this process drop the entries they affect before they answer, and the
//     user's entries are not refilled for quiet (the users read model may
//     still lag the change);
//   - a change made by another process (another API instance, the CLI's
//     create-groups, a direct revocation in the sessions table) is seen
//     after at most ttl, plus, for permissions, the users read model's lag
//     as before the cache existed;
//   - a session younger than fresh is never cached: a login's first
//     requests read through, so a group change committed just before the
//     login shows as soon as the read model has it.
//
// Only good answers are cached: an unknown, revoked or expired token, or a
// blocked user, is looked up again on every request.
type principalCache struct {
	ttl, quiet, fresh time.Duration
	max               int
	now               func() time.Time // monotonic clock of the bounds above

	mu      sync.RWMutex
	entries map[[32]byte]principalEntry
	// quietUntil holds users changed by this process a moment ago.
	quietUntil map[uuid.UUID]time.Time
	// gen counts invalidations: a lookup that started before one must not
	// store what it read, which the invalidation may have outdated.
	gen uint64
}

type principalEntry struct {
	p        Principal
	until    time.Time // monotonic: when the entry stops being used
	sessionX time.Time // the session's expiry, on the application's clock
}

// Defaults of the principal cache (the API contract's "at once" holds within one
// process; across processes a revoked token works for at most this TTL).
const (
	PrincipalCacheTTL   = time.Second
	principalQuiet      = 5 * time.Second
	principalFresh      = 5 * time.Second
	principalCacheLimit = 100_000
)

func newPrincipalCache(ttl time.Duration) *principalCache {
	return &principalCache{ttl: ttl, quiet: principalQuiet, fresh: principalFresh, max: principalCacheLimit,
		now: time.Now, entries: map[[32]byte]principalEntry{}, quietUntil: map[uuid.UUID]time.Time{}}
}

// get returns the cached Principal of a token hash; appNow is the
// application's clock, against which the session's expiry is checked.
func (c *principalCache) get(hash [32]byte, appNow time.Time) (Principal, bool) {
	if c == nil {
		return Principal{}, false
	}
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.until) || !appNow.Before(e.sessionX) {
		return Principal{}, false
	}
	return e.p, true
}

// generation is read before a lookup and handed to put after it.
func (c *principalCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put stores what a lookup that began at generation gen found, unless an
// invalidation happened since, the user changed a moment ago or the session
// is too young to be trusted with a cached view of its permissions.
func (c *principalCache) put(hash [32]byte, gen uint64, p Principal, sessionCreated, sessionExpires, appNow time.Time) {
	if c == nil || c.ttl <= 0 || appNow.Sub(sessionCreated) < c.fresh {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if t, ok := c.quietUntil[p.UserID]; ok {
		if now.Before(t) {
			return
		}
		delete(c.quietUntil, p.UserID)
	}
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[hash] = principalEntry{p: p, until: now.Add(c.ttl), sessionX: sessionExpires}
}

// forgetToken drops one token (logout).
func (c *principalCache) forgetToken(hash [32]byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, hash)
}

// forgetUser drops every token of a user and keeps the user out of the
// cache for a moment (block, activate, password reset, group change).
func (c *principalCache) forgetUser(id uuid.UUID) {
	if c == nil {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if e.p.UserID == id {
			delete(c.entries, k)
		}
	}
	for u, t := range c.quietUntil {
		if !now.Before(t) {
			delete(c.quietUntil, u)
		}
	}
	c.quietUntil[id] = now.Add(c.quiet)
}
