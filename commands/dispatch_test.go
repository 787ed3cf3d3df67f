package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/saga"
)

type runsEnv struct {
	ctx   context.Context
	store *eventstore.Store
	runs  *commands.Runs
	bus   bus.Config
	owner uuid.UUID
	now   time.Time
}

func newRunsEnv(t *testing.T) *runsEnv {
	t.Helper()
	ctx := context.Background()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bus.Connect(ctx, testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	e := &runsEnv{ctx: ctx, store: store, owner: uuid.New(), now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
		bus: bus.Config{Client: rc, Prefix: testenv.Name("cmd") + ":", Logger: zerolog.Nop()}}
	q, err := saga.NewQueue(e.bus)
	if err != nil {
		t.Fatal(err)
	}
	roster, err := saga.NewRoster(pool)
	if err != nil {
		t.Fatal(err)
	}
	if e.runs, err = commands.NewRuns(store, roster, q, func() time.Time { return e.now }); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *runsEnv) mailing(t *testing.T, active bool) uuid.UUID {
	t.Helper()
	id := uuid.New()
	m, err := domain.NewMailing(id, e.owner, domain.MailingFields{MessageID: uuid.New(), ClientIDs: []uuid.UUID{uuid.New()},
		StartAt: e.now, EndAt: e.now.Add(time.Hour), Periodicity: domain.Once}, active)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Append(e.ctx, domain.Stream{Type: domain.MailingStreamType, ID: id}, eventstore.NoStream,
		domain.NewEvent{ID: uuid.New(), Event: m.Changes()[0]}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *runsEnv) types(t *testing.T, id uuid.UUID) []string {
	t.Helper()
	recs, err := e.store.Load(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Type
	}
	return out
}

// queued reads the dispatch commands on the Redis stream.
func (e *runsEnv) queued(t *testing.T) []commands.Dispatch {
	t.Helper()
	msgs, err := e.bus.Client.XRange(e.ctx, e.bus.Topic(saga.DispatchTopic), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []commands.Dispatch
	for _, m := range msgs {
		var d commands.Dispatch
		if err := json.Unmarshal([]byte(m.Values["payload"].(string)), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestDispatchRecordsTheRunThenQueuesIt(t *testing.T) {
	t.Parallel()
	e := newRunsEnv(t)
	m := e.mailing(t, true)
	res, runID, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: m, Owner: e.owner}, domain.Metadata{ActorID: e.owner})
	if err != nil {
		t.Fatal(err)
	}
	if res.LastPosition == 0 || runID == uuid.Nil {
		t.Fatalf("result %+v run %s", res, runID)
	}
	if got := e.types(t, runID); len(got) != 1 || got[0] != "run.started" {
		t.Fatalf("run stream %v", got)
	}
	if got := e.types(t, m); len(got) != 2 || got[1] != "mailing.started" {
		t.Fatalf("mailing stream %v", got)
	}
	recs, _ := e.store.Load(e.ctx, runID)
	started := recs[0].Event.(domain.RunStarted)
	if started.MailingID != m || started.OwnerID != e.owner || started.Trigger != domain.TriggerManual || !started.DueAt.Equal(e.now) || started.Clients != 1 {
		t.Fatalf("run.started %+v", started)
	}
	if recs[0].Metadata.ActorID != e.owner || recs[0].Metadata.Command != "DispatchMailing" {
		t.Fatalf("metadata %+v", recs[0].Metadata)
	}
	if q := e.queued(t); len(q) != 1 || q[0].RunID != runID || q[0].MailingID != m {
		t.Fatalf("queued %+v", q)
	}
}

func TestDispatchOfTheSameRunWritesNothingNewButQueuesAgain(t *testing.T) {
	t.Parallel()
	e := newRunsEnv(t)
	m := e.mailing(t, true)
	runID := domain.ScheduledRunID(m, e.now)
	cmd := commands.DispatchMailing{MailingID: m, RunID: runID, Trigger: domain.TriggerSchedule, DueAt: e.now}
	for range 2 {
		if _, got, err := e.runs.Dispatch(e.ctx, cmd, domain.Metadata{}); err != nil || got != runID {
			t.Fatalf("dispatch: %s %v", got, err)
		}
	}
	if got := e.types(t, runID); len(got) != 1 {
		t.Fatalf("run stream %v", got)
	}
	if got := e.types(t, m); len(got) != 2 {
		t.Fatalf("mailing stream %v", got)
	}
	// Disabled since: the run that started is still handed to the senders.
	disable(t, e, m)
	if _, _, err := e.runs.Dispatch(e.ctx, cmd, domain.Metadata{}); err != nil {
		t.Fatalf("re-dispatch of a started run: %v", err)
	}
	if q := e.queued(t); len(q) != 3 {
		t.Fatalf("%d commands queued, want 3", len(q))
	}
	// A new run of the disabled mailing is refused.
	if _, _, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: m}, domain.Metadata{}); !errors.Is(err, domain.ErrMailingInactive) {
		t.Fatalf("new run of a disabled mailing: %v", err)
	}
}

func disable(t *testing.T, e *runsEnv, m uuid.UUID) {
	t.Helper()
	recs, _ := e.store.Load(e.ctx, m)
	evs := make([]domain.Event, len(recs))
	for i, r := range recs {
		evs[i] = r.Event
	}
	mm := domain.LoadMailing(evs)
	if err := mm.Disable(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Append(e.ctx, domain.Stream{Type: domain.MailingStreamType, ID: m}, mm.Version(),
		domain.NewEvent{ID: uuid.New(), Event: mm.Changes()[0]}); err != nil {
		t.Fatal(err)
	}
}

func TestDispatchRefusesOthersAndMissingMailings(t *testing.T) {
	t.Parallel()
	e := newRunsEnv(t)
	m := e.mailing(t, true)
	if _, _, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: m, Owner: uuid.New()}, domain.Metadata{}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("someone else's mailing: %v", err)
	}
	if _, _, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: uuid.New()}, domain.Metadata{}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing mailing: %v", err)
	}
	if len(e.queued(t)) != 0 {
		t.Fatal("a refused dispatch was queued")
	}
}

