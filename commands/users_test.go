package commands_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

type identityEnv struct {
	store  *eventstore.Store
	users  *commands.UserHandler
	groups *commands.GroupHandler
	now    time.Time
}

func newIdentityEnv(t *testing.T) *identityEnv {
	t.Helper()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	q, err := projections.NewUserQueries(pool)
	if err != nil {
		t.Fatal(err)
	}
	env := &identityEnv{store: store, now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	env.users, err = commands.NewUserHandler(store, q, func() time.Time { return env.now })
	if err != nil {
		t.Fatal(err)
	}
	env.groups, err = commands.NewGroupHandler(store)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

var meta = domain.Metadata{ActorID: uuid.New(), CorrelationID: uuid.New(), Command: "test"}

func (env *identityEnv) register(t *testing.T, email, verifyHash string) (*domain.User, error) {
	t.Helper()
	u, _, err := env.users.Register(context.Background(), meta, commands.Register{
		Account:    domain.NewAccount{Email: email, Name: "Ann", PasswordHash: "$2a$04$hash"},
		VerifyHash: verifyHash, VerifyExpires: env.now.Add(24 * time.Hour),
	})
	return u, err
}

func TestRegisterClaimsEmailCaseInsensitively(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	u, err := env.register(t, "Ann@Example.com", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Groups()[0] != domain.GroupUsers || u.Email() != "ann@example.com" {
		t.Fatalf("user %v %v", u.Email(), u.Groups())
	}
	if _, err := env.register(t, "  ANN@example.COM ", "v2"); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("duplicate: %v", err)
	}
	got, _, err := env.users.FindByEmail(context.Background(), "ann@EXAMPLE.com")
	if err != nil || got.ID() != u.ID() {
		t.Fatalf("FindByEmail = %v, %v", got, err)
	}
}

func TestConcurrentRegistrationMakesOneAccount(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	var ok, taken atomic.Int32
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := env.register(t, "race@example.com", uuid.NewString()+string(rune('a'+i)))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, domain.ErrEmailTaken):
				taken.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || taken.Load() != 11 {
		t.Fatalf("ok %d taken %d", ok.Load(), taken.Load())
	}
	var streams int
	err := env.store.Pool().QueryRow(context.Background(), `SELECT count(DISTINCT stream_id) FROM events WHERE type = 'user.registered'`).Scan(&streams)
	if err != nil || streams != 1 {
		t.Fatalf("streams %d, %v", streams, err)
	}
}

func TestVerifyTokenWorksOnceAndExpires(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	ctx := context.Background()
	u, err := env.register(t, "v@example.com", "hash-v")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.users.VerifyEmail(ctx, meta, "nope"); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("unknown token: %v", err)
	}
	v, res, err := env.users.VerifyEmail(ctx, meta, "hash-v")
	if err != nil || !v.EmailVerified() || v.ID() != u.ID() || res.LastPosition == 0 {
		t.Fatalf("verify: %v %v", v, err)
	}
	if _, _, err := env.users.VerifyEmail(ctx, meta, "hash-v"); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("second use: %v", err)
	}
	// Expiry: a second account whose token is past its time.
	if _, err := env.register(t, "late@example.com", "hash-late"); err != nil {
		t.Fatal(err)
	}
	env.now = env.now.Add(25 * time.Hour)
	if _, _, err := env.users.VerifyEmail(ctx, meta, "hash-late"); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("expired: %v", err)
	}
}

func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	ctx := context.Background()
	if _, err := env.register(t, "r@example.com", "hv"); err != nil {
		t.Fatal(err)
	}
	if u, err := env.users.RequestPasswordReset(ctx, meta, "nobody@example.com", "x", env.now.Add(time.Hour)); u != nil || err != nil {
		t.Fatalf("unknown email: %v %v", u, err)
	}
	if _, err := env.users.RequestPasswordReset(ctx, meta, "R@example.com", "r1", env.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.users.RequestPasswordReset(ctx, meta, "r@example.com", "r2", env.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.users.ResetPassword(ctx, meta, "r1", "new-hash"); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("replaced token: %v", err)
	}
	u, _, err := env.users.ResetPassword(ctx, meta, "r2", "new-hash")
	if err != nil || u.PasswordHash() != "new-hash" || !u.EmailVerified() {
		t.Fatalf("reset: %v %v", u, err)
	}
	if _, _, err := env.users.ResetPassword(ctx, meta, "r2", "again"); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("reused: %v", err)
	}
	// The verification token died with the reset (the address is proven).
	if _, _, err := env.users.VerifyEmail(ctx, meta, "hv"); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("verify after reset: %v", err)
	}
	var claims int
	_ = env.store.Pool().QueryRow(ctx, `SELECT count(*) FROM unique_claims WHERE scope LIKE 'user_%token'`).Scan(&claims)
	if claims != 0 {
		t.Fatalf("%d token claims left", claims)
	}
}

