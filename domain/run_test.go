package domain

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func newTestMailing(t *testing.T, active bool) *Mailing {
	t.Helper()
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	m, err := NewMailing(uuid.New(), uuid.New(), MailingFields{
		MessageID: uuid.New(), ClientIDs: []uuid.UUID{uuid.New(), uuid.New()},
		StartAt: start, EndAt: start.Add(72 * time.Hour), Periodicity: Daily,
	}, active)
	if err != nil {
		t.Fatal(err)
	}
	return LoadMailing(m.Changes())
}

func TestStartRunRecordsWhatTheSenderNeeds(t *testing.T) {
	m := newTestMailing(t, true)
	now := time.Date(2026, 1, 1, 9, 0, 1, 0, time.UTC)
	id := ScheduledRunID(m.ID(), m.StartAt())
	r, err := StartRun(id, m, nil, TriggerSchedule, m.StartAt(), now, RunRecipients{})
	if err != nil {
		t.Fatal(err)
	}
	ev := r.Changes()[0].(RunStarted)
	if ev.RunID != id || ev.MailingID != m.ID() || ev.OwnerID != m.Owner() || ev.MessageID != m.MessageID() || ev.Clients != 2 {
		t.Fatalf("started %+v", ev)
	}
	loaded := LoadRun(r.Changes())
	if err := loaded.Finish(2, 0, 0, now, "", 0); err != nil {
		t.Fatal(err)
	}
	if len(loaded.Changes()) != 1 {
		t.Fatalf("finish recorded %d events", len(loaded.Changes()))
	}
	again := LoadRun(append(r.Changes(), loaded.Changes()...))
	if err := again.Finish(2, 0, 0, now, "", 0); err != nil || len(again.Changes()) != 0 {
		t.Fatalf("second finish: %v, %d events", err, len(again.Changes()))
	}
}

