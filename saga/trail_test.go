package saga

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// stream loads a stream with its metadata.
func (e *env) stream(id uuid.UUID) []domain.RecordedEvent {
	e.t.Helper()
	recs, err := e.store.Load(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

// one returns the only event of type typ in recs.
func one(t *testing.T, recs []domain.RecordedEvent, typ string) domain.RecordedEvent {
	t.Helper()
	var found []domain.RecordedEvent
	for _, r := range recs {
		if r.Type == typ {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s events, want 1", len(found), typ)
	}
	return found[0]
}

// checkMeta fails unless r carries the actor, correlation, cause and
// command given.
func checkMeta(t *testing.T, r domain.RecordedEvent, actor, corr, cause uuid.UUID, command string) {
	t.Helper()
	want := domain.Metadata{ActorID: actor, CorrelationID: corr, CausationID: cause, Command: command}
	if r.Metadata != want {
		t.Fatalf("%s (v%d) metadata %+v, want %+v", r.Type, r.Version, r.Metadata, want)
	}
}

// checkRunTrail checks that every event of run after its start, caused by
// the start, shares its correlation and has no actor.
func checkRunTrail(t *testing.T, recs []domain.RecordedEvent, runID, corr uuid.UUID, deliveries int) {
	t.Helper()
	started := commands.StartedEventID(runID)
	if recs[0].EventID != started || recs[0].Metadata.CorrelationID != corr {
		t.Fatalf("run starts with %s %s, correlation %s", recs[0].Type, recs[0].EventID, recs[0].Metadata.CorrelationID)
	}
	n := 0
	for _, r := range recs[1:] {
		switch r.Type {
		case "run.deliveries_attempted":
			n += len(r.Event.(domain.DeliveriesAttempted).Attempts)
			checkMeta(t, r, uuid.Nil, corr, started, "RecordAttempts")
		case "run.finished":
			if r.EventID != FinishedEventID(runID) {
				t.Fatalf("run.finished stored as %s", r.EventID)
			}
			checkMeta(t, r, uuid.Nil, corr, started, "FinishRun")
		default:
			t.Fatalf("unexpected %s on the run stream", r.Type)
		}
	}
	if n != deliveries || recs[len(recs)-1].Type != "run.finished" {
		t.Fatalf("%d deliveries, want %d, then the end (last is %s)", n, deliveries, recs[len(recs)-1].Type)
	}
}

// A scheduled run is the schedule's: no actor, the run's own id as its
// correlation, the mailing's creation as its cause; its deliveries and end
// follow from its start, and the completion of a once mailing from its end.
func TestScheduledRunCarriesItsTrail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	now := e.clock.Now()
	m := e.mailing(e.clients(3), now.Add(-time.Hour), now.Add(24*time.Hour), domain.Once, "UTC")
	e.waitRuns(m, 1)
	e.waitStatus(m, domain.StatusCompleted)

	trail := e.stream(m)
	created := one(t, trail, "mailing.created")
	run := e.loadMailing(m).LastRunID()
	if run != domain.ScheduledRunID(m, now) {
		t.Fatalf("run %s is not the scheduled one", run)
	}
	checkMeta(t, one(t, trail, "mailing.started"), uuid.Nil, run, created.EventID, "DispatchMailing")
	checkMeta(t, one(t, trail, "mailing.completed"), uuid.Nil, run, FinishedEventID(run), "CompleteMailing")
	runTrail := e.stream(run)
	checkMeta(t, runTrail[0], uuid.Nil, run, created.EventID, "DispatchMailing")
	checkRunTrail(t, runTrail, run, run, 3)
}

// A run someone dispatched goes on their request's trail, and the pause it
// ends in is caused by its end.
func TestPauseFollowsFromTheEndOfTheRunThatFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, reply: func(_, to string, _ int) *mail.Reply {
		if !strings.HasPrefix(to, "c0-") {
			return &mail.Reply{Code: 550, Text: "5.1.1 no such user"}
		}
		return nil
	}})
	m := e.manualMailing(e.clients(4))
	request := uuid.New()
	_, run, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: m, Trigger: domain.TriggerManual, Owner: e.owner},
		domain.Metadata{ActorID: e.owner, CorrelationID: request})
	if err != nil {
		t.Fatal(err)
	}
	if f := e.waitFinished(run); f.Failed != 3 || !strings.HasPrefix(f.Stopped, ratioPrefix) {
		t.Fatalf("finished %+v", f)
	}
	testenv.Eventually(e.t, 30*time.Second, "paused", func() bool { return !e.loadMailing(m).IsActive() })

	trail := e.stream(m)
	// A person's own command: nothing caused it but them.
	checkMeta(t, one(t, trail, "mailing.started"), e.owner, request, uuid.Nil, "DispatchMailing")
	checkMeta(t, one(t, trail, "mailing.paused"), uuid.Nil, request, FinishedEventID(run), "PauseMailing")
	runTrail := e.stream(run)
	checkMeta(t, runTrail[0], e.owner, request, uuid.Nil, "DispatchMailing")
	checkRunTrail(t, runTrail, run, request, 4)
}
