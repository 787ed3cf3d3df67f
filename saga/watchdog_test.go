package saga

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

func (e *env) watched(runID uuid.UUID) bool {
	return e.count(`SELECT count(*) FROM saga_runs WHERE run_id = $1`, runID) == 1
}

// loseCommands deletes the command stream, as a Redis that lost its data
// would: every DispatchMailing on it, read or not, is gone.
func (e *env) loseCommands() {
	e.t.Helper()
	if err := e.bus.Client.Del(e.ctx, e.bus.Topic(DispatchTopic)).Err(); err != nil {
		e.t.Fatal(err)
	}
}

func TestWatchdogResumesARunWhoseCommandWasLost(t *testing.T) {
	t.Parallel()
	stall := 10 * time.Minute
	e := newEnv(t, envOptions{noScheduler: true, noSender: true})
	w := e.drivenScheduler(SchedulerConfig{StallAfter: stall})
	clients := e.clients(12)
	m := e.manualMailing(clients)
	run := e.dispatchNow(m)
	testenv.Eventually(t, 30*time.Second, "the scheduler watches the run", func() bool { return e.watched(run) })
	e.loseCommands()
	e.startSender(e.ctx, SenderConfig{}, "sender-1")

	// Not stalled yet: the watchdog leaves the run alone.
	e.clock.Advance(stall - time.Second)
	if n, err := w.ResumeStalled(e.ctx); err != nil || n != 0 {
		t.Fatalf("resumed %d runs (%v) before the run stalled", n, err)
	}
	if n := e.sink.Count(); n != 0 {
		t.Fatalf("%d messages sent before the run stalled; its command was lost", n)
	}

	// Stalled: the scheduler's loop looks every StallCheck and hands the
	// run to the senders again.
	e.startScheduler(SchedulerConfig{StallAfter: stall, StallCheck: 20 * time.Millisecond})
	e.clock.Advance(time.Minute)
	f := e.waitFinished(run)
	if f.Sent != len(clients) || f.Failed != 0 {
		t.Fatalf("resumed run: %+v, want %d sent", f, len(clients))
	}
	if n := e.sink.Count(); n != len(clients) {
		t.Fatalf("sink got %d messages, want each of the %d clients once", n, len(clients))
	}
	testenv.Eventually(t, 30*time.Second, "the finished run is no longer watched", func() bool { return !e.watched(run) })
	if n := e.count(`SELECT count(*) FROM events WHERE stream_id = $1 AND type = 'run.started'`, run); n != 1 {
		t.Fatalf("%d run.started events, want the one run resumed", n)
	}
}

func TestWatchdogLeavesBusyAndFinishedRunsAlone(t *testing.T) {
	t.Parallel()
	stall := 10 * time.Minute
	// The env's scheduler keeps saga_runs; the one under test is driven by
	// hand (its loop never runs), so each ResumeStalled call is the only
	// look the watchdog takes.
	e := newEnv(t, envOptions{noSender: true})
	w := e.newScheduler(SchedulerConfig{StallAfter: stall})
	m := e.manualMailing(e.clients(3))
	run := e.dispatchNow(m)
	testenv.Eventually(e.t, 30*time.Second, "the scheduler watches the run", func() bool { return e.watched(run) })
	e.loseCommands()

	resume := func() int {
		t.Helper()
		n, err := w.ResumeStalled(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := resume(); n != 0 {
		t.Fatalf("resumed %d runs that moved a moment ago", n)
	}

	// A sender holds the run (an SMTP server slow to answer, say): stalled
	// by the clock, but not to be handed to anyone else.
	e.clock.Advance(stall + time.Minute)
	lock, err := pgx.Connect(e.ctx, e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(e.ctx)
	if _, err := lock.Exec(e.ctx, `SELECT pg_advisory_lock($1)`, eventstore.LockKey(runLockName(run))); err != nil {
		t.Fatal(err)
	}
	if n := resume(); n != 0 {
		t.Fatalf("resumed %d runs while a sender held the run", n)
	}
	if _, err := lock.Exec(e.ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		t.Fatal(err)
	}

	// Looked at a moment ago: the next look is one StallAfter later.
	if n := resume(); n != 0 {
		t.Fatalf("resumed %d runs looked at a moment ago", n)
	}
	e.clock.Advance(stall + time.Minute)
	if n := resume(); n != 1 {
		t.Fatalf("resumed %d runs, want the stalled one", n)
	}
	e.startSender(e.ctx, SenderConfig{}, "sender-1")
	e.waitFinished(run)

	// A run that finished is dropped from the watch, not resumed, even if
	// its sender died before it could say so.
	if _, err := e.pool.Exec(e.ctx, `INSERT INTO saga_runs (run_id, mailing_id, started_at, checked_at)
VALUES ($1, $2, now() - interval '1 day', now() - interval '1 day') ON CONFLICT (run_id) DO UPDATE SET checked_at = EXCLUDED.checked_at`, run, m); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(stall + time.Minute)
	if n := resume(); n != 0 {
		t.Fatalf("resumed %d finished runs", n)
	}
	if e.watched(run) {
		t.Fatal("a finished run is still watched")
	}
	if n := e.sink.Count(); n != 3 {
		t.Fatalf("sink got %d messages, want each of the 3 clients once", n)
	}
}
