package projections

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/testenv"
)

// One mailing's line of the report is the list's line for it, seen by its
// owner and staff only, and absent once the mailing is deleted.
func TestGetMailingReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	w := newReportWorld(t, pool)
	applyOneByOne(t, pool, ReportsProjector{}, w.all(t))
	q, err := NewReportQueries(pool)
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := q.ListMailingReports(ctx, OwnerScope{Caller: w.alice}, IDPage{Limit: 50})
	if err != nil || len(list) != 1 {
		t.Fatalf("alice's report %+v (%v)", list, err)
	}
	got, err := q.GetMailingReport(ctx, OwnerScope{Caller: w.alice}, w.m1)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(list[0]) {
		t.Fatalf("m1's line %+v (%v), the list has %+v", got, err, list[0])
	}
	if staff, err := q.GetMailingReport(ctx, OwnerScope{Caller: uuid.New(), All: true}, w.m1); err != nil || staff.AttemptsTotal != 4 {
		t.Fatalf("staff reads m1's line %+v (%v)", staff, err)
	}
	for what, call := range map[string]func() error{
		"bob reads alice's mailing": func() error { _, err := q.GetMailingReport(ctx, OwnerScope{Caller: w.bob}, w.m1); return err },
		"a deleted mailing":         func() error { _, err := q.GetMailingReport(ctx, OwnerScope{Caller: w.alice}, w.m3); return err },
		"an unknown mailing":        func() error { _, err := q.GetMailingReport(ctx, OwnerScope{All: true}, uuid.New()); return err },
	} {
		if err := call(); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s: %v, want not found", what, err)
		}
	}
}

// A started run's sent and failed move with its deliveries, so its
// progress shows while it sends: a success is sent, a final failure failed,
// a deferred one neither; applied one by one or in batches alike.
func TestRunFiguresWhileItSends(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	w := newReportWorld(t, pool)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	run := uuid.New()
	w.append(t, "run", run, domain.RunStarted{RunID: run, MailingID: w.m2, OwnerID: w.bob, Trigger: domain.TriggerManual,
		DueAt: now, StartedAt: now, Clients: 4})
	c1, c2, c3 := uuid.New(), uuid.New(), uuid.New()
	retry := now.Add(time.Minute)
	w.append(t, "run", run,
		domain.DeliveryAttempted{MailingID: w.m2, ClientID: c1, Email: "a@x.test", Success: true, ServerResponse: "250 ok", AttemptedAt: now, Attempt: 1},
		domain.DeliveryAttempted{MailingID: w.m2, ClientID: c2, Email: "b@x.test", ServerResponse: "550 no", AttemptedAt: now, Attempt: 1, Permanent: true},
		domain.DeliveryAttempted{MailingID: w.m2, ClientID: c3, Email: "c@x.test", ServerResponse: "450 later", AttemptedAt: now, Attempt: 1, RetryAt: &retry})
	evs := w.all(t)

	figures := func(what string, got []RunSummary) RunSummary {
		t.Helper()
		for _, r := range got {
			if r.RunID == run {
				return r
			}
		}
		t.Fatalf("%s: no run %s in %+v", what, run, got)
		return RunSummary{}
	}
	applyOneByOne(t, pool, ReportsProjector{}, evs)
	runs, err := MailingRuns(context.Background(), pool, w.m2)
	if err != nil {
		t.Fatal(err)
	}
	r := figures("one by one", runs)
	if r.Status != "started" || r.Clients != 4 || r.Sent != 1 || r.Failed != 1 || r.Deferred != 1 || r.AttemptsFailure != 2 {
		t.Fatalf("the run while it sends %+v, want 1 sent, 1 failed, 1 deferred of 4", r)
	}
	batched := testenv.Pool(t)
	applyInChunks(t, batched, ReportsProjector{}, evs, 5)
	runs, err = MailingRuns(context.Background(), batched, w.m2)
	if err != nil {
		t.Fatal(err)
	}
	if b := figures("batched", runs); fmt.Sprint(b) != fmt.Sprint(r) {
		t.Fatalf("batched %+v, one by one %+v", b, r)
	}

	// Its end sets the run's own figures.
	w.append(t, "run", run, domain.RunFinished{MailingID: w.m2, Sent: 2, Failed: 1, FinishedAt: now.Add(time.Hour)})
	applyOneByOne(t, pool, ReportsProjector{}, w.all(t))
	runs, err = MailingRuns(context.Background(), pool, w.m2)
	if err != nil {
		t.Fatal(err)
	}
	if r := figures("finished", runs); r.Status != "finished" || r.Sent != 2 || r.Failed != 1 || r.Deferred != 0 {
		t.Fatalf("the finished run %+v", r)
	}
}