func TestSuperuserIsIdempotent(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	ctx := context.Background()
	a := domain.NewAccount{Email: "Admin@Example.com", Name: "Admin", PasswordHash: "h"}
	u, created, err := env.users.CreateSuperuser(ctx, meta, a)
	if err != nil || !created || !u.Superuser() || !u.EmailVerified() {
		t.Fatalf("first: %v %v %v", u, created, err)
	}
	again, created, err := env.users.CreateSuperuser(ctx, meta, a)
	if err != nil || created || again.ID() != u.ID() {
		t.Fatalf("second: %v %v", created, err)
	}
	if _, err := env.register(t, "plain@example.com", "h"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.users.CreateSuperuser(ctx, meta, domain.NewAccount{Email: "plain@example.com", Name: "P", PasswordHash: "h"}); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("ordinary account: %v", err)
	}
	var n int
	_ = env.store.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'user.superuser_created'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d superusers", n)
	}
}

func TestCreateDefaultGroupsTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	ctx := context.Background()
	first, err := env.groups.CreateDefaultGroups(ctx, meta)
	if err != nil || first["users"] != commands.GroupCreated || first["managers"] != commands.GroupCreated {
		t.Fatalf("first: %v %v", first, err)
	}
	second, err := env.groups.CreateDefaultGroups(ctx, meta)
	if err != nil || second["users"] != commands.GroupUnchanged || second["managers"] != commands.GroupUnchanged {
		t.Fatalf("second: %v %v", second, err)
	}
	var n int
	_ = env.store.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_type = 'group'`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d group events", n)
	}
	g, _ := env.groups.Load(ctx, "managers")
	if len(g.Permissions()) != 7 {
		t.Fatalf("managers: %v", g.Permissions())
	}
}

func TestBlockActivateAndGroups(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	ctx := context.Background()
	if _, err := env.groups.CreateDefaultGroups(ctx, meta); err != nil {
		t.Fatal(err)
	}
	u, err := env.register(t, "b@example.com", "h")
	if err != nil {
		t.Fatal(err)
	}
	b, res, err := env.users.Block(ctx, meta, u.ID(), commands.NoIfMatch)
	if err != nil || b.Active() || res.Version != 3 {
		t.Fatalf("block: %v %v %v", b, res, err)
	}
	// Blocking again records nothing but answers where the stream is.
	_, res2, err := env.users.Block(ctx, meta, u.ID(), commands.NoIfMatch)
	if err != nil || res2.LastPosition != res.LastPosition || res2.Version != 3 {
		t.Fatalf("block again: %v %v", res2, err)
	}
	if _, _, err := env.users.Activate(ctx, meta, u.ID(), 1); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("stale If-Match: %v", err)
	}
	a, _, err := env.users.Activate(ctx, meta, u.ID(), 3)
	if err != nil || !a.Active() {
		t.Fatalf("activate: %v", err)
	}
	if _, _, err := env.users.SetGroups(ctx, meta, u.ID(), []string{"users", "ghosts"}, commands.NoIfMatch); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("unknown group: %v", err)
	}
	m, _, err := env.users.SetGroups(ctx, meta, u.ID(), []string{"users", "managers"}, commands.NoIfMatch)
	if err != nil || !m.Staff() {
		t.Fatalf("managers: %v", err)
	}
	if _, _, err := env.users.Block(ctx, meta, uuid.New(), commands.NoIfMatch); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
}

// superuser makes a superuser account through ccsu.
func (env *identityEnv) superuser(t *testing.T, email string) *domain.User {
	t.Helper()
	u, _, err := env.users.CreateSuperuser(context.Background(), meta, domain.NewAccount{Email: email, Name: "Root", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// account registers an account, in groups when some are given.
func (env *identityEnv) account(t *testing.T, email string, groups ...string) *domain.User {
	t.Helper()
	u, err := env.register(t, email, "verify-"+email)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) > 0 {
		if u, _, err = env.users.SetGroups(context.Background(), meta, u.ID(), groups, commands.NoIfMatch); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// manager is a staff account holding users.toggle, as the HTTP policy
// demands of whoever blocks: the command's rule is what stops it.
func (env *identityEnv) manager(t *testing.T, email string) *domain.User {
	t.Helper()
	if _, err := env.groups.CreateDefaultGroups(context.Background(), meta); err != nil {
		t.Fatal(err)
	}
	u := env.account(t, email, domain.GroupUsers, domain.GroupManagers)
	if !u.Staff() {
		t.Fatal("a manager is not staff")
	}
	return u
}

func actor(id uuid.UUID) domain.Metadata {
	return domain.Metadata{ActorID: id, CorrelationID: uuid.New(), Command: "test"}
}

// The block rules are the command's, whoever calls it: nobody blocks
// themselves, and only a superuser (by its own events) blocks or activates
// a superuser. A refused command writes nothing.
func TestBlockRulesAreDecidedByTheCommand(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	ctx := context.Background()
	root, other := env.superuser(t, "root@example.com"), env.superuser(t, "other-root@example.com")
	staff, plain := env.manager(t, "staff@example.com"), env.account(t, "plain@example.com")

	if _, _, err := env.users.Block(ctx, actor(staff.ID()), staff.ID(), commands.NoIfMatch); !errors.Is(err, domain.ErrBlockSelf) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("staff blocks itself: %v", err)
	}
	if _, _, err := env.users.Block(ctx, actor(root.ID()), root.ID(), commands.NoIfMatch); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("superuser blocks itself: %v", err)
	}
	for name, who := range map[string]uuid.UUID{"staff": staff.ID(), "no account": uuid.New(), "nobody": uuid.Nil} {
		if _, _, err := env.users.Block(ctx, actor(who), root.ID(), commands.NoIfMatch); !errors.Is(err, domain.ErrSuperuserToggle) || !errors.Is(err, domain.ErrForbidden) {
			t.Fatalf("%s blocks a superuser: %v", name, err)
		}
		if _, _, err := env.users.Activate(ctx, actor(who), root.ID(), commands.NoIfMatch); !errors.Is(err, domain.ErrForbidden) {
			t.Fatalf("%s activates a superuser: %v", name, err)
		}
	}
	// Who may act is answered before a stale If-Match.
	if _, _, err := env.users.Block(ctx, actor(staff.ID()), root.ID(), 99); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("staff with a stale If-Match: %v", err)
	}
	var n int
	if err := env.store.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type IN ('user.blocked', 'user.activated')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused commands wrote %d events, %v", n, err)
	}

	if u, _, err := env.users.Block(ctx, actor(other.ID()), root.ID(), commands.NoIfMatch); err != nil || u.Active() {
		t.Fatalf("superuser blocks a superuser: %v", err)
	}
	if u, _, err := env.users.Activate(ctx, actor(other.ID()), root.ID(), commands.NoIfMatch); err != nil || !u.Active() {
		t.Fatalf("superuser activates a superuser: %v", err)
	}
	if u, _, err := env.users.Block(ctx, actor(staff.ID()), plain.ID(), commands.NoIfMatch); err != nil || u.Active() {
		t.Fatalf("staff blocks a plain account: %v", err)
	}
}

// Concurrent blocks and activations of a superuser, by a superuser and by an
// account that is not one: every one the other account tried is refused,
// whatever the interleaving, and every event on the superuser's stream is
// the superuser's doing.
func TestConcurrentTogglesOfASuperuserKeepTheRule(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	ctx := context.Background()
	target, root := env.superuser(t, "target@example.com"), env.superuser(t, "root@example.com")
	staff := env.manager(t, "staff@example.com")
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := range 16 {
		wg.Go(func() {
			by := root.ID()
			if i%2 == 1 {
				by = staff.ID()
			}
			toggle := env.users.Block
			if i%4 >= 2 {
				toggle = env.users.Activate
			}
			_, _, err := toggle(ctx, actor(by), target.ID(), commands.NoIfMatch)
			switch {
			case by == staff.ID() && errors.Is(err, domain.ErrForbidden):
				refused.Add(1)
			case by == root.ID() && (err == nil || errors.Is(err, domain.ErrConflict)):
				// a conflict is five lost retries under this contention: allowed
			default:
				t.Errorf("toggle by %v: %v", by, err)
			}
		})
	}
	wg.Wait()
	if refused.Load() != 8 {
		t.Fatalf("%d of 8 toggles by staff refused", refused.Load())
	}
	rows, err := env.store.Pool().Query(ctx, `SELECT metadata->>'actor_id' FROM events WHERE stream_id = $1 AND type IN ('user.blocked', 'user.activated')`, target.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	toggles := 0
	for rows.Next() {
		toggles++
		var by string
		if err := rows.Scan(&by); err != nil {
			t.Fatal(err)
		}
		if by != root.ID().String() {
			t.Fatalf("the superuser's stream holds a toggle by %s", by)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if toggles == 0 {
		t.Fatal("no toggle by the superuser was recorded")
	}
}
