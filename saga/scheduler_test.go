package saga

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
)

// noRunWithin checks that nothing starts for the mailing while the
// scheduler has several chances to (it polls every 50 ms in tests).
func (e *env) noRunWithin(mailingID uuid.UUID, want int) {
	e.t.Helper()
	time.Sleep(400 * time.Millisecond)
	if got := e.runsStarted(mailingID); got != want {
		e.t.Fatalf("%d runs started, want %d", got, want)
	}
}

func (e *env) waitRuns(mailingID uuid.UUID, n int) {
	e.t.Helper()
	e.eventually("runs started", 10*time.Second, func() bool { return e.runsStarted(mailingID) >= n })
	if got := e.runsStarted(mailingID); got != n {
		e.t.Fatalf("%d runs started, want %d", got, n)
	}
}

func (e *env) waitStatus(mailingID uuid.UUID, want domain.MailingStatus) {
	e.t.Helper()
	e.eventually("mailing "+string(want), 10*time.Second, func() bool { return e.loadMailing(mailingID).Status() == want })
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
	e.eventually("run finished", 10*time.Second, func() bool { return e.runsFinished(m) == 1 })
	// A once mailing completes when its run is done, not at end_at.
	e.waitStatus(m, domain.StatusCompleted)
	if e.sink.Count() != 3 {
		t.Fatalf("sink holds %d messages, want 3", e.sink.Count())
	}
}

func TestFutureStartFiresWhenDueNotBefore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	start := e.clock.Now().Add(2 * time.Hour)
	m := e.mailing(e.clients(2), start, start.Add(time.Hour), domain.Once, "Europe/Paris")
	e.waitDue(m, start)

	e.clock.Set(start.Add(-time.Second))
	e.noRunWithin(m, 0)
	if st := e.loadMailing(m).Status(); st != domain.StatusCreated {
		t.Fatalf("status %s before the start", st)
	}

	fired := time.Now()
	e.clock.Set(start)
	e.waitRuns(m, 1)
	if d := time.Since(fired); d > time.Second {
		t.Fatalf("run started %s after its due time, want within 1 s", d)
	}
	var due time.Time
	if err := e.pool.QueryRow(e.ctx, `SELECT (data->>'due_at')::timestamptz FROM events WHERE type = 'run.started' AND data->>'mailing_id' = $1`, m.String()).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if !due.Equal(start) {
		t.Fatalf("run due at %s, want %s", due, start)
	}
	e.waitStatus(m, domain.StatusCompleted)
	if n := e.sink.Count(); n != 2 {
		t.Fatalf("sink holds %d messages, want 2", n)
	}
}

func TestDailyRunsOnConsecutiveDaysThenCompletesAtEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	loc, _ := time.LoadLocation("America/New_York")
	// 09:00 New York time, starting the day after tomorrow, for three runs.
	d := e.clock.Now().In(loc).AddDate(0, 0, 2)
	start := time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, loc)
	end := start.AddDate(0, 0, 2).Add(3 * time.Hour)
	m := e.mailing(e.clients(2), start, end, domain.Daily, "America/New_York")

	for day := range 3 {
		due := start.AddDate(0, 0, day)
		e.waitDue(m, due)
		e.clock.Set(due.Add(-time.Minute))
		e.noRunWithin(m, day)
		e.clock.Set(due)
		e.waitRuns(m, day+1)
		e.eventually("run finished", 10*time.Second, func() bool { return e.runsFinished(m) == day+1 })
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
	time.Sleep(300 * time.Millisecond)
	if st := e.loadMailing(m).Status(); st != domain.StatusStarted {
		t.Fatalf("status %s before end_at", st)
	}
	e.clock.Set(end)
	e.waitStatus(m, domain.StatusCompleted)
	if n := e.runsStarted(m); n != 3 {
		t.Fatalf("%d runs, want 3", n)
	}
	if n := e.sink.Count(); n != 6 {
		t.Fatalf("sink holds %d messages, want 6", n)
	}
}

func TestDisabledMailingFiresNothingAndResumesWhenEnabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	start := e.clock.Now().Add(time.Hour)
	m := e.mailing(e.clients(1), start, start.Add(72*time.Hour), domain.Daily, "UTC")
	e.waitDue(m, start)
	e.clock.Set(start)
	e.waitRuns(m, 1)

	e.change(m, (*domain.Mailing).Disable)
	e.eventually("row inactive", 10*time.Second, func() bool {
		var active bool
		_ = e.pool.QueryRow(e.ctx, `SELECT active FROM saga_schedule WHERE mailing_id = $1`, m).Scan(&active)
		return !active
	})
	day := 24 * time.Hour
	e.clock.Set(start.Add(day + 10*time.Minute))
	e.noRunWithin(m, 1)

	// Enabled after the second run's time: the schedule resumes with the
	// third, the one due while disabled is not made up.
	e.change(m, (*domain.Mailing).Enable)
	e.waitDue(m, start.Add(2*day))
	e.noRunWithin(m, 1)
	e.clock.Set(start.Add(2 * day))
	e.waitRuns(m, 2)
}

// DESIGN: on created/updated/enabled, a mailing that never sent and whose
// window is open is due at once.
func TestEnablingANeverSentMailingInsideItsWindowSendsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	start := e.clock.Now().Add(time.Hour)
	m := e.mailing(e.clients(1), start, start.Add(72*time.Hour), domain.Daily, "UTC")
	e.waitDue(m, start)
	e.change(m, (*domain.Mailing).Disable)
	e.eventually("row inactive", 10*time.Second, func() bool {
		var active bool
		_ = e.pool.QueryRow(e.ctx, `SELECT active FROM saga_schedule WHERE mailing_id = $1`, m).Scan(&active)
		return !active
	})
	e.clock.Set(start.Add(3 * time.Hour))
	e.noRunWithin(m, 0)
	e.change(m, (*domain.Mailing).Enable)
	e.waitRuns(m, 1)
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
	e.noRunWithin(m, 0)
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
	e.eventually("skips recorded", 10*time.Second, func() bool { return e.runsSkipped(m) == 3 })
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
	s, err := NewScheduler(e.pool, e.runs, e.clock, SchedulerConfig{Batch: 3}, e.log)
	if err != nil {
		t.Fatal(err)
	}
	for day := range 2 {
		e.clock.Set(start.Add(time.Duration(day) * 24 * time.Hour))
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { _, _ = s.Tick(e.ctx) })
		}
		wg.Wait()
		e.eventually("all runs started", 20*time.Second, func() bool {
			return e.count(`SELECT count(*) FROM events WHERE type = 'run.started'`) >= n*(day+1)
		})
	}
	time.Sleep(300 * time.Millisecond)
	if got := e.count(`SELECT count(*) FROM events WHERE type = 'run.started'`); got != 2*n {
		t.Fatalf("%d runs started, want %d", got, 2*n)
	}
	if got := e.count(`SELECT count(*) FROM events WHERE type = 'mailing.started'`); got != 2*n {
		t.Fatalf("%d mailing.started, want %d", got, 2*n)
	}
	e.eventually("all delivered", 20*time.Second, func() bool { return e.sink.Count() >= 2*n*2 })
	time.Sleep(200 * time.Millisecond)
	if got := e.sink.Count(); got != 2*n*2 {
		t.Fatalf("sink holds %d messages, want %d", got, 2*n*2)
	}
}
