package projections_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// applyAll applies every stored event p handles, in commit order, each in
// its own transaction, as the runtime does; twice when again is true
// (redelivery must change nothing).
func applyAll(t *testing.T, pool *pgxpool.Pool, store *eventstore.Store, p projections.Projector, again bool) {
	t.Helper()
	ctx := context.Background()
	// ReadAll holds back events while any older transaction of the cluster
	// runs (other tests' too): wait until it returns everything stored.
	var total int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	var evs []domain.RecordedEvent
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("all %d events to be readable", total), func() bool {
		var err error
		if evs, err = store.ReadAll(ctx, eventstore.Cursor{}, 10000); err != nil {
			t.Fatal(err)
		}
		return len(evs) >= total
	})
	handles := map[string]bool{}
	for _, n := range p.EventTypes() {
		handles[n] = true
	}
	rounds := 1
	if again {
		rounds = 2
	}
	for range rounds {
		for _, e := range evs {
			if !handles[e.Type] {
				continue
			}
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Apply(ctx, tx, e); err != nil {
				_ = tx.Rollback(ctx)
				t.Fatalf("apply %s v%d: %v", e.Type, e.Version, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestUsersProjection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	store, _ := eventstore.New(pool)
	q, _ := projections.NewUserQueries(pool)
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	users, _ := commands.NewUserHandler(store, q, func() time.Time { return now })
	groups, _ := commands.NewGroupHandler(store)
	meta := domain.Metadata{ActorID: uuid.New()}
	if _, err := groups.CreateDefaultGroups(ctx, meta); err != nil {
		t.Fatal(err)
	}
	reg := func(email string) *domain.User {
		u, _, err := users.Register(ctx, meta, commands.Register{
			Account:    domain.NewAccount{Email: email, Name: "N " + email, PasswordHash: "h"},
			VerifyHash: "v-" + email, VerifyExpires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ann, bob := reg("ann@example.com"), reg("bob@example.com")
	if _, _, err := users.VerifyEmail(ctx, meta, "v-ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.SetGroups(ctx, meta, ann.ID(), []string{"users", "managers"}, commands.NoIfMatch); err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.Block(ctx, meta, bob.ID(), commands.NoIfMatch); err != nil {
		t.Fatal(err)
	}
	su, _, err := users.CreateSuperuser(ctx, meta, domain.NewAccount{Email: "root@example.com", Name: "Root", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}

	p := projections.NewUsers()
	applyAll(t, pool, store, p, true)

	a, err := q.User(ctx, ann.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !a.EmailVerified || !a.IsStaff || !a.IsActive || a.Version != 4 || len(a.Permissions) != 7 || a.Email != "ann@example.com" || !a.CreatedAt.Equal(now) {
		t.Fatalf("ann %+v", a)
	}
	b, _ := q.User(ctx, bob.ID())
	if b.IsActive || b.IsStaff || b.EmailVerified || len(b.Permissions) != 0 || len(b.Groups) != 1 {
		t.Fatalf("bob %+v", b)
	}
	s, _ := q.User(ctx, su.ID())
	if !s.IsSuperuser || !s.IsStaff || len(s.Permissions) != len(domain.AllPermissions()) {
		t.Fatalf("root %+v", s)
	}
	if _, err := q.User(ctx, uuid.New()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	page1, err := q.ListUsers(ctx, uuid.Nil, 2)
	if err != nil || len(page1) != 2 {
		t.Fatalf("page1 %d %v", len(page1), err)
	}
	page2, _ := q.ListUsers(ctx, page1[1].ID, 2)
	if len(page2) != 1 || page2[0].ID == page1[1].ID {
		t.Fatalf("page2 %+v", page2)
	}

	// The read side's invariant: a rebuild from the store gives the same
	// tables as live consumption.
	snapshot := func() string {
		var out string
		err := pool.QueryRow(ctx, `SELECT coalesce((SELECT string_agg(u::text, E'\n' ORDER BY u.id) FROM users u), '') || E'\n--\n' ||
  coalesce((SELECT string_agg(g::text, E'\n' ORDER BY g.id) FROM access_groups g), '')`).Scan(&out)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	live := snapshot()
	if _, err := projections.Rebuild(ctx, pool, p, projections.RebuildOptions{BatchSize: 3}); err != nil {
		t.Fatal(err)
	}
	if rebuilt := snapshot(); rebuilt != live {
		t.Fatalf("rebuild differs from live:\n%s\nlive:\n%s", rebuilt, live)
	}

	// An event ahead of its stream is refused (retried later), never skipped.
	recs, _ := store.Load(ctx, ann.ID())
	ahead := recs[len(recs)-1]
	ahead.Version += 5
	tx, _ := pool.Begin(ctx)
	defer tx.Rollback(ctx) //nolint:errcheck
	if err := p.Apply(ctx, tx, ahead); err == nil {
		t.Fatal("gap accepted")
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	sessions, _ := projections.NewSessions(pool)
	now := time.Now().UTC()
	id := uuid.New()
	tok := []byte("0123456789abcdef0123456789abcdef")
	if err := sessions.Create(ctx, tok, id, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	idle := now.Add(-30 * time.Minute)
	su, ok, err := sessions.Lookup(ctx, tok, now, idle)
	if err != nil || !ok || su.UserID != id || su.User != nil || !su.SeenAt.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("lookup before the read model has the user: %+v %v %v", su, ok, err)
	}
	if _, ok, _ := sessions.Lookup(ctx, tok, now.Add(2*time.Hour), idle); ok {
		t.Fatal("expired session live")
	}
	// Unused since before the idle cutoff: not live; used again: live.
	if _, ok, _ := sessions.Lookup(ctx, tok, now.Add(40*time.Minute), now.Add(10*time.Minute)); ok {
		t.Fatal("idle session live")
	}
	if err := sessions.Touch(ctx, tok, now.Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if su, ok, _ := sessions.Lookup(ctx, tok, now.Add(40*time.Minute), now.Add(10*time.Minute)); !ok || !su.SeenAt.Equal(now.Add(20*time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("session used again: %+v %v", su, ok)
	}
	// A blocked account's session is not live, whatever the table says.
	_, err = pool.Exec(ctx, `INSERT INTO users (id, email, name, is_active, is_superuser, email_verified, groups, created_at, updated_at, version)
VALUES ($1, 'x@example.com', 'X', false, false, true, '{users}', now(), now(), 3)`, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := sessions.Lookup(ctx, tok, now, idle); ok {
		t.Fatal("blocked user's session live")
	}
	_, _ = pool.Exec(ctx, `UPDATE users SET is_active = true WHERE id = $1`, id)
	su, ok, _ = sessions.Lookup(ctx, tok, now, idle)
	if !ok || su.User == nil || su.User.Email != "x@example.com" {
		t.Fatalf("lookup with user: %+v", su)
	}
	if n, err := sessions.RevokeUser(ctx, id, now); err != nil || n != 1 {
		t.Fatalf("revoke user: %d %v", n, err)
	}
	if _, ok, _ := sessions.Lookup(ctx, tok, now, idle); ok {
		t.Fatal("revoked session live")
	}
	if n, _ := sessions.DeleteExpired(ctx, now.Add(time.Minute)); n != 1 {
		t.Fatalf("deleted %d", n)
	}
}
