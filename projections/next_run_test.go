package projections

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

func TestMailingsNextRunAt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	id, owner := uuid.New(), uuid.New()
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	m, err := domain.NewMailing(id, owner, domain.MailingFields{MessageID: uuid.New(), ClientIDs: []uuid.UUID{uuid.New()},
		StartAt: start, EndAt: start.Add(72 * time.Hour), Periodicity: domain.Daily}, true)
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	step := func(decide func(*domain.Mailing) error) *time.Time {
		t.Helper()
		if decide != nil {
			if err := decide(m); err != nil {
				t.Fatal(err)
			}
		}
		evs := make([]domain.NewEvent, len(m.Changes()))
		for i, c := range m.Changes() {
			evs[i] = domain.NewEvent{ID: uuid.New(), Event: c}
		}
		if _, err := store.Append(ctx, domain.Stream{Type: domain.MailingStreamType, ID: id}, eventstore.Any, evs...); err != nil {
			t.Fatal(err)
		}
		recs, err := store.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		hist := make([]domain.Event, len(recs))
		for i, r := range recs {
			hist[i] = r.Event
		}
		for _, r := range recs[applied:] {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := (MailingsProjector{}).Apply(ctx, tx, r); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		applied = len(recs)
		m = domain.LoadMailing(hist)
		var next *time.Time
		if err := pool.QueryRow(ctx, `SELECT next_run_at FROM mailings WHERE id = $1`, id).Scan(&next); err != nil {
			t.Fatal(err)
		}
		return next
	}
	if next := step(nil); next == nil || !next.Equal(start) {
		t.Fatalf("created: next %v, want %s", next, start)
	}
	if next := step((*domain.Mailing).Disable); next != nil {
		t.Fatalf("disabled: next %v", next)
	}
	if next := step((*domain.Mailing).Enable); next == nil || !next.Equal(start) {
		t.Fatalf("enabled: next %v", next)
	}
	// A run at the start (recorded now, before the start: a manual one)
	// leaves the first scheduled run next.
	if next := step(func(m *domain.Mailing) error { return m.Start(uuid.New(), time.Now()) }); next == nil || !next.Equal(start) {
		t.Fatalf("started: next %v", next)
	}
	if next := step(func(m *domain.Mailing) error { return m.Complete(time.Now(), "test") }); next != nil {
		t.Fatalf("completed: next %v", next)
	}
}
