package saga

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/mail"
)

// attemptAppend is a recorded delivery, as an earlier session left it.
func attemptAppend(runID, mailingID, clientID uuid.UUID, success bool) eventstore.StreamAppend {
	return eventstore.StreamAppend{
		Stream: domain.Stream{Type: domain.RunStreamType, ID: runID}, Expected: eventstore.Any,
		Events: newEvents([]domain.Event{domain.DeliveryAttempted{MailingID: mailingID, ClientID: clientID,
			Email: "x@example.test", Success: success, ServerResponse: "250 ok", AttemptedAt: time.Now(), Attempt: 1}}),
	}
}

func (e *env) attempts(runID uuid.UUID) []domain.DeliveryAttempted {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT data FROM events WHERE stream_id = $1 AND type = 'run.delivery_attempted' ORDER BY version`, runID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []domain.DeliveryAttempted
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			e.t.Fatal(err)
		}
		var a domain.DeliveryAttempted
		if err := json.Unmarshal(data, &a); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, a)
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
	_ = json.Unmarshal(data, &f)
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
	e.eventually("run finished", timeout, func() bool {
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

func TestSenderRetriesTemporaryFailuresThenSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, reply: func(_, _ string, attempt int) *mail.Reply {
		switch attempt {
		case 1:
			return &mail.Reply{Code: 421, Text: "4.7.0 try again later"}
		case 2:
			return &mail.Reply{Code: 451, Text: "4.3.0 local problem"}
		}
		return nil
	}})
	clients := e.clients(5)
	run := e.dispatchNow(e.manualMailing(clients))
	f := e.waitFinished(run)
	if f.Sent != 5 || f.Failed != 0 || f.Stopped != "" {
		t.Fatalf("finished %+v, want 5 sent", f)
	}
	per := map[uuid.UUID][]domain.DeliveryAttempted{}
	for _, a := range e.attempts(run) {
		per[a.ClientID] = append(per[a.ClientID], a)
	}
	for _, c := range clients {
		as := per[c]
		if len(as) != 3 {
			t.Fatalf("client %s: %d attempts, want 3", c, len(as))
		}
		if as[0].Success || !strings.HasPrefix(as[0].ServerResponse, "421") || !strings.Contains(as[0].ServerResponse, "try again later") || as[0].Permanent {
			t.Fatalf("first attempt %+v", as[0])
		}
		if as[1].Success || !strings.HasPrefix(as[1].ServerResponse, "451") || as[1].Attempt != 2 {
			t.Fatalf("second attempt %+v", as[1])
		}
		if !as[2].Success || !strings.HasPrefix(as[2].ServerResponse, "250") || as[2].Attempt != 3 {
			t.Fatalf("third attempt %+v", as[2])
		}
	}
	msgs, err := e.sink.WaitFor(e.ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m.MessageID, run.String()+".") || !strings.HasSuffix(m.MessageID, "@herald") {
			t.Fatalf("Message-ID %q not built from the delivery key", m.MessageID)
		}
	}
	if e.sink.Count() != 5 {
		t.Fatalf("sink holds %d", e.sink.Count())
	}
}

func TestSenderGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, sender: SenderConfig{MaxAttempts: 3},
		reply: func(_, _ string, _ int) *mail.Reply { return &mail.Reply{Code: 452, Text: "4.2.2 mailbox full"} }})
	run := e.dispatchNow(e.manualMailing(e.clients(1)))
	f := e.waitFinished(run)
	as := e.attempts(run)
	if len(as) != 3 || !as[2].Permanent || as[1].Permanent || f.Failed != 1 {
		t.Fatalf("attempts %+v finished %+v", as, f)
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
	e.eventually("paused", 5*time.Second, func() bool { return !e.loadMailing(m2).IsActive() })
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
	e.eventually("paused", 5*time.Second, func() bool { return !e.loadMailing(m).IsActive() })
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
	f, _ := e.finished(run)
	if f.Sent != 50 {
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
	read := func(wantDone int) {
		t.Helper()
		p, err := w.Read(e.ctx, e.pool)
		if err != nil {
			t.Fatal(err)
		}
		if p.Clients != 5 || p.Done != wantDone || p.Finished {
			t.Fatalf("watch read %+v, want 5 clients, %d done, unfinished", p, wantDone)
		}
		fresh, err := ReadRunProgress(e.ctx, e.pool, run)
		if err != nil || fresh != p {
			t.Fatalf("ReadRunProgress %+v (%v), watch %+v", fresh, err, p)
		}
	}
	read(0)
	// A success is final, a temporary failure is not.
	e.commit(attemptAppend(run, m, clients[0], true))
	e.commit(attemptAppend(run, m, clients[1], false))
	read(1)
	permanent := attemptAppend(run, m, clients[1], false)
	a := permanent.Events[0].Event.(domain.DeliveryAttempted)
	a.Permanent, a.Attempt = true, 2
	permanent.Events[0].Event = a
	e.commit(permanent, attemptAppend(run, m, clients[2], true))
	read(3)
	read(3)
	// The sender finishes the run: the totals come from run.finished.
	if _, err := e.newSender(SenderConfig{}).handle(e.ctx, commands.Dispatch{RunID: run, MailingID: m}); err != nil {
		t.Fatal(err)
	}
	p, err := w.Read(e.ctx, e.pool)
	if err != nil || !p.Finished || p.Sent != 4 || p.Failed != 1 || p.Done != 5 {
		t.Fatalf("after the end: %+v %v", p, err)
	}
}
