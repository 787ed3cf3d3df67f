package http_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// Cached principals never outlive what revoked them in this process, and
// outlive a revocation made elsewhere by at most identity.PrincipalCacheTTL.
func TestIdentityPrincipalCacheBounds(t *testing.T) {
	t.Parallel()
	// The application's clock runs ahead on demand, so sessions are old
	// enough to be cached without the test waiting.
	var ahead atomic.Int64
	env := apptest.Start(t, apptest.WithNow(func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }))
	idGroups(t, env)
	root := idSuperuser(t, env)
	out, blocked, reset, elsewhere := idVerified(t, env), idVerified(t, env), idVerified(t, env), idVerified(t, env)
	ahead.Store(int64(time.Minute))
	for _, u := range []idAccount{root, out, blocked, reset, elsewhere} {
		idWant(t, "cache the principal", env.Do("GET", "/api/v1/me", nil, u.bearer()...), 200)
	}

	idWant(t, "logout", env.Do("POST", "/api/v1/auth/logout", nil, out.bearer()...), 204)
	idWant(t, "after logout", env.Do("GET", "/api/v1/me", nil, out.bearer()...), 401, "unauthenticated")

	idWant(t, "block", env.Do("POST", "/api/v1/users/"+blocked.ID.String()+"/block", nil, root.bearer()...), 200)
	idWant(t, "after block", env.Do("GET", "/api/v1/me", nil, blocked.bearer()...), 401, "unauthenticated")

	idWant(t, "reset", env.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": reset.Email}), 202)
	m := idTokenLineRE.FindStringSubmatch(idMail(t, env, reset.Email, "Reset", 0))
	if m == nil {
		t.Fatal("no token in the reset mail")
	}
	idWant(t, "confirm", env.Do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": m[1], "password": "a new password 123"}), 200)
	idWant(t, "after reset", env.Do("GET", "/api/v1/me", nil, reset.bearer()...), 401, "unauthenticated")

	// Another process (another API instance, an operator) revokes the
	// session in the table: the token stops working within the TTL.
	// A request sent once the TTL has passed since the revocation must be
	// refused; one sent before may still be let in, however long it takes.
	revoked := time.Now()
	if _, err := env.Pool.Exec(context.Background(), `UPDATE sessions SET revoked_at = now() WHERE user_id = $1`, elsewhere.ID); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the token revoked elsewhere to stop working", func() bool {
		sent := time.Now()
		res := env.Do("GET", "/api/v1/me", nil, elsewhere.bearer()...)
		if res.Status == 401 {
			return true
		}
		idWant(t, "before the TTL", res, 200)
		if late := sent.Sub(revoked); late > identity.PrincipalCacheTTL {
			t.Fatalf("a token revoked elsewhere still works when sent %s later (TTL %s)", late, identity.PrincipalCacheTTL)
		}
		return false
	})
}