func TestStartRunRefusesInactiveCompletedDeleted(t *testing.T) {
	now := time.Now()
	if _, err := StartRun(uuid.New(), newTestMailing(t, false), nil, TriggerManual, now, now, RunRecipients{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("inactive: %v", err)
	}
	m := newTestMailing(t, true)
	if err := m.Complete(now, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := StartRun(uuid.New(), m, nil, TriggerManual, now, now, RunRecipients{}); !errors.Is(err, ErrMailingCompleted) {
		t.Fatalf("completed: %v", err)
	}
	m = newTestMailing(t, true)
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := StartRun(uuid.New(), m, nil, TriggerManual, now, now, RunRecipients{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if _, err := StartRun(uuid.New(), &Mailing{}, nil, TriggerManual, now, now, RunRecipients{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestRunIdsAreStable(t *testing.T) {
	m, c := uuid.New(), uuid.New()
	due := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	if ScheduledRunID(m, due) != ScheduledRunID(m, due.In(time.FixedZone("x", 3600))) {
		t.Fatal("run id depends on the zone the due time is expressed in")
	}
	if ScheduledRunID(m, due) == ScheduledRunID(m, due.Add(time.Second)) {
		t.Fatal("two due times share a run id")
	}
	r := ScheduledRunID(m, due)
	if got, want := DeliveryMessageKey(r, c), r.String()+"."+c.String(); got != want {
		t.Fatalf("message id %s, want %s", got, want)
	}
}

func TestNextRetryFollowsTheScheduleFromTheFirstAttempt(t *testing.T) {
	first := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	schedule := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}
	for _, c := range []struct {
		now  time.Time
		want time.Time
	}{
		{first, first.Add(time.Minute)},
		{first.Add(time.Minute), first.Add(5 * time.Minute)},                       // the retry made on time
		{first.Add(61 * time.Second), first.Add(5 * time.Minute)},                  // a little late
		{first.Add(7 * time.Minute), first.Add(15 * time.Minute)},                  // late: the missed retry is skipped
		{first.Add(15*time.Minute - time.Nanosecond), first.Add(15 * time.Minute)}, // just before the last
	} {
		got, ok := NextRetry(schedule, first, c.now)
		if !ok || !got.Equal(c.want) {
			t.Fatalf("failed at +%v: retry at %v (%v), want +%v", c.now.Sub(first), got, ok, c.want.Sub(first))
		}
	}
	for _, now := range []time.Time{first.Add(15 * time.Minute), first.Add(time.Hour)} {
		if at, ok := NextRetry(schedule, first, now); ok {
			t.Fatalf("failed at +%v: retry at %v, want none (the schedule is spent)", now.Sub(first), at)
		}
	}
	if _, ok := NextRetry(nil, first, first); ok {
		t.Fatal("an empty schedule retried")
	}
	deferred := DeliveryAttempted{Attempt: 1}
	if deferred.Final() || !deferred.Deferred() {
		t.Fatal("a temporary failure counted as final")
	}
	for _, a := range []DeliveryAttempted{{Success: true}, {Permanent: true}} {
		if !a.Final() || a.Deferred() {
			t.Fatalf("%+v not final", a)
		}
	}
}

func TestRunsLeftFollowsTheSchedule(t *testing.T) {
	m := newTestMailing(t, true) // daily at 09:00 from 2026-01-01, for three days
	start := m.StartAt()
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{start.Add(-time.Hour), true},
		{start.Add(time.Hour), true},                   // the runs of the 2nd and 3rd
		{start.Add(48*time.Hour + time.Minute), false}, // after the last run
	} {
		if got := m.RunsLeft(c.at); got != c.want {
			t.Fatalf("runs left at %v: %v, want %v", c.at, got, c.want)
		}
	}
	once, err := NewMailing(uuid.New(), uuid.New(), MailingFields{MessageID: uuid.New(), ClientIDs: []uuid.UUID{uuid.New()},
		StartAt: start, EndAt: start.Add(time.Hour), Periodicity: Once}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !once.RunsLeft(start.Add(-time.Minute)) || once.RunsLeft(start.Add(time.Minute)) {
		t.Fatal("a once mailing has its run left before its start only")
	}
	if err := m.Complete(start, "done"); err != nil || m.RunsLeft(start.Add(-time.Hour)) {
		t.Fatalf("a completed mailing has runs left (%v)", err)
	}
}

// A mailing names its recipients by exactly one of client_ids and
// all_clients; an all-clients run records the snapshot that fixes them.
func TestAllClientsMailingAndItsRun(t *testing.T) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	f := MailingFields{MessageID: uuid.New(), AllClients: true, ClientIDs: []uuid.UUID{uuid.New()},
		StartAt: start, EndAt: start.Add(time.Hour), Periodicity: Once}
	for name, tc := range map[string]struct {
		all   bool
		ids   []uuid.UUID
		field string
	}{"both": {true, f.ClientIDs, "all_clients"}, "neither": {false, nil, "client_ids"}} {
		f.AllClients, f.ClientIDs = tc.all, tc.ids
		_, err := NewMailing(uuid.New(), uuid.New(), f, true)
		var v *ValidationError
		if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != tc.field {
			t.Fatalf("%s: %v", name, err)
		}
	}
	f.AllClients, f.ClientIDs = true, nil
	m, err := NewMailing(uuid.New(), uuid.New(), f, true)
	if err != nil {
		t.Fatal(err)
	}
	m = LoadMailing(m.Changes())
	if !m.AllClients() || len(m.ClientIDs()) != 0 {
		t.Fatalf("loaded all=%v ids=%v", m.AllClients(), m.ClientIDs())
	}
	if _, err := StartRun(uuid.New(), m, nil, TriggerManual, start, start, RunRecipients{}); err == nil {
		t.Fatal("an all-clients run started without its recipients fixed")
	}
	r, err := StartRun(uuid.New(), m, nil, TriggerManual, start, start, RunRecipients{AsOf: "10:12:10", Count: 7})
	if err != nil {
		t.Fatal(err)
	}
	ev := r.Changes()[0].(RunStarted)
	if !ev.AllClients || ev.ClientsAsOf != "10:12:10" || ev.Clients != 7 {
		t.Fatalf("started %+v", ev)
	}
	if l := LoadRun(r.Changes()); !l.AllClients() || l.Recipients() != (RunRecipients{AsOf: "10:12:10", Count: 7}) {
		t.Fatalf("loaded run %+v", l.Recipients())
	}
	// Switching a listed mailing to every client, and back.
	listed := newTestMailing(t, true)
	g := listed.Fields()
	g.AllClients, g.ClientIDs = true, nil
	if err := listed.Update(g); err != nil || !listed.AllClients() {
		t.Fatalf("to all clients: %v", err)
	}
}

func TestStartRunRefusesABlockedOwnersMailing(t *testing.T) {
	now := time.Now()
	m := newTestMailing(t, true)
	u, err := CreateSuperuser(NewAccount{ID: m.Owner(), Email: "owner@example.test", Name: "Owner", PasswordHash: "h"}, now)
	if err != nil {
		t.Fatal(err)
	}
	owner := LoadUser(m.Owner(), u.Changes())
	if _, err := StartRun(uuid.New(), m, owner, TriggerSchedule, now, now, RunRecipients{}); err != nil {
		t.Fatalf("active owner: %v", err)
	}
	if err := owner.Block(); err != nil {
		t.Fatal(err)
	}
	if _, err := StartRun(uuid.New(), m, owner, TriggerSchedule, now, now, RunRecipients{}); !errors.Is(err, ErrOwnerBlocked) || !errors.Is(err, ErrConflict) {
		t.Fatalf("blocked owner: %v", err)
	}
	if err := owner.Activate(); err != nil {
		t.Fatal(err)
	}
	if _, err := StartRun(uuid.New(), m, owner, TriggerSchedule, now, now, RunRecipients{}); err != nil {
		t.Fatalf("owner activated again: %v", err)
	}
	if LoadUser(uuid.New(), nil).Blocked() {
		t.Fatal("an account that does not exist counts as blocked")
	}
}

func TestRunFinishedNoteSaysWhyAndWhatWasNotMade(t *testing.T) {
	for _, c := range []struct {
		f    RunFinished
		want string
	}{
		{RunFinished{Sent: 3}, ""},
		{RunFinished{Sent: 3, Stopped: OwnerBlockedReason, Unsent: 297}, "its owner is blocked; 297 deliveries not made"},
		{RunFinished{Sent: 3, Stopped: OwnerBlockedReason}, OwnerBlockedReason},
	} {
		if got := c.f.Note(); got != c.want {
			t.Errorf("%+v: note %q, want %q", c.f, got, c.want)
		}
	}
}
