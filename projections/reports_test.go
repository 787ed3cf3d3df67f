package projections

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

// reportWorld appends a small history straight to a store: two owners,
// clients and messages, three mailings (one deleted), runs with successes,
// failures, a retry and a skipped run.
type reportWorld struct {
	store             *eventstore.Store
	alice, bob        uuid.UUID
	m1, m2, m3        uuid.UUID
	r1, r2, r3, rSkip uuid.UUID
	lastAttempt1      time.Time
	streams           []uuid.UUID
}

func (w *reportWorld) append(t *testing.T, typ string, id uuid.UUID, evs ...domain.Event) {
	t.Helper()
	news := make([]domain.NewEvent, len(evs))
	for i, e := range evs {
		news[i] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: e, Metadata: domain.Metadata{ActorID: w.alice}}
	}
	if _, err := w.store.Append(context.Background(), domain.Stream{Type: typ, ID: id}, eventstore.Any, news...); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(w.streams, id) {
		w.streams = append(w.streams, id)
	}
}

func newReportWorld(t *testing.T, pool *pgxpool.Pool) *reportWorld {
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	w := &reportWorld{store: store, alice: uuid.New(), bob: uuid.New(), m1: uuid.New(), m2: uuid.New(), m3: uuid.New(),
		r1: uuid.New(), r2: uuid.New(), r3: uuid.New(), rSkip: uuid.New()}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	c1, c2, c3, cb := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	msgA, msgB := uuid.New(), uuid.New()
	for _, c := range []uuid.UUID{c1, c2, c3} {
		w.append(t, "client", c, domain.ClientCreated{ClientID: c, OwnerID: w.alice, Email: c.String() + "@x.test", FullName: "C"})
	}
	w.append(t, "client", cb, domain.ClientCreated{ClientID: cb, OwnerID: w.bob, Email: "b@x.test", FullName: "B"})
	w.append(t, "client", c3, domain.ClientDeleted{})
	w.append(t, "message", msgA, domain.MessageCreated{MessageID: msgA, OwnerID: w.alice, Subject: "s", Body: "b"})
	w.append(t, "message", msgB, domain.MessageCreated{MessageID: msgB, OwnerID: w.bob, Subject: "s", Body: "b"})
	created := func(m, owner, msg uuid.UUID, clients ...uuid.UUID) domain.MailingCreated {
		return domain.MailingCreated{MailingID: m, OwnerID: owner, MessageID: msg, ClientIDs: clients, StartAt: now, EndAt: now.Add(72 * time.Hour),
			Periodicity: domain.Daily, Timezone: "UTC", IsActive: true}
	}
	w.append(t, "mailing", w.m1, created(w.m1, w.alice, msgA, c1, c2))
	w.append(t, "mailing", w.m2, created(w.m2, w.bob, msgB, cb))
	w.append(t, "mailing", w.m3, created(w.m3, w.alice, msgA, c1))
	w.append(t, "mailing", w.m3, domain.MailingDeleted{})

	attempt := func(m, c uuid.UUID, ok bool, n int, at time.Time) domain.DeliveryAttempted {
		reply := "250 2.0.0 ok"
		if !ok {
			reply = "550 5.1.1 no such user"
		}
		return domain.DeliveryAttempted{MailingID: m, ClientID: c, Email: "x@x.test", Success: ok, ServerResponse: reply, AttemptedAt: at, Attempt: n}
	}
	// Run 1 of m1: c1 fails once then succeeds, c2 fails for good.
	w.append(t, "mailing", w.m1, domain.MailingStarted{RunID: w.r1, At: now})
	w.append(t, "run", w.r1, domain.RunStarted{RunID: w.r1, MailingID: w.m1, OwnerID: w.alice, MessageID: msgA, Trigger: domain.TriggerSchedule,
		DueAt: now, StartedAt: now, Clients: 2})
	w.append(t, "run", w.r1, attempt(w.m1, c1, false, 1, now.Add(time.Second)), attempt(w.m1, c1, true, 2, now.Add(2*time.Second)))
	w.lastAttempt1 = now.Add(3 * time.Second)
	w.append(t, "run", w.r1, attempt(w.m1, c2, false, 1, w.lastAttempt1))
	w.append(t, "run", w.r1, domain.RunFinished{MailingID: w.m1, Sent: 1, Failed: 1, FinishedAt: now.Add(4 * time.Second)})
	// A skipped run, then run 2 of m1 (unfinished: one success so far).
	w.append(t, "run", w.rSkip, domain.RunSkipped{RunID: w.rSkip, MailingID: w.m1, OwnerID: w.alice, DueAt: now.Add(24 * time.Hour),
		SkippedAt: now.Add(30 * time.Hour), Reason: "missed by more than the grace period"})
	w.append(t, "mailing", w.m1, domain.MailingStarted{RunID: w.r3, At: now.Add(48 * time.Hour)})
	w.append(t, "run", w.r3, domain.RunStarted{RunID: w.r3, MailingID: w.m1, OwnerID: w.alice, MessageID: msgA, Trigger: domain.TriggerManual,
		DueAt: now.Add(48 * time.Hour), StartedAt: now.Add(48 * time.Hour), Clients: 2})
	w.append(t, "run", w.r3, attempt(w.m1, c1, true, 1, now.Add(48*time.Hour+time.Second)))
	// Bob's run, and m1 completes.
	w.append(t, "mailing", w.m2, domain.MailingStarted{RunID: w.r2, At: now})
	w.append(t, "run", w.r2, domain.RunStarted{RunID: w.r2, MailingID: w.m2, OwnerID: w.bob, MessageID: msgB, DueAt: now, StartedAt: now, Clients: 1})
	w.append(t, "run", w.r2, attempt(w.m2, cb, true, 1, now.Add(time.Second)))
	w.append(t, "run", w.r2, domain.RunFinished{MailingID: w.m2, Sent: 1, FinishedAt: now.Add(time.Second)})
	w.append(t, "mailing", w.m1, domain.MailingCompleted{At: now.Add(72 * time.Hour), Reason: "end passed"})
	return w
}

