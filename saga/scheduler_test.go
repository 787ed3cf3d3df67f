package saga

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/testenv"
)

// wantRuns fails unless n runs of the mailing have started.
func (e *env) wantRuns(mailingID uuid.UUID, n int) {
	e.t.Helper()
	if got := e.runsStarted(mailingID); got != n {
		e.t.Fatalf("%d runs started at %s, want %d", got, e.clock.Now().Format(time.RFC3339), n)
	}
}

func (e *env) waitRuns(mailingID uuid.UUID, n int) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, "runs started", func() bool { return e.runsStarted(mailingID) >= n })
	e.wantRuns(mailingID, n)
}

func (e *env) waitStatus(mailingID uuid.UUID, want domain.MailingStatus) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, "mailing "+string(want), func() bool { return e.loadMailing(mailingID).Status() == want })
}

func TestWindowOpenSendsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	now := e.clock.Now()
	clients := e.clients(3)
	m := e.mailing(clients, now.Add(-time.Hour), now.Add(24*time.Hour), domain.Once, "UTC")

	// No clock movement: the run is due the moment the saga hears of it.
	e.waitRuns(m, 1)
	if _, err := e.sink.WaitFor(e.ctx, 3); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(e.t, 30*time.Second, "run finished", func() bool { return e.runsFinished(m) == 1 })
	// A once mailing completes when its run is done, not at end_at.
	e.waitStatus(m, domain.StatusCompleted)
	if e.sink.Count() != 3 {
		t.Fatalf("sink holds %d messages, want 3", e.sink.Count())
	}
}

func TestFutureStartFiresWhenDueNotBefore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true})
	s := e.drivenScheduler(SchedulerConfig{})
	start := e.clock.Now().Add(2 * time.Hour)
	m := e.mailing(e.clients(2), start, start.Add(time.Hour), domain.Once, "Europe/Paris")
	e.waitDue(m, start)

	e.clock.Set(start.Add(-time.Second))
	e.tick(s, 0)
	e.wantRuns(m, 0)
	if st := e.loadMailing(m).Status(); st != domain.StatusCreated {
		t.Fatalf("status %s before the start", st)
	}

	e.clock.Set(start)
	e.tick(s, 1)
	e.wantRuns(m, 1)
	var due time.Time
	if err := e.pool.QueryRow(e.ctx, `SELECT (data->>'due_at')::timestamptz FROM events WHERE type = 'run.started' AND data->>'mailing_id' = $1`, m.String()).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if !due.Equal(start) {
		t.Fatalf("run due at %s, want %s", due, start)
	}
	// The run's end brings the once mailing's completion forward to now.
	e.tickUntil(s, "mailing completed", func() bool { return e.loadMailing(m).Status() == domain.StatusCompleted })
	if n := e.sink.Count(); n != 2 {
		t.Fatalf("sink holds %d messages, want 2", n)
	}
}

// The loop sleeps until the earliest due row by the clock: with its safety
// poll an hour away, only the clock's timer can wake it for the run.
func TestSchedulerLoopWakesAtTheDueTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true})
	s := e.drivenScheduler(SchedulerConfig{Poll: time.Hour})
	start := e.clock.Now().Add(2 * time.Hour)
	m := e.mailing(e.clients(1), start, start.Add(time.Hour), domain.Once, "UTC")
	// The row is there before the loop starts, so its first look finds it
	// (a notification sent before the loop listens would be lost).
	e.waitDue(m, start)
	e.goRun(s.Run)
	testenv.Eventually(t, 30*time.Second, "the loop's timer set for "+start.String(), func() bool {
		return slices.ContainsFunc(e.clock.Timers(), start.Equal)
	})
	e.wantRuns(m, 0)
	e.clock.Set(start)
	e.waitRuns(m, 1)
	e.waitStatus(m, domain.StatusCompleted)
}

