package identity

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestPrincipalCache(t *testing.T) {
	mono := time.Unix(1000, 0)
	app := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := newPrincipalCache(time.Second)
	c.now = func() time.Time { return mono }
	old, expires := app.Add(-time.Hour), app.Add(time.Hour)
	alice, bob := Principal{UserID: uuid.New()}, Principal{UserID: uuid.New()}
	ta, ta2, tb := [32]byte{1}, [32]byte{2}, [32]byte{3}

	c.put(ta, c.generation(), alice, old, expires, app)
	if p, ok := c.get(ta, app); !ok || p.UserID != alice.UserID {
		t.Fatalf("get after put: %v %v", p, ok)
	}
	mono = mono.Add(999 * time.Millisecond)
	if _, ok := c.get(ta, app); !ok {
		t.Fatal("entry gone before its TTL")
	}
	mono = mono.Add(time.Millisecond)
	if _, ok := c.get(ta, app); ok {
		t.Fatal("entry used at its TTL")
	}

	// The session's own expiry holds even within the TTL.
	c.put(ta, c.generation(), alice, old, app.Add(time.Minute), app)
	if _, ok := c.get(ta, app.Add(time.Minute)); ok {
		t.Fatal("entry used past the session's expiry")
	}

	// A young session is not cached.
	c.put(tb, c.generation(), bob, app.Add(-time.Second), expires, app)
	if _, ok := c.get(tb, app); ok {
		t.Fatal("young session cached")
	}

	// A lookup that raced an invalidation does not store what it read.
	gen := c.generation()
	c.forgetToken(tb)
	c.put([32]byte{4}, gen, alice, old, expires, app)
	if _, ok := c.get([32]byte{4}, app); ok {
		t.Fatal("stored a lookup older than an invalidation")
	}

	// Logout drops one token; a user change drops all of the user's tokens,
	// and keeps the user out of the cache for the quiet period.
	c.put(ta, c.generation(), alice, old, expires, app)
	c.put(ta2, c.generation(), alice, old, expires, app)
	c.put(tb, c.generation(), bob, old, expires, app)
	c.forgetToken(ta)
	if _, ok := c.get(ta, app); ok {
		t.Fatal("forgotten token still cached")
	}
	c.forgetUser(alice.UserID)
	if _, ok := c.get(ta2, app); ok {
		t.Fatal("forgotten user's token still cached")
	}
	if _, ok := c.get(tb, app); !ok {
		t.Fatal("another user's token dropped")
	}
	c.put(ta2, c.generation(), alice, old, expires, app)
	if _, ok := c.get(ta2, app); ok {
		t.Fatal("user cached during the quiet period")
	}
	mono = mono.Add(principalQuiet)
	c.put(ta2, c.generation(), alice, old, expires, app)
	if _, ok := c.get(ta2, app); !ok {
		t.Fatal("user not cached after the quiet period")
	}

	// The size stays bounded.
	c.max = 10
	for i := range 25 {
		c.put([32]byte{9, byte(i)}, c.generation(), bob, old, expires, app)
	}
	if n := len(c.entries); n > 10 {
		t.Fatalf("%d entries, limit 10", n)
	}

	// Off (nil) caches nothing and does not fail.
	var off *principalCache
	off.put(ta, off.generation(), alice, old, expires, app)
	off.forgetUser(alice.UserID)
	off.forgetToken(ta)
	if _, ok := off.get(ta, app); ok {
		t.Fatal("nil cache answered")
	}
}
