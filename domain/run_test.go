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
	r, err := StartRun(id, m, TriggerSchedule, m.StartAt(), now)
	if err != nil {
		t.Fatal(err)
	}
	ev := r.Changes()[0].(RunStarted)
	if ev.RunID != id || ev.MailingID != m.ID() || ev.OwnerID != m.Owner() || ev.MessageID != m.MessageID() || ev.Clients != 2 {
		t.Fatalf("started %+v", ev)
	}
	loaded := LoadRun(r.Changes())
	if err := loaded.Finish(2, 0, now, ""); err != nil {
		t.Fatal(err)
	}
	if len(loaded.Changes()) != 1 {
		t.Fatalf("finish recorded %d events", len(loaded.Changes()))
	}
	again := LoadRun(append(r.Changes(), loaded.Changes()...))
	if err := again.Finish(2, 0, now, ""); err != nil || len(again.Changes()) != 0 {
		t.Fatalf("second finish: %v, %d events", err, len(again.Changes()))
	}
}

func TestStartRunRefusesInactiveCompletedDeleted(t *testing.T) {
	now := time.Now()
	if _, err := StartRun(uuid.New(), newTestMailing(t, false), TriggerManual, now, now); !errors.Is(err, ErrConflict) {
		t.Fatalf("inactive: %v", err)
	}
	m := newTestMailing(t, true)
	_ = m.Complete(now, "test")
	if _, err := StartRun(uuid.New(), m, TriggerManual, now, now); !errors.Is(err, ErrMailingCompleted) {
		t.Fatalf("completed: %v", err)
	}
	m = newTestMailing(t, true)
	_ = m.Delete()
	if _, err := StartRun(uuid.New(), m, TriggerManual, now, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if _, err := StartRun(uuid.New(), &Mailing{}, TriggerManual, now, now); !errors.Is(err, ErrNotFound) {
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
	if got, want := DeliveryMessageID(r, c), "<"+r.String()+"."+c.String()+"@herald>"; got != want {
		t.Fatalf("message id %s, want %s", got, want)
	}
}
