package saga

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// Runs is what the scheduler asks of the write side (commands.Runs).
type Runs interface {
	Dispatch(ctx context.Context, cmd commands.DispatchMailing, meta domain.Metadata) (eventstore.Result, uuid.UUID, error)
	SkipRun(ctx context.Context, mailingID, runID uuid.UUID, due time.Time, reason string, meta domain.Metadata) (eventstore.Result, error)
	CompleteMailing(ctx context.Context, mailingID uuid.UUID, reason string, meta domain.Metadata) (eventstore.Result, error)
}

// SchedulerConfig tunes the scheduler.
type SchedulerConfig struct {
	// Grace is how late a run may fire (SCHEDULER_GRACE, default 1 h); a
	// run missed by more is recorded as skipped.
	Grace time.Duration
	// Poll is the longest the loop sleeps without looking at the table
	// (default 1 s). The loop wakes for the earliest due row and on every
	// change of the table (LISTEN/NOTIFY, also across processes); Poll is
	// the safety net for a lost notification.
	Poll time.Duration
	// Batch is how many due rows one claiming transaction takes (default 32).
	Batch int
	// RetryDelay is how long a row whose action failed (Redis down, say)
	// waits before it is tried again (default 5 s).
	RetryDelay time.Duration
	// StallAfter is how long a started run may show no progress (no event
	// on its stream, no sender holding it) before the watchdog hands it to
	// the senders again (SEND_STALL_AFTER, default 15 min): its
	// DispatchMailing command was lost.
	StallAfter time.Duration
	// StallCheck is how often the watchdog looks (default a minute, or
	// StallAfter/4 when that is shorter).
	StallCheck time.Duration
}

func (c SchedulerConfig) withDefaults() SchedulerConfig {
	if c.Grace <= 0 {
		c.Grace = time.Hour
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 5 * time.Second
	}
	if c.StallAfter <= 0 {
		c.StallAfter = 15 * time.Minute
	}
	if c.StallCheck <= 0 {
		c.StallCheck = min(time.Minute, c.StallAfter/4)
	}
	return c
}

// SchedulerName names the scheduler's consumer group and checkpoint.
const SchedulerName = "saga.scheduler"

// notifyChannel is the PostgreSQL channel the schedule table's writers
// notify on commit, so every scheduler re-reads the earliest due row.
const notifyChannel = "saga_schedule"

// Scheduler is the mailing process manager. As a projections.Projector it
// keeps saga_schedule from mailing events (run it in a projections.Runtime
// of its own: it is not a read model to rebuild); Run is its loop that
// claims and fires due rows.
type Scheduler struct {
	pool  *pgxpool.Pool
	runs  Runs
	clock Clock
	cfg   SchedulerConfig
	log   zerolog.Logger
	wake  chan struct{}

	// The claiming transaction holds its rows while the runs handler
	// appends through the pool; on a pooled connection, enough schedulers
	// waiting for a second connection would starve the pool. So each
	// scheduler claims on a connection of its own, one batch at a time.
	claimMu sync.Mutex
	conn    *pgx.Conn
}

// NewScheduler returns a scheduler.
func NewScheduler(pool *pgxpool.Pool, runs Runs, clock Clock, cfg SchedulerConfig, log zerolog.Logger) (*Scheduler, error) {
	if pool == nil || runs == nil || clock == nil {
		return nil, errors.New("saga: scheduler needs a pool, the runs handler and a clock")
	}
	return &Scheduler{pool: pool, runs: runs, clock: clock, cfg: cfg.withDefaults(),
		log: log.With().Str("component", "scheduler").Logger(), wake: make(chan struct{}, 1)}, nil
}

// Name is the projector name.
func (s *Scheduler) Name() string { return SchedulerName }

// EventTypes are the mailing events the schedule follows.
func (s *Scheduler) EventTypes() []string {
	return []string{"mailing.created", "mailing.updated", "mailing.deleted", "mailing.enabled", "mailing.disabled",
		"mailing.paused", "mailing.started", "mailing.completed"}
}

