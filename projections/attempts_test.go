package projections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

func TestAttemptsProjectorAndQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	owner, mailing, run := uuid.New(), uuid.New(), uuid.New()
	now := time.Now().UTC().Truncate(time.Microsecond)
	evs := []domain.Event{domain.RunStarted{RunID: run, MailingID: mailing, OwnerID: owner, Trigger: domain.TriggerManual, DueAt: now, StartedAt: now, Clients: 2}}
	c1, c2 := uuid.New(), uuid.New()
	evs = append(evs,
		domain.DeliveryAttempted{MailingID: mailing, ClientID: c1, Email: "a@x.test", Success: false, ServerResponse: "421 4.7.0 later", AttemptedAt: now, Attempt: 1},
		domain.DeliveryAttempted{MailingID: mailing, ClientID: c1, Email: "a@x.test", Success: true, ServerResponse: "250 2.0.0 ok", AttemptedAt: now, Attempt: 2},
		domain.DeliveryAttempted{MailingID: mailing, ClientID: c2, Email: "b@x.test", Success: false, ServerResponse: "550 5.1.1 no such user", AttemptedAt: now, Attempt: 1, Permanent: true},
	)
	news := make([]domain.NewEvent, len(evs))
	for i, e := range evs {
		news[i] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: e}
	}
	if _, err := store.Append(ctx, domain.Stream{Type: domain.RunStreamType, ID: run}, eventstore.NoStream, news...); err != nil {
		t.Fatal(err)
	}
	recs, err := store.Load(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	p := AttemptsProjector{}
	// An attempt before its run's start is an error (retried, never skipped).
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(ctx, tx, recs[1]); err == nil {
		t.Fatal("attempt applied before the run's start")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // the second round is a redelivery: nothing changes
		for _, r := range recs {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Apply(ctx, tx, r); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	q, err := NewAttemptQueries(pool)
	if err != nil {
		t.Fatal(err)
	}
	all, next, err := q.ListAttempts(ctx, OwnerScope{Caller: owner}, mailing, AttemptPage{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || next == 0 || all[0].Status != "failure" || all[1].Status != "success" || all[0].ServerResponse != "421 4.7.0 later" || all[0].RunID != run {
		t.Fatalf("first page %+v next %d", all, next)
	}
	rest, next, err := q.ListAttempts(ctx, OwnerScope{Caller: owner}, mailing, AttemptPage{Limit: 2, After: next})
	if err != nil || len(rest) != 1 || next != 0 || rest[0].Email != "b@x.test" || rest[0].ServerResponse != "550 5.1.1 no such user" {
		t.Fatalf("second page %+v next %d err %v", rest, next, err)
	}
	if other, _, err := q.ListAttempts(ctx, OwnerScope{Caller: uuid.New()}, mailing, AttemptPage{}); err != nil || len(other) != 0 {
		t.Fatalf("another user sees %d attempts (%v)", len(other), err)
	}
	if staff, _, err := q.ListAttempts(ctx, OwnerScope{Caller: uuid.New(), All: true}, mailing, AttemptPage{}); err != nil || len(staff) != 3 {
		t.Fatalf("staff sees %d attempts (%v)", len(staff), err)
	}
}

// With FailuresFirst a mailing's failed attempts come before its
// successful ones, each in store order, page after page.
func TestAttemptsFailuresFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	owner, mailing, run := uuid.New(), uuid.New(), uuid.New()
	now := time.Now().UTC().Truncate(time.Microsecond)
	evs := []domain.Event{domain.RunStarted{RunID: run, MailingID: mailing, OwnerID: owner, Trigger: domain.TriggerManual, DueAt: now, StartedAt: now, Clients: 5}}
	for i, ok := range []bool{true, false, true, false, true} {
		evs = append(evs, domain.DeliveryAttempted{MailingID: mailing, ClientID: uuid.New(), Email: fmt.Sprintf("%d@x.test", i), Success: ok,
			ServerResponse: "reply", AttemptedAt: now, Attempt: 1, Permanent: !ok})
	}
	news := make([]domain.NewEvent, len(evs))
	for i, e := range evs {
		news[i] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: e}
	}
	if _, err := store.Append(ctx, domain.Stream{Type: domain.RunStreamType, ID: run}, eventstore.NoStream, news...); err != nil {
		t.Fatal(err)
	}
	recs, err := store.Load(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	applyOneByOne(t, pool, AttemptsProjector{}, recs)
	q, err := NewAttemptQueries(pool)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	page := AttemptPage{Limit: 2, FailuresFirst: true}
	for range 5 {
		items, next, err := q.ListAttempts(ctx, OwnerScope{Caller: owner}, mailing, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range items {
			got = append(got, a.Email)
		}
		if next == 0 {
			break
		}
		page.After, page.AfterSuccess = next, items[len(items)-1].Status == "success"
	}
	if want := "[1@x.test 3@x.test 0@x.test 2@x.test 4@x.test]"; fmt.Sprint(got) != want {
		t.Fatalf("failures first: %v, want %s", got, want)
	}
	if other, _, err := q.ListAttempts(ctx, OwnerScope{Caller: uuid.New()}, mailing, AttemptPage{FailuresFirst: true}); err != nil || len(other) != 0 {
		t.Fatalf("another user sees %d attempts (%v)", len(other), err)
	}
}

// ApplyBatch leaves the attempts read model as Apply on each event does,
// in chunks of any size and again on a redelivery, and an attempt of a run
// not started yet fails it as it fails Apply.
func TestAttemptsApplyBatchEqualsApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	one := testenv.Pool(t)
	w := newReportWorld(t, one)
	// Beside the world's successes and failures: a deferred attempt and a
	// skipped one.
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	retry := at.Add(time.Minute)
	w.append(t, "run", w.r3,
		domain.DeliveryAttempted{MailingID: w.m1, ClientID: uuid.New(), Email: "d@x.test", ServerResponse: "451 4.3.0 later",
			AttemptedAt: at, Attempt: 1, RetryAt: &retry},
		domain.DeliveryAttempted{MailingID: w.m1, ClientID: uuid.New(), Email: "s@x.test", AttemptedAt: at, Attempt: 1,
			Skipped: domain.SkipUnsubscribed})
	p := AttemptsProjector{}
	var evs []domain.RecordedEvent
	for _, e := range w.all(t) {
		if slices.Contains(p.EventTypes(), e.Type) {
			evs = append(evs, e)
		}
	}
	applyOneByOne(t, one, p, evs)
	want := dumpTables(t, one, p)
	if n := len(want["attempts"]); n != 7 {
		t.Fatalf("one by one: %d attempts rows, want 7", n)
	}
	for _, size := range []int{2, 3, len(evs)} {
		pool := testenv.Pool(t)
		applyInChunks(t, pool, p, evs, size)
		if got := dumpTables(t, pool, p); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("chunks of %d:\n%v\none by one:\n%v", size, got, want)
		}
		applyInChunks(t, pool, p, evs, size)
		if got := dumpTables(t, pool, p); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("chunks of %d redelivered:\n%v\none by one:\n%v", size, got, want)
		}
	}

	// An attempt before its run's start is an error to retry.
	tx, err := one.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	early := []domain.RecordedEvent{evs[len(evs)-1], {EventID: uuid.New(), StreamID: uuid.New(), Version: 2, Type: "run.delivery_attempted",
		Event: domain.DeliveryAttempted{ClientID: uuid.New(), Email: "e@x.test", Success: true, AttemptedAt: at, Attempt: 1}}}
	if err := p.ApplyBatch(ctx, tx, early); !errors.Is(err, errRowMissing) {
		t.Fatalf("an attempt before its run's start: %v", err)
	}
}
