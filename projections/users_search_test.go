package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// The staff list searches accounts by email or name, pages through the
// matches with the next page's cursor, and names owners by id.
func TestSearchUsers(t *testing.T) {
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
	reg := func(email, name string) uuid.UUID {
		u, _, err := users.Register(ctx, meta, commands.Register{
			Account:    domain.NewAccount{Email: email, Name: name, PasswordHash: "h"},
			VerifyHash: "v-" + email, VerifyExpires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return u.ID()
	}
	ann := reg("ann@example.com", "Ann Lee")
	bob := reg("bob@example.org", "Bob Stone")
	odd := reg("odd_one@example.com", "Percent 100%")
	var readers []uuid.UUID
	for i := range 3 {
		readers = append(readers, reg(fmt.Sprintf("r%d@readers.test", i), "Reader"))
	}
	applyAll(t, pool, store, projections.NewUsers(), false)

	emails := func(rows []projections.UserRow) []string {
		var out []string
		for _, u := range rows {
			out = append(out, u.Email)
		}
		return out
	}
	for search, want := range map[string][]string{
		"":        {"ann@example.com", "bob@example.org", "odd_one@example.com", "r0@readers.test", "r1@readers.test", "r2@readers.test"},
		"STONE":   {"bob@example.org"},
		"example": {"ann@example.com", "bob@example.org", "odd_one@example.com"},
		" lee ":   {"ann@example.com"},
		"_":       {"odd_one@example.com"}, // LIKE's wildcards are taken literally
		"%":       {"odd_one@example.com"},
		"nobody":  nil,
	} {
		rows, next, err := q.SearchUsers(ctx, search, projections.IDPage{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(emails(rows)) != fmt.Sprint(want) || next != uuid.Nil {
			t.Errorf("search %q: %v (next %v), want %v", search, emails(rows), next, want)
		}
	}

	page1, next, err := q.SearchUsers(ctx, "reader", projections.IDPage{Limit: 2})
	if err != nil || len(page1) != 2 || next != readers[1] {
		t.Fatalf("first page of readers: %v next %v (%v)", emails(page1), next, err)
	}
	page2, next, err := q.SearchUsers(ctx, "reader", projections.IDPage{Limit: 2, After: next})
	if err != nil || len(page2) != 1 || page2[0].ID != readers[2] || next != uuid.Nil {
		t.Fatalf("last page of readers: %v next %v (%v)", emails(page2), next, err)
	}

	byID, err := q.UsersByID(ctx, []uuid.UUID{ann, odd, uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if len(byID) != 2 || byID[ann].Email != "ann@example.com" || byID[odd].Name != "Percent 100%" {
		t.Fatalf("by id: %+v", byID)
	}
	if _, ok := byID[bob]; ok {
		t.Fatal("by id returned an account not asked for")
	}
}