// Tables are the schedule and the unfinished runs.
func (s *Scheduler) Tables() []string { return []string{"saga_schedule", "saga_runs"} }

// row is one mailing's line in saga_schedule.
type row struct {
	mailingID, ownerID uuid.UUID
	version            int64
	startAt, endAt     time.Time
	periodicity        domain.Periodicity
	timezone           string
	active, started    bool
	state              string
	dueAt, runDue      *time.Time
	lastDue            *time.Time
	lastRunID          *uuid.UUID
	runsFired          int
	runsSkipped        int
}

const (
	stateScheduled  = "scheduled"
	stateCompleting = "completing"
	stateDone       = "done"
)

const rowColumns = `mailing_id, owner_id, version, start_at, end_at, periodicity, timezone, active, started, state,
due_at, run_due, last_due, last_run_id, runs_fired, runs_skipped`

func (r *row) scanFrom(sc interface{ Scan(...any) error }) error {
	var p string
	err := sc.Scan(&r.mailingID, &r.ownerID, &r.version, &r.startAt, &r.endAt, &p, &r.timezone, &r.active, &r.started,
		&r.state, &r.dueAt, &r.runDue, &r.lastDue, &r.lastRunID, &r.runsFired, &r.runsSkipped)
	r.periodicity = domain.Periodicity(p)
	return err
}

