package eventstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

func TestClaimedNamesTheKeysHeldInTheScope(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	claim := func(scope, key string) {
		t.Helper()
		owner := uuid.New()
		_, err := s.Commit(ctx, eventstore.Commit{
			Appends: []eventstore.StreamAppend{{Stream: domain.Stream{Type: "note", ID: owner}, Expected: eventstore.NoStream, Events: []domain.NewEvent{note("claim")}}},
			Claims:  []eventstore.Claim{{Scope: scope, Key: key, Owner: owner}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	claim("mine", "a@example.com")
	claim("mine", "b@example.com")
	claim("theirs", "c@example.com")

	got, err := s.Claimed(ctx, "mine", []string{"a@example.com", "c@example.com", "d@example.com", "b@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a@example.com", "b@example.com"}) {
		t.Errorf("claimed in scope mine: %q", got)
	}
	if got, err := s.Claimed(ctx, "mine", nil); err != nil || len(got) != 0 {
		t.Errorf("no keys asked: %q, %v", got, err)
	}
}