func TestDailyRunsOnConsecutiveDaysThenCompletesAtEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true})
	s := e.drivenScheduler(SchedulerConfig{})
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 09:00 New York time, starting the day after tomorrow, for three runs.
	d := e.clock.Now().In(loc).AddDate(0, 0, 2)
	start := time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, loc)
	end := start.AddDate(0, 0, 2).Add(3 * time.Hour)
	m := e.mailing(e.clients(2), start, end, domain.Daily, "America/New_York")

	for day := range 3 {
		due := start.AddDate(0, 0, day)
		e.waitDue(m, due)
		e.clock.Set(due.Add(-time.Minute))
		e.tick(s, 0)
		e.clock.Set(due)
		e.tick(s, 1)
		e.wantRuns(m, day+1)
		testenv.Eventually(t, 30*time.Second, "run finished", func() bool { return e.runsFinished(m) == day+1 })
		if l := due.In(loc); l.Hour() != 9 {
			t.Fatalf("run %d due at %s local", day, l)
		}
		if day == 0 {
			e.waitStatus(m, domain.StatusStarted)
		}
	}
	// The last run is done, the mailing completes at end_at, not before.
	e.waitDue(m, end)
	e.clock.Set(end.Add(-time.Minute))
	e.tick(s, 0)
	if st := e.loadMailing(m).Status(); st != domain.StatusStarted {
		t.Fatalf("status %s before end_at", st)
	}
	e.clock.Set(end)
	e.tick(s, 1)
	if st := e.loadMailing(m).Status(); st != domain.StatusCompleted {
		t.Fatalf("status %s at end_at", st)
	}
	e.wantRuns(m, 3)
	if n := e.sink.Count(); n != 6 {
		t.Fatalf("sink holds %d messages, want 6", n)
	}
}

func (e *env) waitInactive(mailingID uuid.UUID) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, "schedule row inactive", func() bool {
		var active bool
		if err := e.pool.QueryRow(e.ctx, `SELECT active FROM saga_schedule WHERE mailing_id = $1`, mailingID).Scan(&active); err != nil {
			e.t.Fatal(err)
		}
		return !active
	})
}

func TestDisabledMailingFiresNothingAndResumesWhenEnabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true})
	s := e.drivenScheduler(SchedulerConfig{})
	start := e.clock.Now().Add(time.Hour)
	m := e.mailing(e.clients(1), start, start.Add(72*time.Hour), domain.Daily, "UTC")
	e.waitDue(m, start)
	e.clock.Set(start)
	e.tick(s, 1)

	e.change(m, (*domain.Mailing).Disable)
	e.waitInactive(m)
	day := 24 * time.Hour
	e.clock.Set(start.Add(day + 10*time.Minute))
	e.tick(s, 0)

	// Enabled after the second run's time: the schedule resumes with the
	// third, the one due while disabled is not made up.
	e.change(m, (*domain.Mailing).Enable)
	e.waitDue(m, start.Add(2*day))
	e.tick(s, 0)
	e.wantRuns(m, 1)
	e.clock.Set(start.Add(2 * day))
	e.tick(s, 1)
	e.wantRuns(m, 2)
}

// DESIGN: on created/updated/enabled, a mailing that never sent and whose
// window is open is due at once.
func TestEnablingANeverSentMailingInsideItsWindowSendsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true})
	s := e.drivenScheduler(SchedulerConfig{})
	start := e.clock.Now().Add(time.Hour)
	m := e.mailing(e.clients(1), start, start.Add(72*time.Hour), domain.Daily, "UTC")
	e.waitDue(m, start)
	e.change(m, (*domain.Mailing).Disable)
	e.waitInactive(m)
	enabled := start.Add(3 * time.Hour)
	e.clock.Set(enabled)
	e.tick(s, 0)
	e.change(m, (*domain.Mailing).Enable)
	e.waitDue(m, enabled)
	e.tick(s, 1)
	e.wantRuns(m, 1)
	e.waitDue(m, start.Add(24*time.Hour))
}