// storedEvents returns every stored event, decoded, in commit order (the
// tests' appends have all committed; ReadAll would also wait for other
// tests' transactions, since its horizon is the cluster's).
func storedEvents(t *testing.T, store *eventstore.Store) []domain.RecordedEvent {
	t.Helper()
	rows, err := store.Pool().Query(context.Background(), `SELECT position, tx_id::text, event_id, stream_type, stream_id, version,
type, data, metadata, recorded_at FROM events ORDER BY tx_id, position`)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := eventstore.ScanEvents(rows, true)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// all returns the world's events in commit order.
func (w *reportWorld) all(t *testing.T) []domain.RecordedEvent {
	evs := storedEvents(t, w.store)
	if len(evs) < 20 {
		t.Fatalf("the world holds %d events", len(evs))
	}
	return evs
}

func TestReportsProjectorOrderAndRedeliveryIndependent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	w := newReportWorld(t, pool)
	evs := w.all(t)
	var runs, others []domain.RecordedEvent
	for _, e := range evs {
		if e.StreamType == domain.RunStreamType {
			runs = append(runs, e)
		} else {
			others = append(others, e)
		}
	}
	// Live, the run topic may be ahead of the mailing topic: runs first,
	// then everything again (a redelivery changes nothing).
	applyOneByOne(t, pool, ReportsProjector{}, runs)
	applyOneByOne(t, pool, ReportsProjector{}, others)
	applyOneByOne(t, pool, ReportsProjector{}, evs)
	live := dumpTables(t, pool, ReportsProjector{})

	// In commit order (what a rebuild replays), one event at a time…
	inOrder := testenv.Pool(t)
	applyOneByOne(t, inOrder, ReportsProjector{}, evs)
	if got := dumpTables(t, inOrder, ReportsProjector{}); fmt.Sprint(got) != fmt.Sprint(live) {
		t.Fatalf("commit order:\n%v\nruns first, redelivered:\n%v", got, live)
	}
	// …and in batches through ApplyBatch.
	batched := testenv.Pool(t)
	applyInChunks(t, batched, ReportsProjector{}, evs, 7)
	if got := dumpTables(t, batched, ReportsProjector{}); fmt.Sprint(got) != fmt.Sprint(live) {
		t.Fatalf("batched:\n%v\nlive:\n%v", got, live)
	}
	// Everything again in one batch (a projector catching up after a crash
	// reads what it had applied) changes nothing.
	applyInChunks(t, batched, ReportsProjector{}, evs, len(evs))
	if got := dumpTables(t, batched, ReportsProjector{}); fmt.Sprint(got) != fmt.Sprint(live) {
		t.Fatalf("batched, then all again:\n%v\nlive:\n%v", got, live)
	}

	// A delivery before its run's start is retried later, never dropped.
	fresh := testenv.Pool(t)
	tx, err := fresh.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var delivery domain.RecordedEvent
	for _, e := range runs {
		if e.Type == "run.delivery_attempted" {
			delivery = e
			break
		}
	}
	if err := (ReportsProjector{}).Apply(ctx, tx, delivery); err == nil {
		t.Fatal("a delivery before its run's start was applied")
	}

	q, err := NewReportQueries(pool)
	if err != nil {
		t.Fatal(err)
	}
	mine, next, err := q.ListMailingReports(ctx, OwnerScope{Caller: w.alice}, IDPage{Limit: 50})
	if err != nil || next != uuid.Nil {
		t.Fatal(err, next)
	}
	if len(mine) != 1 {
		t.Fatalf("alice's report (m3 is deleted): %+v", mine)
	}
	m1 := mine[0]
	if m1.MailingID != w.m1 || m1.OwnerID != w.alice || m1.Status != "completed" || m1.Runs != 2 || m1.AttemptsTotal != 4 ||
		m1.AttemptsSuccess != 2 || m1.AttemptsFailure != 2 || m1.LastAttemptAt == nil || !m1.LastAttemptAt.Equal(time.Date(2026, 11, 27, 9, 0, 1, 0, time.UTC)) {
		t.Fatalf("m1 report %+v", m1)
	}
	all, _, err := q.ListMailingReports(ctx, OwnerScope{Caller: uuid.New(), All: true}, IDPage{Limit: 50})
	if err != nil || len(all) != 2 {
		t.Fatalf("staff report %+v (%v)", all, err)
	}
	page1, next, err := q.ListMailingReports(ctx, OwnerScope{Caller: uuid.New(), All: true}, IDPage{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	page2, last, err := q.ListMailingReports(ctx, OwnerScope{Caller: uuid.New(), All: true}, IDPage{Limit: 1, After: next})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1) != 1 || len(page2) != 1 || next == uuid.Nil || last != uuid.Nil || page1[0].MailingID == page2[0].MailingID {
		t.Fatalf("pages %+v %+v", page1, page2)
	}
	bobs, _, err := q.ListMailingReports(ctx, OwnerScope{Caller: uuid.New(), All: true, Owner: w.bob}, IDPage{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(bobs) != 1 || bobs[0].MailingID != w.m2 || bobs[0].AttemptsSuccess != 1 || bobs[0].Status != "started" {
		t.Fatalf("bob's via owner_id %+v", bobs)
	}
	if peek, _, err := q.ListMailingReports(ctx, OwnerScope{Caller: w.alice, Owner: w.bob}, IDPage{Limit: 50}); err != nil || len(peek) != 0 {
		t.Fatalf("alice narrowing to bob sees %+v (%v)", peek, err)
	}
	var exported []MailingReport
	if err := q.EachMailingReport(ctx, OwnerScope{Caller: uuid.New(), All: true}, func(m MailingReport) error { exported = append(exported, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(exported) != fmt.Sprint(all) {
		t.Fatalf("export %+v list %+v", exported, all)
	}

	sum, err := q.Summary(ctx, OwnerScope{Caller: w.alice})
	if err != nil {
		t.Fatal(err)
	}
	if sum.MailingsTotal != 1 || sum.Runs != 2 || sum.AttemptsTotal != 4 || sum.AttemptsSuccess != 2 || sum.AttemptsFailure != 2 ||
		sum.ClientsTotal != 2 || sum.MessagesTotal != 1 {
		t.Fatalf("alice's summary %+v", sum)
	}
	if sum, err = q.Summary(ctx, OwnerScope{Caller: uuid.New(), All: true}); err != nil {
		t.Fatal(err)
	}
	if sum.MailingsTotal != 2 || sum.Runs != 3 || sum.AttemptsTotal != 5 || sum.AttemptsSuccess != 3 || sum.ClientsTotal != 3 || sum.MessagesTotal != 2 {
		t.Fatalf("staff summary %+v", sum)
	}
	if sum, err = q.Summary(ctx, OwnerScope{Caller: uuid.New()}); err != nil || sum.MailingsTotal != 0 || sum.ClientsTotal != 0 || sum.LastAttemptAt != nil {
		t.Fatalf("a newcomer's summary %+v (%v)", sum, err)
	}

	rs, err := MailingRuns(ctx, pool, w.m1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].RunID != w.r1 || rs[0].Status != "finished" || rs[0].Sent != 1 || rs[0].Failed != 1 || rs[0].AttemptsTotal != 3 ||
		rs[1].RunID != w.rSkip || rs[1].Status != "skipped" || rs[1].SkippedAt == nil || rs[1].Note == "" ||
		rs[2].RunID != w.r3 || rs[2].Status != "started" || rs[2].FinishedAt != nil || rs[2].AttemptsSuccess != 1 {
		t.Fatalf("runs of m1 %+v", rs)
	}
}
