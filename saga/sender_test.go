package saga

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// attemptAppend is a recorded delivery, one attempt to an event as senders
// wrote them before batches.
func attemptAppend(runID, mailingID, clientID uuid.UUID, success bool) eventstore.StreamAppend {
	return eventstore.StreamAppend{
		Stream: domain.Stream{Type: domain.RunStreamType, ID: runID}, Expected: eventstore.Any,
		Events: newEvents([]domain.Event{domain.DeliveryAttempted{MailingID: mailingID, ClientID: clientID,
			Email: "x@example.test", Success: success, ServerResponse: "250 ok", AttemptedAt: time.Now(), Attempt: 1}}),
	}
}

// attempts reads a run's recorded attempts in store order, from both kinds
// of event.
func (e *env) attempts(runID uuid.UUID) []domain.DeliveryAttempted {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT event_id, type, data FROM events WHERE stream_id = $1
  AND type IN ('run.delivery_attempted', 'run.deliveries_attempted') ORDER BY version`, runID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []domain.DeliveryAttempted
	for rows.Next() {
		var id uuid.UUID
		var typ string
		var data []byte
		if err := rows.Scan(&id, &typ, &data); err != nil {
			e.t.Fatal(err)
		}
		ev, err := domain.DecodeEvent(typ, data)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, a := range domain.AttemptsOf(id, ev) {
			out = append(out, a.DeliveryAttempted)
		}
	}
	return out
}

func (e *env) finished(runID uuid.UUID) (domain.RunFinished, bool) {
	e.t.Helper()
	var data []byte
	if err := e.pool.QueryRow(e.ctx, `SELECT data FROM events WHERE event_id = $1 AND type = 'run.finished'`, FinishedEventID(runID)).Scan(&data); err != nil {
		return domain.RunFinished{}, false
	}
	var f domain.RunFinished
	if err := json.Unmarshal(data, &f); err != nil {
		e.t.Fatal(err)
	}
	return f, true
}

// dispatchNow starts a manual run of a window-open mailing created inactive
// (so the scheduler leaves it alone until the test dispatches it).
func (e *env) dispatchNow(m uuid.UUID) uuid.UUID {
	e.t.Helper()
	_, runID, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: m, Trigger: domain.TriggerManual, Owner: e.owner}, system)
	if err != nil {
		e.t.Fatal(err)
	}
	return runID
}

func (e *env) waitFinished(runID uuid.UUID) domain.RunFinished {
	e.t.Helper()
	return e.waitFinishedWithin(runID, 30*time.Second)
}

func (e *env) waitFinishedWithin(runID uuid.UUID, timeout time.Duration) domain.RunFinished {
	e.t.Helper()
	var f domain.RunFinished
	testenv.Eventually(e.t, timeout, "run finished", func() bool {
		var ok bool
		f, ok = e.finished(runID)
		return ok
	})
	return f
}

// A far-future daily mailing: the scheduler has nothing to do with it, the
// tests dispatch it by hand.
func (e *env) manualMailing(clients []uuid.UUID) uuid.UUID {
	start := e.clock.Now().Add(30 * 24 * time.Hour)
	return e.mailing(clients, start, start.Add(24*time.Hour), domain.Daily, "UTC")
}

// parkedUntil is when the scheduler hands run back to the senders for its
// deferred deliveries (nil: not parked).
func (e *env) parkedUntil(runID uuid.UUID) *time.Time {
	e.t.Helper()
	var at *time.Time
	if err := e.pool.QueryRow(e.ctx, `SELECT retry_at FROM saga_runs WHERE run_id = $1`, runID).Scan(&at); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		e.t.Fatal(err)
	}
	return at
}

func (e *env) waitParkedUntil(runID uuid.UUID, want time.Time) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, "run parked until "+want.String(), func() bool {
		at := e.parkedUntil(runID)
		return at != nil && at.Equal(want)
	})
}

// byClient groups a run's attempts per client, in order.
func byClient(as []domain.DeliveryAttempted) map[uuid.UUID][]domain.DeliveryAttempted {
	per := map[uuid.UUID][]domain.DeliveryAttempted{}
	for _, a := range as {
		per[a.ClientID] = append(per[a.ClientID], a)
	}
	return per
}

func TestDeferredDeliveriesAreRetriedOnTheScheduleWhileOthersGoOn(t *testing.T) {
	t.Parallel()
	schedule := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}
	e := newEnv(t, envOptions{noScheduler: true, noSender: true, reply: func(_, to string, attempt int) *mail.Reply {
		if !strings.HasPrefix(to, "c0-") && !strings.HasPrefix(to, "c1-") {
			return nil
		}
		switch attempt {
		case 1:
			return &mail.Reply{Code: 450, Text: "4.2.0 greylisted, try again later"}
		case 2:
			return &mail.Reply{Code: 451, Text: "4.3.0 local problem"}
		}
		return nil
	}})
	stopScheduler := e.startScheduler(SchedulerConfig{})
	stopSender := e.startSender(e.ctx, SenderConfig{RetrySchedule: schedule}, "sender-1")
	clients := e.clients(5)
	start := e.clock.Now()
	run := e.dispatchNow(e.manualMailing(clients))

	// The first pass delivers c2..c4 and defers c0 and c1 to a minute after
	// their first attempt; the run waits for them, unfinished.
	e.waitParkedUntil(run, start.Add(time.Minute))
	if f, ok := e.finished(run); ok {
		t.Fatalf("run finished with deliveries deferred: %+v", f)
	}
	if n := e.sink.Count(); n != 3 {
		t.Fatalf("sink holds %d, want the 3 not deferred", n)
	}
	for _, c := range clients[:2] {
		as := byClient(e.attempts(run))[c]
		if len(as) != 1 {
			t.Fatalf("client %s: %d attempts, want 1", c, len(as))
		}
		a := as[0]
		if a.Success || a.Permanent || a.Final() || a.Attempt != 1 || a.RetryAt == nil || !a.RetryAt.Equal(start.Add(time.Minute)) ||
			!strings.HasPrefix(a.ServerResponse, "450") || !strings.Contains(a.ServerResponse, "greylisted") {
			t.Fatalf("first attempt %+v, want deferred to %v", a, start.Add(time.Minute))
		}
	}

	// The schedule lives in the store: a new scheduler and a new sender
	// take over the parked run. The new scheduler is ticked by the test,
	// so a look that hands nothing back is seen as such.
	stopSender()
	stopScheduler()
	s := e.drivenScheduler(SchedulerConfig{})
	e.startSender(e.ctx, SenderConfig{RetrySchedule: schedule}, "sender-2")

	// Not before the retry is due.
	e.clock.Set(start.Add(time.Minute - time.Second))
	e.tick(s, 0)
	if n := len(e.attempts(run)); n != 5 {
		t.Fatalf("%d attempts before the retry was due, want 5", n)
	}
	e.clock.Set(start.Add(time.Minute))
	e.tick(s, 1)
	e.waitParkedUntil(run, start.Add(5*time.Minute))
	e.clock.Set(start.Add(5 * time.Minute))
	e.tick(s, 1)
	f := e.waitFinished(run)
	if f.Sent != 5 || f.Failed != 0 || f.Stopped != "" {
		t.Fatalf("finished %+v, want 5 sent", f)
	}
	per := byClient(e.attempts(run))
	for _, c := range clients[:2] {
		as := per[c]
		if len(as) != 3 {
			t.Fatalf("client %s: %d attempts, want 3", c, len(as))
		}
		if a := as[1]; a.Success || a.Final() || a.Attempt != 2 || !strings.HasPrefix(a.ServerResponse, "451") ||
			a.RetryAt == nil || !a.RetryAt.Equal(start.Add(5*time.Minute)) || !a.AttemptedAt.Equal(start.Add(time.Minute)) {
			t.Fatalf("second attempt %+v", a)
		}
		if a := as[2]; !a.Success || !a.Final() || a.Attempt != 3 || a.RetryAt != nil || !strings.HasPrefix(a.ServerResponse, "250") {
			t.Fatalf("third attempt %+v", a)
		}
	}
	for _, c := range clients[2:] {
		if as := per[c]; len(as) != 1 || !as[0].Success {
			t.Fatalf("client %s: attempts %+v, want one success", c, as)
		}
	}
	msgs, err := e.sink.WaitFor(e.ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m.MessageID, run.String()+".") || !strings.HasSuffix(m.MessageID, "@example.test") {
			t.Fatalf("Message-ID %q not built from the delivery key and the sender's domain", m.MessageID)
		}
	}
	if e.sink.Count() != 5 {
		t.Fatalf("sink holds %d", e.sink.Count())
	}
	testenv.Eventually(e.t, 30*time.Second, "the finished run is no longer watched", func() bool { return !e.watched(run) })
}

func TestSenderGivesUpWhenTheRetryScheduleIsSpent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{sender: SenderConfig{RetrySchedule: []time.Duration{time.Minute, 2 * time.Minute}},
		reply: func(_, _ string, _ int) *mail.Reply { return &mail.Reply{Code: 452, Text: "4.2.2 mailbox full"} }})
	start := e.clock.Now()
	run := e.dispatchNow(e.manualMailing(e.clients(1)))
	e.waitParkedUntil(run, start.Add(time.Minute))
	e.clock.Set(start.Add(time.Minute))
	e.waitParkedUntil(run, start.Add(2*time.Minute))
	e.clock.Set(start.Add(2 * time.Minute))
	f := e.waitFinished(run)
	as := e.attempts(run)
	if len(as) != 3 || f.Failed != 1 || f.Sent != 0 {
		t.Fatalf("attempts %+v finished %+v, want 3 attempts and one failure", as, f)
	}
	for i, a := range as[:2] {
		if a.Final() || a.RetryAt == nil || a.Attempt != i+1 {
			t.Fatalf("attempt %d %+v, want deferred", i+1, a)
		}
	}
	if a := as[2]; !a.Permanent || a.RetryAt != nil || a.Attempt != 3 || !strings.HasPrefix(a.ServerResponse, "452") {
		t.Fatalf("last attempt %+v, want final", a)
	}
}

// A once mailing has no run after its one: too many failures do not pause
// it (it completes), and it completes only once the run's deferred
// deliveries are final, even when its window closes meanwhile.
func TestOnceMailingCompletesAfterItsDeferredDeliveriesAndIsNotPaused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{sender: SenderConfig{RetrySchedule: []time.Duration{2 * time.Minute}},
		reply: func(_, to string, attempt int) *mail.Reply {
			switch {
			case !strings.HasPrefix(to, "c0-"):
				return &mail.Reply{Code: 550, Text: "5.1.1 no such user"}
			case attempt == 1:
				return &mail.Reply{Code: 450, Text: "4.2.0 greylisted"}
			}
			return nil
		}})
	now := e.clock.Now()
	end := now.Add(time.Minute)
	m := e.mailing(e.clients(3), now.Add(-time.Minute), end, domain.Once, "UTC")
	e.waitRuns(m, 1)
	run := e.loadMailing(m).LastRunID()
	e.waitParkedUntil(run, now.Add(2*time.Minute))

	// The window closes while c0 is deferred: the completion waits.
	e.clock.Set(end)
	e.waitDue(m, end.Add(time.Minute))
	if st := e.loadMailing(m).Status(); st != domain.StatusStarted {
		t.Fatalf("status %s while a delivery is deferred", st)
	}

	e.clock.Set(now.Add(2 * time.Minute))
	f := e.waitFinished(run)
	if f.Sent != 1 || f.Failed != 2 || !strings.HasPrefix(f.Stopped, ratioPrefix) {
		t.Fatalf("finished %+v, want 1 sent, 2 failed, over the ratio", f)
	}
	e.waitStatus(m, domain.StatusCompleted)
	if n := e.count(`SELECT count(*) FROM events WHERE stream_id = $1 AND type = 'mailing.paused'`, m); n != 0 {
		t.Fatalf("a once mailing with no runs left was paused (%d events)", n)
	}
}

func TestSender550IsAFailureAndTooManyPauseTheMailing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, reply: func(_, to string, _ int) *mail.Reply {
		if strings.HasPrefix(to, "c1-") || strings.HasPrefix(to, "c2-") || strings.HasPrefix(to, "c3-") {
			return &mail.Reply{Code: 550, Text: "5.1.1 no such user"}
		}
		return nil
	}})
	// 3 of 10 fail: recorded, not paused.
	m := e.manualMailing(e.clients(10))
	run := e.dispatchNow(m)
	f := e.waitFinished(run)
	if f.Sent != 7 || f.Failed != 3 || f.Stopped != "" {
		t.Fatalf("finished %+v", f)
	}
	fails := 0
	for _, a := range e.attempts(run) {
		if !a.Success {
			fails++
			if !a.Permanent || a.Attempt != 1 || !strings.HasPrefix(a.ServerResponse, "550") || !strings.Contains(a.ServerResponse, "no such user") {
				t.Fatalf("failure %+v", a)
			}
		}
	}
	if fails != 3 {
		t.Fatalf("%d failures, want 3 (5xx is not retried)", fails)
	}
	if !e.loadMailing(m).IsActive() {
		t.Fatal("mailing paused at 30% failures")
	}

	// 3 of 4 fail (75% > 50%): the run ends and the mailing is paused, with
	// the reason in the event.
	ids := e.clients(4) // c0..c3 of this batch: c1, c2, c3 fail
	m2 := e.manualMailing(ids)
	run2 := e.dispatchNow(m2)
	f2 := e.waitFinished(run2)
	if f2.Failed != 3 || f2.Sent != 1 || !strings.Contains(f2.Stopped, "3 of 4") {
		t.Fatalf("finished %+v", f2)
	}
	testenv.Eventually(e.t, 30*time.Second, "paused", func() bool { return !e.loadMailing(m2).IsActive() })
	var reason string
	if err := e.pool.QueryRow(e.ctx, `SELECT data->>'reason' FROM events WHERE stream_id = $1 AND type = 'mailing.paused'`, m2).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, run2.String()) || !strings.Contains(reason, "3 of 4 deliveries failed") {
		t.Fatalf("pause reason %q", reason)
	}
	// A paused mailing does not run again until enabled.
	if _, _, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: m2, Owner: e.owner}, system); err == nil {
		t.Fatal("a paused mailing was dispatched")
	}
}

func TestSenderStopsARunMidwayWhenFailuresPassTheRatio(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, sender: SenderConfig{PauseMinSample: 20, Concurrency: 2},
		reply: func(_, _ string, _ int) *mail.Reply { return &mail.Reply{Code: 554, Text: "5.7.1 rejected"} }})
	m := e.manualMailing(e.clients(300))
	run := e.dispatchNow(m)
	f := e.waitFinished(run)
	if !strings.HasPrefix(f.Stopped, ratioPrefix) || f.Sent != 0 {
		t.Fatalf("finished %+v", f)
	}
	// It stopped at PauseMinSample failures (plus at most the other
	// worker's attempt in flight), not after burning through the 300.
	if n := len(e.attempts(run)); n < 20 || n > 20+2 {
		t.Fatalf("%d attempts before stopping, want 20 or 21", n)
	}
	testenv.Eventually(e.t, 30*time.Second, "paused", func() bool { return !e.loadMailing(m).IsActive() })
}

func TestRedeliveredDispatchResumesWithoutResending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, noSender: true})
	clients := e.clients(50)
	m := e.manualMailing(clients)
	run := e.dispatchNow(m)
	s := e.newSender(SenderConfig{})

	// A first session that records 20 successes, then "crashes": the run
	// has no end yet.
	for _, c := range clients[:20] {
		e.commit(attemptAppend(run, m, c, true))
	}
	stats, err := s.handle(e.ctx, commands.Dispatch{RunID: run, MailingID: m})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Resumed != 20 || stats.Attempts != 30 || stats.Sent != 50 {
		t.Fatalf("stats %+v", stats)
	}
	if n := e.sink.Count(); n != 30 {
		t.Fatalf("sink got %d, want the 30 not yet done", n)
	}
	// The same command again (a redelivery): nothing more is sent.
	stats, err = s.handle(e.ctx, commands.Dispatch{RunID: run, MailingID: m})
	if err != nil || stats.Attempts != 0 {
		t.Fatalf("second handle: %+v %v", stats, err)
	}
	if n := e.sink.Count(); n != 30 {
		t.Fatalf("sink got %d after redelivery", n)
	}
	if f, ok := e.finished(run); !ok || f.Sent != 50 {
		t.Fatalf("finished %+v", f)
	}
}

func TestRunWatchCountsFinalAttemptsIncrementally(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, noSender: true})
	clients := e.clients(5)
	m := e.manualMailing(clients)
	run := e.dispatchNow(m)
	w := NewRunWatch(run)
	read := func(wantDone, wantBounced int) {
		t.Helper()
		p, err := w.Read(e.ctx, e.pool)
		if err != nil {
			t.Fatal(err)
		}
		if p.Clients != 5 || p.Done != wantDone || p.Bounced != wantBounced || p.Finished {
			t.Fatalf("watch read %+v, want 5 clients, %d done, %d bounced, unfinished", p, wantDone, wantBounced)
		}
		fresh, err := ReadRunProgress(e.ctx, e.pool, run)
		if err != nil || fresh != p {
			t.Fatalf("ReadRunProgress %+v (%v), watch %+v", fresh, err, p)
		}
	}
	read(0, 0)
	// A success is final, a temporary failure is not.
	e.commit(attemptAppend(run, m, clients[0], true))
	e.commit(attemptAppend(run, m, clients[1], false))
	read(1, 0)
	permanent := attemptAppend(run, m, clients[1], false)
	a := permanent.Events[0].Event.(domain.DeliveryAttempted)
	// A permanent failure whose 5xx reply says no such mailbox is a
	// bounce, counted once however often the run is read.
	a.Permanent, a.Attempt, a.ServerResponse = true, 2, "550 5.1.1 <x@example.test>: user unknown"
	permanent.Events[0].Event = a
	e.commit(permanent, attemptAppend(run, m, clients[2], true))
	read(3, 1)
	read(3, 1)
	// The sender finishes the run: the totals come from run.finished.
	if _, err := e.newSender(SenderConfig{}).handle(e.ctx, commands.Dispatch{RunID: run, MailingID: m}); err != nil {
		t.Fatal(err)
	}
	p, err := w.Read(e.ctx, e.pool)
	if err != nil || !p.Finished || p.Sent != 4 || p.Failed != 1 || p.Bounced != 1 || p.Done != 5 {
		t.Fatalf("after the end: %+v %v", p, err)
	}
}

// A Redis that lost its data (FLUSHALL, or a restart without persistence)
// has no consumer group any more: the subscription ends, and the sender
// must subscribe again (recreating the group) instead of leaving the
// process up with nobody reading the command stream.
func TestSenderConsumesAgainAfterRedisLosesItsData(t *testing.T) {
	t.Parallel()
	r := testenv.StartPrivateRedis(t)
	e := newEnv(t, envOptions{noScheduler: true, redisURL: r.URL()})
	clients := e.clients(3)
	e.waitFinished(e.dispatchNow(e.manualMailing(clients)))

	r.Stop()
	r.Start() // empty: no streams, no groups

	f := e.waitFinished(e.dispatchNow(e.manualMailing(clients)))
	if f.Sent != len(clients) {
		t.Fatalf("second run sent %d, want %d", f.Sent, len(clients))
	}
}