func TestRestartBetweenScheduleAndDueStillFires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true})
	stop := e.startScheduler(SchedulerConfig{})
	start := e.clock.Now().Add(30 * time.Minute)
	m := e.mailing(e.clients(2), start, start.Add(time.Hour), domain.Once, "UTC")
	e.waitDue(m, start)
	stop()

	// Down across the due time (within the grace period), then back.
	e.clock.Set(start.Add(5 * time.Minute))
	e.wantRuns(m, 0)
	e.startScheduler(SchedulerConfig{})
	e.waitRuns(m, 1)
	e.waitStatus(m, domain.StatusCompleted)
}

func TestRunsMissedBeyondGraceAreSkippedNotBurst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true})
	stop := e.startScheduler(SchedulerConfig{Grace: time.Hour})
	start := e.clock.Now().Add(time.Hour)
	m := e.mailing(e.clients(1), start, start.Add(10*24*time.Hour), domain.Daily, "UTC")
	e.waitDue(m, start)
	stop()

	// Down for three days: runs 0, 1 and 2 are missed by more than an hour,
	// run 3 is 30 minutes late and still fires.
	e.clock.Set(start.Add(3*24*time.Hour + 30*time.Minute))
	e.startScheduler(SchedulerConfig{Grace: time.Hour})
	e.waitRuns(m, 1)
	testenv.Eventually(e.t, 30*time.Second, "skips recorded", func() bool { return e.runsSkipped(m) == 3 })
	var due time.Time
	if err := e.pool.QueryRow(e.ctx, `SELECT (data->>'due_at')::timestamptz FROM events WHERE type = 'run.started' AND data->>'mailing_id' = $1`, m.String()).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if want := start.Add(3 * 24 * time.Hour); !due.Equal(want) {
		t.Fatalf("fired the run due %s, want %s", due, want)
	}
	e.waitDue(m, start.Add(4*24*time.Hour))
}

func TestSchedulersNeverFireOneRunTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.startScheduler(SchedulerConfig{})
	e.startScheduler(SchedulerConfig{})
	start := e.clock.Now().Add(time.Hour)
	clients := e.clients(2)
	const n = 30
	ms := make([]uuid.UUID, n)
	for i := range ms {
		ms[i] = e.mailing(clients, start, start.Add(49*time.Hour), domain.Daily, "UTC")
	}
	for _, m := range ms {
		e.waitDue(m, start)
	}
	// Besides the three looping schedulers, hammer the table with direct
	// ticks from more goroutines at the moment the runs fall due.
	s := e.newScheduler(SchedulerConfig{Batch: 3})
	started := func() int { return e.count(`SELECT count(*) FROM events WHERE type = 'run.started'`) }
	for day := range 2 {
		now := start.Add(time.Duration(day) * 24 * time.Hour)
		e.clock.Set(now)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := s.Tick(e.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// A row is moved past its run in the transaction that claimed it,
		// after the run's dispatch: once no row is due, every dispatch of
		// the day is stored and no scheduler has one left to make.
		testenv.Eventually(t, 30*time.Second, "no schedule row due", func() bool {
			return e.count(`SELECT count(*) FROM saga_schedule WHERE due_at <= $1 AND state = 'scheduled' AND active`, now) == 0
		})
		if got := started(); got != n*(day+1) {
			t.Fatalf("%d runs started by day %d, want %d", got, day, n*(day+1))
		}
	}
	if got := e.count(`SELECT count(*) FROM events WHERE type = 'mailing.started'`); got != 2*n {
		t.Fatalf("%d mailing.started, want %d", got, 2*n)
	}
	// A run records its end after every delivery of it.
	testenv.Eventually(t, 30*time.Second, "all runs finished", func() bool {
		return e.count(`SELECT count(*) FROM events WHERE type = 'run.finished'`) == 2*n
	})
	if got := e.sink.Count(); got != 2*n*2 {
		t.Fatalf("sink holds %d messages, want %d", got, 2*n*2)
	}
}