func (r *row) save(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
INSERT INTO saga_schedule (`+rowColumns+`, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now())
ON CONFLICT (mailing_id) DO UPDATE SET version = EXCLUDED.version, start_at = EXCLUDED.start_at,
  end_at = EXCLUDED.end_at, periodicity = EXCLUDED.periodicity, timezone = EXCLUDED.timezone,
  active = EXCLUDED.active, started = EXCLUDED.started, state = EXCLUDED.state, due_at = EXCLUDED.due_at,
  run_due = EXCLUDED.run_due, last_due = EXCLUDED.last_due, last_run_id = EXCLUDED.last_run_id,
  runs_fired = EXCLUDED.runs_fired, runs_skipped = EXCLUDED.runs_skipped, updated_at = now()`,
		r.mailingID, r.ownerID, r.version, r.startAt, r.endAt, string(r.periodicity), r.timezone, r.active, r.started,
		r.state, r.dueAt, r.runDue, r.lastDue, r.lastRunID, r.runsFired, r.runsSkipped)
	if err != nil {
		return fmt.Errorf("save schedule of %s: %w", r.mailingID, err)
	}
	return nil
}

func (r *row) schedule() domain.Schedule {
	loc, err := domain.LoadTimezone(r.timezone)
	if err != nil {
		loc = time.UTC
	}
	return domain.Schedule{Start: r.startAt, End: r.endAt, Periodicity: r.periodicity, Location: loc}
}

func ptr[T any](v T) *T { return &v }

// arm computes the next action after the mailing's setting or activity
// changed at at. A
// mailing that never ran and whose window is open runs at once; otherwise
// the next run on its schedule that is not before at and not one already
// fired; with none left, the mailing completes at its end.
func (r *row) arm(at time.Time) {
	if r.state == stateDone {
		return
	}
	if !r.started && !at.Before(r.startAt) && at.Before(r.endAt) {
		r.state, r.dueAt, r.runDue = stateScheduled, ptr(at), ptr(at)
		return
	}
	from := at
	if r.lastDue != nil && !from.After(*r.lastDue) {
		from = r.lastDue.Add(time.Nanosecond)
	}
	if _, next, ok := r.schedule().Next(from); ok {
		r.state, r.dueAt, r.runDue = stateScheduled, ptr(next), ptr(next)
		return
	}
	r.complete()
}

// advance moves past the run just fired or skipped (r.lastDue).
func (r *row) advance() {
	if _, next, ok := r.schedule().After(*r.lastDue); ok {
		r.state, r.dueAt, r.runDue = stateScheduled, ptr(next), ptr(next)
		return
	}
	r.complete()
}

// complete leaves only the completion, due at the end of the window (a once
// mailing's is brought forward when its run finishes, see RunFinished).
func (r *row) complete() {
	r.state, r.dueAt, r.runDue = stateCompleting, ptr(r.endAt), nil
}

// Apply keeps the mailing's row from its events. It reads and writes the
// row under a lock, ignores an event not newer than the row (redelivery),
// and notifies the schedulers on commit.
func (s *Scheduler) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	var r row
	err := r.scanFrom(tx.QueryRow(ctx, `SELECT `+rowColumns+` FROM saga_schedule WHERE mailing_id = $1 FOR UPDATE`, e.StreamID))
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("load schedule of %s: %w", e.StreamID, err)
	}
	// Arm from the moment the saga learns of the change (the clock, not the
	// event's time: the runtime applies each event once, and a mailing
	// enabled after a pause resumes from now, not from when it was asked).
	at := s.clock.Now()
	if e.RecordedAt.After(at) {
		at = e.RecordedAt
	}
	if st, ok := e.Event.(domain.MailingStarted); ok {
		// Every run, scheduled or not, is watched until it finishes.
		if _, err := tx.Exec(ctx, `INSERT INTO saga_runs (run_id, mailing_id, started_at, checked_at)
VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING`, st.RunID, e.StreamID, at); err != nil {
			return fmt.Errorf("watch run %s: %w", st.RunID, err)
		}
	}
	if c, ok := e.Event.(domain.MailingCreated); ok {
		if found {
			return nil
		}
		r = row{mailingID: e.StreamID, ownerID: c.OwnerID, version: e.Version, startAt: c.StartAt, endAt: c.EndAt,
			periodicity: c.Periodicity, timezone: c.Timezone, active: c.IsActive, state: stateScheduled}
		r.arm(at)
		return s.saveAndNotify(ctx, tx, &r)
	}
	if !found || e.Version <= r.version {
		return nil
	}
	r.version = e.Version
	switch ev := e.Event.(type) {
	case domain.MailingUpdated:
		r.startAt, r.endAt, r.periodicity, r.timezone = ev.StartAt, ev.EndAt, ev.Periodicity, ev.Timezone
		r.arm(at)
	case domain.MailingEnabled:
		r.active = true
		r.arm(at)
	case domain.MailingDisabled, domain.MailingPaused:
		r.active = false
	case domain.MailingStarted:
		r.started = true
	case domain.MailingDeleted, domain.MailingCompleted:
		r.state, r.dueAt, r.runDue = stateDone, nil, nil
	}
	return s.saveAndNotify(ctx, tx, &r)
}

func (s *Scheduler) saveAndNotify(ctx context.Context, tx pgx.Tx, r *row) error {
	if err := r.save(ctx, tx); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel)
	return err
}

// RunFinished stops watching a run that finished, and brings the completion
// of a once mailing forward to now: "once" is done then, not at the end of
// its window.
func RunFinished(ctx context.Context, pool *pgxpool.Pool, mailingID, runID uuid.UUID, now time.Time) error {
	if _, err := pool.Exec(ctx, `DELETE FROM saga_runs WHERE run_id = $1`, runID); err != nil {
		return fmt.Errorf("schedule: run %s finished: %w", runID, err)
	}
	tag, err := pool.Exec(ctx, `
UPDATE saga_schedule SET due_at = least(due_at, $3), updated_at = now()
WHERE mailing_id = $1 AND last_run_id = $2 AND state = 'completing' AND periodicity = 'once'`, mailingID, runID, now)
	if err != nil {
		return fmt.Errorf("schedule: run %s finished: %w", runID, err)
	}
	if tag.RowsAffected() > 0 {
		_, err = pool.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel)
	}
	return err
}

// Run claims and fires due rows until ctx ends. It sleeps until the
// earliest due row (by the Clock), a change notification, or Poll.
func (s *Scheduler) Run(ctx context.Context) error {
	// The first look waits for the first attempt to listen, so a change
	// notified after that look wakes the loop (one notified before it is
	// seen by the look itself).
	listening := make(chan struct{})
	go s.listen(ctx, listening)
	select {
	case <-listening:
	case <-ctx.Done():
		return nil
	}
	defer func() {
		s.claimMu.Lock()
		s.dropConn(ctx)
		s.claimMu.Unlock()
	}()
	s.log.Info().Dur("grace", s.cfg.Grace).Dur("stall_after", s.cfg.StallAfter).Msg("scheduler running")
	watchdog := time.NewTicker(s.cfg.StallCheck)
	defer watchdog.Stop()
	for ctx.Err() == nil {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("scheduler tick failed")
		}
		var timer <-chan time.Time
		if next, ok, err := s.nextDue(ctx); err == nil && ok {
			if d := next.Sub(s.clock.Now()); d > 0 {
				timer = s.clock.After(d)
			} else {
				// Due but held by another scheduler (or just retried):
				// look again shortly rather than spin.
				timer = time.After(20 * time.Millisecond)
			}
		}
		poll := time.NewTimer(s.cfg.Poll)
		select {
		case <-ctx.Done():
		case <-timer:
		case <-s.wake:
		case <-poll.C:
		case <-watchdog.C:
			if _, err := s.ResumeStalled(ctx); err != nil && ctx.Err() == nil {
				s.log.Error().Err(err).Msg("stalled-run watchdog failed")
			}
		}
		poll.Stop()
	}
	return nil
}

// ResumeStalled hands to the senders again every started run that has
// shown no progress for StallAfter, and reports how many it handed. A run
// makes progress by the events its sender appends (deliveries in batches,
// then its end); a run whose sender holds its lock (a slow SMTP server) is
// left alone, and a run that finished stops being watched. Each run is
// looked at once per StallAfter, by one scheduler (rows claimed with SKIP
// LOCKED). The senders take a repeated command as a resume: nobody is
// mailed twice, and a finished run is not sent again.
func (s *Scheduler) ResumeStalled(ctx context.Context) (int, error) {
	now := s.clock.Now()
	quiet := now.Add(-s.cfg.StallAfter)
	due, err := s.claimRuns(ctx, `
UPDATE saga_runs SET checked_at = $1
WHERE run_id IN (SELECT run_id FROM saga_runs WHERE checked_at < $2 ORDER BY checked_at LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING run_id, mailing_id`, now, quiet)
	if err != nil {
		return 0, fmt.Errorf("watchdog: %w", err)
	}
	resumed := 0
	var errs []error
	for _, w := range due {
		ok, err := s.resumeIfStalled(ctx, w.run, w.mailing, quiet)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			resumed++
		}
	}
	return resumed, errors.Join(errs...)
}

// watchedRun is a row of saga_runs: a started run and its mailing.
type watchedRun struct{ run, mailing uuid.UUID }

// claimRuns runs query, an UPDATE of saga_runs returning run_id and
// mailing_id, and returns the runs it took.
func (s *Scheduler) claimRuns(ctx context.Context, query string, args ...any) ([]watchedRun, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (watchedRun, error) {
		var w watchedRun
		return w, r.Scan(&w.run, &w.mailing)
	})
}

func (s *Scheduler) resumeIfStalled(ctx context.Context, runID, mailingID uuid.UUID, quiet time.Time) (bool, error) {
	// The run stream's last event says whether it finished and when it
	// last moved; the sender's advisory lock whether someone works on it
	// (taken for this statement's transaction only, if nobody holds it).
	var last string
	var at time.Time
	var held bool
	err := s.pool.QueryRow(ctx, `
SELECT type, recorded_at, NOT pg_try_advisory_xact_lock($2)
FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1`,
		runID, eventstore.LockKey(runLockName(runID))).Scan(&last, &at, &held)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil // not visible yet; looked at again later
	case err != nil:
		return false, fmt.Errorf("watchdog: run %s: %w", runID, err)
	case last == "run.finished":
		_, err := s.pool.Exec(ctx, `DELETE FROM saga_runs WHERE run_id = $1`, runID)
		return false, err
	case held || at.After(quiet):
		return false, nil
	}
	log := s.log.With().Str("run_id", runID.String()).Str("mailing_id", mailingID.String()).Logger()
	if err := s.redispatch(ctx, runID, mailingID); err != nil {
		schedulerActions.WithLabelValues("failed").Inc()
		return false, fmt.Errorf("watchdog: resume run %s: %w", runID, err)
	}
	schedulerActions.WithLabelValues("resumed").Inc()
	log.Warn().Time("last_progress", at).Msg("run stalled; handed to the senders again")
	return true, nil
}

// redispatch hands a started run to the senders again, on the run's trail
// (its start is stored already: the dispatch writes nothing new).
func (s *Scheduler) redispatch(ctx context.Context, runID, mailingID uuid.UUID) error {
	corr, _, err := runTrail(ctx, s.pool, runID)
	if err != nil {
		return err
	}
	_, _, err = s.runs.Dispatch(ctx, commands.DispatchMailing{MailingID: mailingID, RunID: runID, Trigger: domain.TriggerSchedule},
		domain.Metadata{CorrelationID: corr})
	return err
}

// listen turns notifications on the schedule channel into wake-ups. It
// closes tried once its first attempt to listen succeeded or failed.
func (s *Scheduler) listen(ctx context.Context, tried chan<- struct{}) {
	var once sync.Once
	defer once.Do(func() { close(tried) })
	for ctx.Err() == nil {
		err := func() error {
			conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
			if err != nil {
				once.Do(func() { close(tried) })
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			_, err = conn.Exec(ctx, `LISTEN `+notifyChannel)
			once.Do(func() { close(tried) })
			if err != nil {
				return err
			}
			for {
				if _, err := conn.WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn().Err(err).Msg("schedule notifications lost; reconnecting")
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Scheduler) nextDue(ctx context.Context) (time.Time, bool, error) {
	var next *time.Time
	err := s.pool.QueryRow(ctx, `
SELECT least((SELECT min(due_at) FROM saga_schedule
              WHERE due_at IS NOT NULL AND (state = 'completing' OR (state = 'scheduled' AND active))),
             (SELECT min(retry_at) FROM saga_runs WHERE retry_at IS NOT NULL))`).Scan(&next)
	if err != nil || next == nil {
		return time.Time{}, false, err
	}
	return *next, true, nil
}

// Tick fires every row due by the clock's now and reports how many it
// handled. Rows another scheduler holds are skipped (SKIP LOCKED), never
// waited for.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	// A run that could not be handed back (Redis down, say) is retried on
	// its own; the schedule's rows are claimed all the same.
	total, retryErr := s.RetryDeferred(ctx)
	for {
		n, err := s.claimBatch(ctx)
		total += n
		if err != nil || n < s.cfg.Batch {
			return total, errors.Join(retryErr, err)
		}
	}
}

// RetryDeferred hands to the senders every run parked with deferred
// deliveries whose earliest retry is due by the clock (saga_runs.retry_at,
// written by the sender), and reports how many it handed. Each row is
// claimed by one scheduler (SKIP LOCKED); a dispatch that fails is tried
// again after RetryDelay. The watchdog looks at a handed run again only
// after StallAfter, and the senders take the command as a resume.
func (s *Scheduler) RetryDeferred(ctx context.Context) (int, error) {
	now := s.clock.Now()
	due, err := s.claimRuns(ctx, `
UPDATE saga_runs SET retry_at = NULL, checked_at = $1
WHERE run_id IN (SELECT run_id FROM saga_runs WHERE retry_at <= $1 ORDER BY retry_at LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING run_id, mailing_id`, now)
	if err != nil {
		return 0, fmt.Errorf("deferred runs: %w", err)
	}
	handed := 0
	var errs []error
	for _, p := range due {
		if err := s.redispatch(ctx, p.run, p.mailing); err != nil {
			schedulerActions.WithLabelValues("failed").Inc()
			errs = append(errs, fmt.Errorf("retry deferred deliveries of run %s: %w", p.run, err))
			if _, err := s.pool.Exec(ctx, `UPDATE saga_runs SET retry_at = $2 WHERE run_id = $1 AND retry_at IS NULL`,
				p.run, now.Add(s.cfg.RetryDelay)); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		handed++
		schedulerActions.WithLabelValues("retried").Inc()
		s.log.Info().Str("run_id", p.run.String()).Str("mailing_id", p.mailing.String()).Msg("deferred deliveries due; run handed to the senders")
	}
	return handed, errors.Join(errs...)
}

// claimConn is the scheduler's own connection, opened on first use and
// again after a failure.
func (s *Scheduler) claimConn(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("scheduler connection: %w", err)
	}
	s.conn = conn
	return conn, nil
}

func (s *Scheduler) dropConn(ctx context.Context) {
	if s.conn != nil {
		_ = s.conn.Close(context.WithoutCancel(ctx))
		s.conn = nil
	}
}

func (s *Scheduler) claimBatch(ctx context.Context) (n int, err error) {
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	defer func() {
		if err != nil {
			s.dropConn(ctx) // a connection in an unknown state is not reused
		}
	}()
	conn, err := s.claimConn(ctx)
	if err != nil {
		return 0, err
	}
	now := s.clock.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, `SELECT `+rowColumns+` FROM saga_schedule
WHERE due_at <= $1 AND (state = 'completing' OR (state = 'scheduled' AND active))
ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, s.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("claim due rows: %w", err)
	}
	var due []row
	for rows.Next() {
		var r row
		if err := r.scanFrom(rows); err != nil {
			rows.Close()
			return 0, err
		}
		due = append(due, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for i := range due {
		s.act(ctx, &due[i], now)
		if err := due[i].save(ctx, tx); err != nil {
			return 0, err
		}
	}
	if len(due) == 0 {
		return 0, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit claimed rows: %w", err)
	}
	return len(due), nil
}

// afterRun is the metadata of a command that follows from the end of run
// runID: the run's correlation, and its run.finished as the cause; meta
// when there is no run or it has not finished.
func (s *Scheduler) afterRun(ctx context.Context, runID *uuid.UUID, meta domain.Metadata) (domain.Metadata, error) {
	if runID == nil {
		return meta, nil
	}
	corr, finished, err := runTrail(ctx, s.pool, *runID)
	if err != nil || !finished {
		return meta, err
	}
	return domain.Metadata{CorrelationID: corr, CausationID: FinishedEventID(*runID)}, nil
}

// delivering reports whether a run of the mailing has started and not
// finished. saga_runs alone does not say: the watch of a quick run may be
// written after its end (the scheduler's projection lags the sender), so
// the runs' ends are looked up.
func (s *Scheduler) delivering(ctx context.Context, mailingID uuid.UUID) (bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT run_id FROM saga_runs WHERE mailing_id = $1`, mailingID)
	if err != nil {
		return false, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(ids) == 0 {
		return false, err
	}
	ends := make([]uuid.UUID, len(ids))
	for i, id := range ids {
		ends[i] = FinishedEventID(id)
	}
	var finished int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_id = ANY($1)`, uuidArray(ends)).Scan(&finished); err != nil {
		return false, err
	}
	return finished < len(ids), nil
}

// act does what a due row asks: fire its run, skip it, or complete the
// mailing. A failure leaves the row as it was, due again after RetryDelay.
// The schedule's commands have no actor. A run's correlation is its own id,
// so whichever scheduler fires or skips it, and every later event of the
// run, share one; the commands handler names the schedule as their cause.
func (s *Scheduler) act(ctx context.Context, r *row, now time.Time) {
	log := s.log.With().Str("mailing_id", r.mailingID.String()).Logger()
	retryLater := func(err error) {
		log.Error().Err(err).Str("state", r.state).Msg("scheduled action failed; retrying later")
		schedulerActions.WithLabelValues("failed").Inc()
		r.dueAt = ptr(now.Add(s.cfg.RetryDelay))
	}
	if r.state == stateCompleting {
		// A run still delivering (deferred deliveries wait for their
		// retries) sends again: the mailing completes after it.
		busy, err := s.delivering(ctx, r.mailingID)
		if err != nil {
			retryLater(err)
			return
		}
		if busy {
			r.dueAt = ptr(now.Add(s.cfg.StallCheck))
			return
		}
		reason := "the end of its window passed"
		meta := domain.Metadata{CorrelationID: uuid.Must(uuid.NewV7())}
		if r.periodicity == domain.Once && r.runsFired > 0 {
			reason = "its run is done"
			if meta, err = s.afterRun(ctx, r.lastRunID, meta); err != nil {
				retryLater(err)
				return
			}
		}
		if _, err := s.runs.CompleteMailing(ctx, r.mailingID, reason, meta); err != nil && !errors.Is(err, domain.ErrNotFound) {
			retryLater(err)
			return
		}
		log.Info().Str("reason", reason).Msg("mailing completed")
		schedulerActions.WithLabelValues("completed").Inc()
		r.state, r.dueAt = stateDone, nil
		return
	}
	due := *r.runDue
	runID := domain.ScheduledRunID(r.mailingID, due)
	meta := domain.Metadata{CorrelationID: runID}
	log = log.With().Str("run_id", runID.String()).Time("due_at", due).Logger()
	// skip records the run as not made, and moves to the next one.
	skip := func(reason string) {
		if _, err := s.runs.SkipRun(ctx, r.mailingID, runID, due, reason, meta); err != nil && !errors.Is(err, domain.ErrNotFound) {
			retryLater(err)
			return
		}
		log.Warn().Str("reason", reason).Msg("run skipped")
		schedulerActions.WithLabelValues("skipped").Inc()
		r.runsSkipped++
		r.lastDue = ptr(due)
		r.advance()
	}
	if late := now.Sub(due); late > s.cfg.Grace {
		skip(fmt.Sprintf("missed by %s, more than the grace period of %s", late.Round(time.Second), s.cfg.Grace))
		return
	}
	_, _, err := s.runs.Dispatch(ctx, commands.DispatchMailing{
		MailingID: r.mailingID, RunID: runID, Trigger: domain.TriggerSchedule, DueAt: due}, meta)
	switch {
	case errors.Is(err, domain.ErrOwnerBlocked):
		// Not postponed: the schedule goes on, and the first run due
		// after the owner is activated fires.
		skip(domain.OwnerBlockedReason)
	case err == nil:
		log.Info().Msg("run dispatched")
		schedulerActions.WithLabelValues("dispatched").Inc()
		r.started, r.runsFired, r.lastDue, r.lastRunID = true, r.runsFired+1, ptr(due), ptr(runID)
		r.advance()
	case errors.Is(err, domain.ErrMailingInactive):
		// Disabled since the row was written: enabling it re-arms the row.
		r.active = false
	case errors.Is(err, domain.ErrMailingCompleted), errors.Is(err, domain.ErrNotFound):
		r.state, r.dueAt, r.runDue = stateDone, nil, nil
	default:
		retryLater(err)
	}
}
