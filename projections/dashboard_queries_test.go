package projections

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

// The dashboard's figures: deliveries per day of the caller's calendar
// (New York's, across the end of summer time, where a day is 25 hours
// long), and the mailings that will still send.
func TestDashboardQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	w := &reportWorld{store: store, alice: uuid.New(), bob: uuid.New()}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Summer time ends in New York on 1 Nov 2026 at 06:00 UTC: 1 Nov runs
	// from 04:00 UTC to 05:00 UTC the next day. now is 3 Nov, 07:00 there.
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }

	run := func(owner uuid.UUID, attempts ...domain.DeliveryAttempted) {
		m, r := uuid.New(), uuid.New()
		w.append(t, domain.RunStreamType, r, domain.RunStarted{RunID: r, MailingID: m, OwnerID: owner, Trigger: domain.TriggerManual,
			DueAt: now, StartedAt: now, Clients: len(attempts)})
		for _, a := range attempts {
			a.MailingID, a.ClientID, a.Email, a.Attempt = m, uuid.New(), "x@x.test", 1
			w.append(t, domain.RunStreamType, r, a)
		}
	}
	sent := func(t time.Time) domain.DeliveryAttempted {
		return domain.DeliveryAttempted{Success: true, ServerResponse: "250 ok", AttemptedAt: t}
	}
	refused := func(t time.Time) domain.DeliveryAttempted {
		return domain.DeliveryAttempted{ServerResponse: "550 no such user", AttemptedAt: t, Permanent: true}
	}
	deferred := func(t time.Time) domain.DeliveryAttempted {
		retry := t.Add(time.Minute)
		return domain.DeliveryAttempted{ServerResponse: "421 later", AttemptedAt: t, RetryAt: &retry}
	}
	run(w.alice,
		refused(at(1, 4, 30)),  // 1 Nov 00:30 EDT
		sent(at(2, 4, 30)),     // 1 Nov 23:30 EST: the 25th hour of 1 Nov
		sent(at(3, 3, 30)),     // 2 Nov 22:30 EST (3 Nov in UTC)
		deferred(at(3, 10, 0)), // 3 Nov: retried later, neither sent nor failed
		sent(at(1, 3, 59)),     // 31 Oct 23:59 EDT: before the days asked for
		sent(at(4, 5, 0)),      // 4 Nov 00:00 EST: tomorrow
	)
	run(w.bob, sent(at(3, 11, 0)), refused(at(3, 11, 1)))
	// Carol's day in Kathmandu (UTC+5:45) begins at 18:15 UTC: on either
	// side of it, and a batch of attempts recorded as one event.
	carol := uuid.New()
	run(carol, sent(at(2, 18, 14)), sent(at(2, 18, 15)))
	m, r := uuid.New(), uuid.New()
	w.append(t, domain.RunStreamType, r, domain.RunStarted{RunID: r, MailingID: m, OwnerID: carol, Trigger: domain.TriggerManual,
		DueAt: now, StartedAt: now, Clients: 3})
	batch := []domain.DeliveryAttempted{sent(at(2, 18, 29)), refused(at(2, 18, 30)), deferred(at(2, 18, 31))}
	for i := range batch {
		batch[i].MailingID, batch[i].ClientID, batch[i].Email, batch[i].Attempt = m, uuid.New(), "x@x.test", 1
	}
	w.append(t, domain.RunStreamType, r, domain.BatchAttempts(batch))
	// Every event twice, as a redelivery would: each attempt counts once.
	applyOneByOne(t, pool, AttemptsProjector{}, storedEvents(t, store))
	applyOneByOne(t, pool, AttemptsProjector{}, storedEvents(t, store))
	kathmandu, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}

	q, err := NewReportQueries(pool)
	if err != nil {
		t.Fatal(err)
	}
	show := func(ds []DayDeliveries) string {
		var s string
		for _, d := range ds {
			s += fmt.Sprintf("%s %s +%d -%d; ", d.Day.Format("2006-01-02T15:04 MST"), d.Day.Location(), d.Sent, d.Failed)
		}
		return s
	}
	for _, tc := range []struct {
		name  string
		scope OwnerScope
		loc   *time.Location
		days  int
		want  string
	}{
		{"alice in New York", OwnerScope{Caller: w.alice}, ny, 3,
			"2026-11-01T00:00 EDT America/New_York +1 -1; 2026-11-02T00:00 EST America/New_York +1 -0; 2026-11-03T00:00 EST America/New_York +0 -0; "},
		{"alice in UTC", OwnerScope{Caller: w.alice}, time.UTC, 4,
			"2026-10-31T00:00 UTC UTC +0 -0; 2026-11-01T00:00 UTC UTC +1 -1; 2026-11-02T00:00 UTC UTC +1 -0; 2026-11-03T00:00 UTC UTC +1 -0; "},
		{"bob", OwnerScope{Caller: w.bob}, ny, 1, "2026-11-03T00:00 EST America/New_York +1 -1; "},
		{"alice naming bob sees nothing", OwnerScope{Caller: w.alice, Owner: w.bob}, ny, 1, "2026-11-03T00:00 EST America/New_York +0 -0; "},
		{"carol in Kathmandu", OwnerScope{Caller: carol}, kathmandu, 2,
			"2026-11-02T00:00 +0545 Asia/Kathmandu +1 -0; 2026-11-03T00:00 +0545 Asia/Kathmandu +2 -1; "},
		{"everyone", OwnerScope{All: true}, ny, 3,
			"2026-11-01T00:00 EDT America/New_York +1 -1; 2026-11-02T00:00 EST America/New_York +4 -1; 2026-11-03T00:00 EST America/New_York +1 -1; "},
	} {
		got, err := q.DeliveriesPerDay(ctx, tc.scope, now, tc.loc, tc.days)
		if err != nil {
			t.Fatal(err)
		}
		if show(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, show(got), tc.want)
		}
	}

	// Mailings: alice has one enabled, one started, one disabled, one
	// completed and one deleted; bob one enabled.
	created := func(id, owner uuid.UUID, active bool) {
		w.append(t, "mailing", id, domain.MailingCreated{MailingID: id, OwnerID: owner, MessageID: uuid.New(), ClientIDs: []uuid.UUID{uuid.New()},
			StartAt: now, EndAt: now.Add(72 * time.Hour), Periodicity: domain.Daily, Timezone: "UTC", IsActive: active})
	}
	mCreated, mStarted, mDisabled, mCompleted, mDeleted, mBob := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	created(mCreated, w.alice, true)
	created(mStarted, w.alice, true)
	w.append(t, "mailing", mStarted, domain.MailingStarted{RunID: uuid.New(), At: now})
	created(mDisabled, w.alice, true)
	w.append(t, "mailing", mDisabled, domain.MailingDisabled{})
	created(mCompleted, w.alice, true)
	w.append(t, "mailing", mCompleted, domain.MailingCompleted{At: now, Reason: "end passed"})
	created(mDeleted, w.alice, true)
	w.append(t, "mailing", mDeleted, domain.MailingDeleted{})
	created(mBob, w.bob, true)
	var mailingEvents []domain.RecordedEvent
	for _, e := range storedEvents(t, store) {
		if e.StreamType == "mailing" {
			mailingEvents = append(mailingEvents, e)
		}
	}
	applyOneByOne(t, pool, MailingsProjector{}, mailingEvents)
	for _, tc := range []struct {
		scope OwnerScope
		want  int64
	}{{OwnerScope{Caller: w.alice}, 2}, {OwnerScope{Caller: w.bob}, 1}, {OwnerScope{All: true}, 3}, {OwnerScope{Caller: uuid.New()}, 0}} {
		if n, err := q.ActiveMailings(ctx, tc.scope); err != nil || n != tc.want {
			t.Errorf("active mailings of %+v: %d (%v), want %d", tc.scope, n, err, tc.want)
		}
	}
}