func TestSkipCompleteAndPauseAreIdempotent(t *testing.T) {
	t.Parallel()
	e := newRunsEnv(t)
	m := e.mailing(t, true)
	runID := domain.ScheduledRunID(m, e.now)
	for range 2 {
		if _, err := e.runs.SkipRun(e.ctx, m, runID, e.now, "missed", domain.Metadata{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.runs.PauseMailing(e.ctx, m, "too many failures", domain.Metadata{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.runs.CompleteMailing(e.ctx, m, "done", domain.Metadata{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.types(t, runID); len(got) != 1 || got[0] != "run.skipped" {
		t.Fatalf("run stream %v", got)
	}
	if got := e.types(t, m); len(got) != 3 || got[1] != "mailing.paused" || got[2] != "mailing.completed" {
		t.Fatalf("mailing stream %v", got)
	}
}

// The sender's writes: a batch of attempts appended again (a retry after a
// commit whose answer was lost) and a second finish store nothing new, and
// a skipped run of the schedule names the mailing's creation as its cause.
func TestRecordAttemptsAndFinishRunAreIdempotent(t *testing.T) {
	t.Parallel()
	e := newRunsEnv(t)
	m := e.mailing(t, true)
	runID := uuid.Must(uuid.NewV7())
	if _, _, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: m, RunID: runID}, domain.Metadata{ActorID: e.owner}); err != nil {
		t.Fatal(err)
	}
	recs, _ := e.store.Load(e.ctx, runID)
	head := []domain.Event{recs[0].Event}
	batch := commands.AttemptBatch{ID: uuid.Must(uuid.NewV7()), Attempts: []domain.DeliveryAttempted{
		{MailingID: m, ClientID: uuid.New(), Success: true, AttemptedAt: e.now, Attempt: 1},
		{MailingID: m, ClientID: uuid.New(), Permanent: true, AttemptedAt: e.now, Attempt: 1},
	}}
	trail := domain.Metadata{CorrelationID: uuid.New(), CausationID: commands.StartedEventID(runID)}
	for range 2 {
		if _, err := e.runs.RecordAttempts(e.ctx, runID, batch, trail); err != nil {
			t.Fatal(err)
		}
		if _, err := e.runs.FinishRun(e.ctx, commands.FinishRun{RunID: runID, Head: head, Sent: 1, Failed: 1}, trail); err != nil {
			t.Fatal(err)
		}
	}
	// The batch is one event under the batch's id, holding both attempts.
	if got := e.types(t, runID); len(got) != 3 || got[1] != "run.deliveries_attempted" || got[2] != "run.finished" {
		t.Fatalf("run stream %v", got)
	}
	recs, _ = e.store.Load(e.ctx, runID)
	if recs[1].EventID != batch.ID {
		t.Fatalf("batch stored as %s, want %s", recs[1].EventID, batch.ID)
	}
	if got := recs[1].Event.(domain.DeliveriesAttempted).Expand(); len(got) != 2 || got[0] != batch.Attempts[0] || got[1] != batch.Attempts[1] {
		t.Fatalf("batch holds %+v, want %+v", got, batch.Attempts)
	}
	recs, _ = e.store.Load(e.ctx, runID)
	if recs[2].EventID != commands.FinishedEventID(runID) || recs[2].Metadata.Command != "FinishRun" ||
		recs[2].Metadata.CausationID != commands.StartedEventID(runID) || recs[1].Metadata.Command != "RecordAttempts" {
		t.Fatalf("end %s %+v, attempt %+v", recs[2].EventID, recs[2].Metadata, recs[1].Metadata)
	}
	if _, err := e.runs.FinishRun(e.ctx, commands.FinishRun{RunID: uuid.New(), Head: head}, trail); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("finishing another run with this head: %v", err)
	}

	skipped := domain.ScheduledRunID(m, e.now.Add(time.Hour))
	if _, err := e.runs.SkipRun(e.ctx, m, skipped, e.now.Add(time.Hour), "missed", domain.Metadata{CorrelationID: skipped}); err != nil {
		t.Fatal(err)
	}
	created, _ := e.store.Load(e.ctx, m)
	recs, _ = e.store.Load(e.ctx, skipped)
	if recs[0].Metadata.CausationID != created[0].EventID || recs[0].Metadata.CorrelationID != skipped {
		t.Fatalf("run.skipped metadata %+v, want caused by %s", recs[0].Metadata, created[0].EventID)
	}
}
