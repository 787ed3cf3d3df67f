package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/compose"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/mail"
)

// Mailer sends one message and classifies the server's answer (mail.Client).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) mail.Result
}

// EventStore is what the sender reads of the store.
type EventStore interface {
	Load(ctx context.Context, streamID uuid.UUID) ([]domain.RecordedEvent, error)
}

// RunRecorder is how the sender writes (commands.Runs, decorated): a run's
// attempts and end, and the pause of a mailing whose run fails too often.
type RunRecorder interface {
	RecordAttempts(ctx context.Context, runID uuid.UUID, batch commands.AttemptBatch, meta domain.Metadata) (eventstore.Result, error)
	FinishRun(ctx context.Context, cmd commands.FinishRun, meta domain.Metadata) (eventstore.Result, error)
	PauseMailing(ctx context.Context, mailingID uuid.UUID, reason string, meta domain.Metadata) (eventstore.Result, error)
}

// SenderConfig tunes the sender.
type SenderConfig struct {
	// Concurrency is how many deliveries are in flight (SEND_CONCURRENCY;
	// the Mailer holds as many connections). Default 8.
	Concurrency int
	// RetrySchedule is SEND_RETRY_SCHEDULE: when a delivery that failed
	// temporarily (a 4xx reply, no answer) is tried again, as delays after
	// its first attempt, strictly increasing; a temporary failure after the
	// last is final. Default domain.DefaultRetrySchedule().
	RetrySchedule []time.Duration
	// InFlight bounds the deliveries in flight: a delivery is in flight
	// from the start of its SMTP transaction until the append recording its
	// attempt has committed, and a worker waits for a slot before it starts
	// one. A sender killed at any moment therefore leaves at most InFlight
	// deliveries the server may have taken that the store does not know of,
	// the only ones a resumed run can send twice. Default 8 × Concurrency:
	// enough to keep the connections busy while appends commit.
	InFlight int
	// BatchSize is the most attempts one append records; an append takes
	// whatever has arrived since the last one committed. Default 100.
	BatchSize int
	// Gather is how long an append waits, from the first attempt of its
	// batch, for more to join it while the batch holds fewer than half of
	// InFlight: one event of many attempts costs the store, the relay, the
	// bus and every projector about what one of a few does. Default 10 ms;
	// negative appends at once.
	Gather time.Duration
	// PauseRatio is SEND_FAILURE_PAUSE_RATIO: a run whose final failures
	// exceed this share of its finished deliveries stops and pauses the
	// mailing. Default 0.5; 1 or more never pauses.
	PauseRatio float64
	// PauseMinSample is how many deliveries must have finished before the
	// ratio may stop a run midway (a run's end always checks). Default 20.
	PauseMinSample int
	// LookupBatch is how many clients are looked up per query. Default 500.
	LookupBatch int
	// RosterPage is how many of an all-clients run's recipients are read
	// from the store at a time. Default 10,000 (160 KB of ids).
	RosterPage int
	// OwnerCheck is how old, by the sender's clock, a run's last look at
	// whether its owner is blocked may be before a delivery looks again: a
	// block stops a run in progress within about this long, at the cost of
	// one index lookup per OwnerCheck per run. Default a second.
	OwnerCheck time.Duration
	// Unsubscribe builds the unsubscribe links every mail carries
	// (List-Unsubscribe and the text's footer); nil sends none, which only
	// tests of other concerns do.
	Unsubscribe UnsubscribeLinker
	// Bounces records a hard bounce on the client, which suppresses the
	// address after enough of them; nil records none.
	Bounces BounceRecorder
}

// UnsubscribeLinker builds an owner's client's unsubscribe links.
type UnsubscribeLinker interface {
	Links(owner, client uuid.UUID) domain.UnsubscribeLinks
}

// BounceRecorder is how the sender records a hard bounce (commands.OptOuts,
// decorated).
type BounceRecorder interface {
	RecordBounce(ctx context.Context, meta domain.Metadata, cmd commands.RecordBounce) (eventstore.Result, error)
}

func (c SenderConfig) withDefaults() SenderConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if len(c.RetrySchedule) == 0 {
		c.RetrySchedule = domain.DefaultRetrySchedule()
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.InFlight <= 0 {
		c.InFlight = 8 * c.Concurrency
	}
	if c.Gather == 0 {
		c.Gather = 10 * time.Millisecond
	}
	if c.PauseRatio <= 0 {
		c.PauseRatio = 0.5
	}
	if c.PauseMinSample <= 0 {
		c.PauseMinSample = 20
	}
	if c.LookupBatch <= 0 {
		c.LookupBatch = 500
	}
	if c.RosterPage <= 0 {
		c.RosterPage = 10_000
	}
	if c.OwnerCheck <= 0 {
		c.OwnerCheck = time.Second
	}
	return c
}

// Sender delivers runs: DispatchMailing commands from the command stream.
type Sender struct {
	pool   *pgxpool.Pool
	store  EventStore
	mailer Mailer
	runs   RunRecorder
	clock  Clock
	cfg    SenderConfig
	log    zerolog.Logger
}

// NewSender returns a sender.
func NewSender(pool *pgxpool.Pool, store EventStore, mailer Mailer, runs RunRecorder, clock Clock, cfg SenderConfig, log zerolog.Logger) (*Sender, error) {
	if pool == nil || store == nil || mailer == nil || runs == nil || clock == nil {
		return nil, errors.New("saga: sender needs a pool, a store, a mailer, the runs handler and a clock")
	}
	return &Sender{pool: pool, store: store, mailer: mailer, runs: runs, clock: clock, cfg: cfg.withDefaults(),
		log: log.With().Str("component", "sender").Logger()}, nil
}

// RunStats is what one Handle did.
type RunStats struct {
	Sent, Failed int       // final outcomes of the run, earlier sessions included
	Skipped      int       // clients not mailed: unsubscribed or suppressed
	Unsent       int       // deliveries a stopped run did not make
	Deferred     int       // deliveries waiting for a retry when Handle returned
	RetryAt      time.Time // when the earliest of them is due (zero: none)
	Attempts     int       // attempts made in this call
	Resumed      int       // clients already done when this call began
	Stopped      string
}

// Handle delivers run d as far as it can now. Only one sender works on a
// run at a time (a PostgreSQL advisory lock on the run, released by the
// server if the process dies); a command for a run being delivered
// elsewhere waits and then finds it done. Clients with a final attempt in
// the run (a success, or a failure not retried) are never mailed again, so
// a redelivered command or a restart after a crash resumes the run.
//
// A delivery that fails temporarily is deferred, as an MTA defers it: its
// attempt records when it is retried (RetrySchedule), and the other
// deliveries go on. When only deferred deliveries are left and none is due,
// Handle parks the run (saga_runs.retry_at) and returns; the scheduler
// hands it back to the senders when the earliest retry is due. The run
// finishes once every delivery is final.
func (s *Sender) Handle(ctx context.Context, d commands.Dispatch) error {
	_, err := s.handle(ctx, d)
	return err
}

func (s *Sender) handle(ctx context.Context, d commands.Dispatch) (RunStats, error) {
	var stats RunStats
	err := eventstore.RunExclusive(ctx, s.pool.Config().ConnConfig, runLockName(d.RunID), 200*time.Millisecond,
		func(ctx context.Context) error {
			var err error
			stats, err = s.deliverRun(ctx, d.RunID)
			return err
		})
	return stats, err
}

// runLockName names the advisory lock a sender holds while it delivers a
// run (the scheduler's watchdog leaves a held run alone).
func runLockName(runID uuid.UUID) string { return "run:" + runID.String() }

func (s *Sender) deliverRun(ctx context.Context, runID uuid.UUID) (RunStats, error) {
	var stats RunStats
	log := s.log.With().Str("run_id", runID.String()).Logger()
	head, err := s.runHead(ctx, runID)
	if err != nil {
		return stats, err
	}
	run := domain.LoadRun(head)
	if !run.Started() {
		log.Warn().Msg("dispatch of an unknown or skipped run ignored")
		return stats, nil
	}
	if run.Finished() {
		return stats, nil
	}
	log = log.With().Str("mailing_id", run.MailingID().String()).Logger()
	// The run's events go on its start's trail: same correlation, caused
	// by run.started.
	corr, _, err := runTrail(ctx, s.pool, runID)
	if err != nil {
		return stats, err
	}
	meta := domain.Metadata{CorrelationID: corr, CausationID: commands.StartedEventID(runID)}
	mailing, err := s.loadMailing(ctx, run.MailingID())
	if err != nil {
		return stats, err
	}
	msg, err := s.loadMessage(ctx, run.MessageID())
	if err != nil {
		return stats, err
	}
	owner, err := s.watchOwner(ctx, run.OwnerID())
	if err != nil {
		return stats, err
	}
	switch {
	case !mailing.Exists() || mailing.IsDeleted():
		stats.Stopped = "the mailing was deleted"
	case !msg.Exists() || msg.IsDeleted():
		stats.Stopped = "the message was deleted"
	case owner.blocked:
		// A run handed back for its deferred deliveries, or resumed,
		// while its owner is blocked.
		stats.Stopped = domain.OwnerBlockedReason
	}
	// A run of a listed mailing mails the mailing's list; an all-clients
	// run the clients its start fixed (Roster), the same set on every resume.
	set := recipients{listed: mailing.ClientIDs()}
	if run.AllClients() {
		set = recipients{roster: &Roster{pool: s.pool}, owner: run.OwnerID(), all: run.Recipients(), page: s.cfg.RosterPage}
	}
	// The message is compiled once per run and rendered per client.
	tpl := compose.Compile(msg.Fields())
	// gone holds due clients deleted since the run began: nobody to mail.
	gone := map[uuid.UUID]bool{}
	for pass := 0; ; pass++ {
		p, err := s.progress(ctx, runID)
		if err != nil {
			return stats, err
		}
		stats.Sent, stats.Failed, stats.Skipped = p.sent, p.failed, p.skipped
		if pass == 0 {
			stats.Resumed = len(p.done)
			if stats.Resumed > 0 || len(p.deferred) > 0 {
				log.Info().Int("done", stats.Resumed).Int("deferred", len(p.deferred)).Msg("resuming run")
			}
		}
		plan := p.plan(set, gone, s.clock.Now())
		stats.Deferred, stats.RetryAt = plan.waiting, plan.next
		if stats.Stopped != "" {
			// What was never attempted, or deferred and not retried.
			stats.Unsent = plan.due + plan.waiting
			break
		}
		if plan.due+plan.waiting == 0 {
			break
		}
		if plan.due == 0 {
			return stats, s.park(ctx, run, plan, log)
		}
		deferred, err := s.deliverAll(ctx, run, meta, set, p, gone, tpl, owner, &stats)
		if err != nil {
			return stats, err
		}
		if stats.Stopped == "" && deferred == 0 && plan.waiting == 0 {
			// Every delivery of the pass is final and none waited: the run
			// is done without reading its progress again.
			stats.Deferred, stats.RetryAt = 0, time.Time{}
			break
		}
	}
	return stats, s.finish(ctx, run, head, meta, &stats, log)
}

// park leaves a run whose remaining deliveries all wait for a retry: the
// scheduler hands it back to the senders at plan.next (saga_runs.retry_at;
// the watchdog does not look at it before then).
func (s *Sender) park(ctx context.Context, run *domain.Run, plan runPlan, log zerolog.Logger) error {
	_, err := s.pool.Exec(ctx, `
INSERT INTO saga_runs (run_id, mailing_id, started_at, checked_at, retry_at) VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (run_id) DO UPDATE SET checked_at = EXCLUDED.checked_at, retry_at = EXCLUDED.retry_at`,
		run.ID(), run.MailingID(), s.clock.Now(), plan.next)
	if err == nil {
		_, err = s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel)
	}
	if err != nil {
		return fmt.Errorf("park run %s: %w", run.ID(), err)
	}
	runsParked.Inc()
	log.Info().Int("deferred", plan.waiting).Time("retry_at", plan.next).Msg("run waits for deferred deliveries")
	return nil
}

// finish records the run's end, pauses the mailing when too many
// deliveries failed and it has runs left, and lets a once mailing complete.
func (s *Sender) finish(ctx context.Context, run *domain.Run, head []domain.Event, meta domain.Metadata, stats *RunStats, log zerolog.Logger) error {
	final := stats.Sent + stats.Failed
	if stats.Stopped == "" && final > 0 && float64(stats.Failed)/float64(final) > s.cfg.PauseRatio && s.cfg.PauseRatio < 1 {
		stats.Stopped = s.ratioReason(stats.Failed, final)
	}
	now := s.clock.Now()
	_, err := s.runs.FinishRun(ctx, commands.FinishRun{RunID: run.ID(), Head: head, Sent: stats.Sent, Failed: stats.Failed,
		Skipped: stats.Skipped, Stopped: stats.Stopped, Unsent: stats.Unsent}, meta)
	if err != nil {
		return fmt.Errorf("record end of run %s: %w", run.ID(), err)
	}
	log.Info().Int("sent", stats.Sent).Int("failed", stats.Failed).Int("skipped", stats.Skipped).Int("attempts", stats.Attempts).
		Str("stopped", stats.Stopped).Int("unsent", stats.Unsent).Msg("run finished")
	if stats.Stopped == "" {
		runsFinished.WithLabelValues("complete").Inc()
	} else {
		runsFinished.WithLabelValues("stopped").Inc()
	}
	if strings.HasPrefix(stats.Stopped, ratioPrefix) {
		// The pause follows from the run's end.
		meta.CausationID = FinishedEventID(run.ID())
		if err := s.pauseAfter(ctx, run, stats.Stopped, now, meta, log); err != nil {
			return err
		}
	}
	return RunFinished(ctx, s.pool, run.MailingID(), run.ID(), now)
}

// pauseAfter pauses the mailing of a run that failed too often, so its
// next runs wait for the owner. A mailing with no run left on its schedule
// (a once mailing after its run) is not paused: it completes, and a pause
// would only contradict that.
func (s *Sender) pauseAfter(ctx context.Context, run *domain.Run, stopped string, now time.Time, meta domain.Metadata, log zerolog.Logger) error {
	m, err := s.loadMailing(ctx, run.MailingID())
	if err != nil {
		return err
	}
	if !m.RunsLeft(now) {
		log.Warn().Str("reason", stopped).Msg("run failed too often; the mailing has no runs left and is not paused")
		return nil
	}
	reason := fmt.Sprintf("run %s: %s", run.ID(), stopped)
	if _, err := s.runs.PauseMailing(ctx, run.MailingID(), reason, meta); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("pause mailing %s: %w", run.MailingID(), err)
	}
	log.Warn().Str("reason", reason).Msg("mailing paused")
	return nil
}

const ratioPrefix = "too many failures: "

func (s *Sender) ratioReason(failed, final int) string {
	return fmt.Sprintf("%s%d of %d deliveries failed, more than the pause ratio %.2f", ratioPrefix, failed, final, s.cfg.PauseRatio)
}

// job is one attempt to make: attempt is its number in the delivery, first
// when the delivery's first attempt was made (zero for a first attempt).
type job struct {
	clientID             uuid.UUID
	email, name, comment string
	attempt              int
	first                time.Time
	skip                 string // why the client is not mailed (domain.SkipUnsubscribed…), or ""
}

// deliverAll makes one attempt for every delivery due now: Concurrency
// workers, at most InFlight deliveries in flight, attempts recorded by group
// commit (each append takes what arrived while the last one committed, and
// what arrives within Gather while its batch is small). It returns how many
// of them were deferred. Memory holds the progress, a page of recipients
// and a few batches, never a message per client.
func (s *Sender) deliverAll(ctx context.Context, run *domain.Run, meta domain.Metadata, set recipients, p *runProgress,
	gone map[uuid.UUID]bool, tpl *compose.Template, owner *ownerWatch, stats *RunStats) (deferred int, err error) {
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	// Room for a whole lookup batch: the next batch is looked up while the
	// workers still have this one to send.
	jobs := make(chan job, s.cfg.LookupBatch+2*s.cfg.Concurrency)
	// A slot per delivery in flight, taken before its SMTP transaction and
	// given back once its attempt is committed.
	slots := make(chan struct{}, s.cfg.InFlight)
	attempts := make(chan domain.DeliveryAttempted, s.cfg.InFlight)
	var producerErr error
	go func() {
		defer close(jobs)
		producerErr = s.produce(stopCtx, set, p, gone, s.clock.Now(), jobs)
	}()
	// The workers tally final outcomes themselves, so the pause threshold
	// stops them at once, not when the recorder catches up.
	tally := &tally{sent: int64(stats.Sent), failed: int64(stats.Failed), s: s, stop: stop}
	var wg sync.WaitGroup
	for range s.cfg.Concurrency {
		wg.Go(func() {
			for j := range jobs {
				select {
				case slots <- struct{}{}:
				case <-stopCtx.Done():
					continue // stopped: the rest of the jobs are drained unsent
				}
				if !s.deliver(ctx, stopCtx, run, tpl, j, attempts, tally, owner) {
					<-slots
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(attempts)
	}()

	buf := make([]domain.DeliveryAttempted, 0, s.cfg.BatchSize)
	var flushErr error
	flush := func() {
		if len(buf) > 0 && flushErr == nil {
			// The batch's id is fixed before its first append, so a retried
			// append stores it once.
			batch := commands.AttemptBatch{ID: uuid.Must(uuid.NewV7()), Attempts: buf}
			if err := s.appendAttempts(ctx, run.ID(), batch, meta); err != nil {
				flushErr = err
				stop() // stop sending what could not be recorded
			} else {
				s.recordBounces(ctx, batch, meta)
			}
		}
		for range buf {
			<-slots
		}
		buf = buf[:0]
	}
	add := func(a domain.DeliveryAttempted) {
		stats.Attempts++
		buf = append(buf, a)
		switch {
		case a.Skipped != "":
			stats.Skipped++
			deliveries.WithLabelValues("skipped").Inc()
		case a.Success:
			stats.Sent++
			deliveries.WithLabelValues("success").Inc()
		case a.Permanent:
			stats.Failed++
			deliveries.WithLabelValues("permanent").Inc()
		default:
			deferred++
			deliveries.WithLabelValues("temporary").Inc()
		}
	}
	// A batch waits for more attempts only while it holds fewer than
	// enough, so the workers keep slots to send with meanwhile.
	enough := max(1, s.cfg.InFlight/2)
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	defer gather.Stop()
	for a := range attempts {
		add(a)
		waited := s.cfg.Gather <= 0
		if !waited {
			gather.Reset(s.cfg.Gather)
		}
	collect:
		for len(buf) < s.cfg.BatchSize {
			var a domain.DeliveryAttempted
			var ok bool
			select {
			case a, ok = <-attempts:
			default:
				if waited || len(buf) >= enough {
					break collect
				}
				select {
				case a, ok = <-attempts:
				case <-gather.C:
					waited = true
					continue
				}
			}
			if !ok {
				break collect
			}
			add(a)
		}
		gather.Stop()
		flush()
	}
	flush()
	if r := tally.stopped.Load(); r != nil && stats.Stopped == "" {
		stats.Stopped = *r
	}
	if flushErr != nil {
		return deferred, flushErr
	}
	if producerErr != nil && !errors.Is(producerErr, context.Canceled) {
		return deferred, producerErr
	}
	return deferred, ctx.Err()
}

// tally counts a run's final outcomes across the workers and stops the run
// once its failures pass the pause ratio (after PauseMinSample outcomes).
type tally struct {
	sent, failed int64
	mu           sync.Mutex
	stopped      atomic.Pointer[string]
	s            *Sender
	stop         func()
}

// halt stops the run for reason, unless it stopped already.
func (t *tally) halt(reason string) {
	if t.stopped.CompareAndSwap(nil, &reason) {
		t.stop()
	}
}

func (t *tally) final(success bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if success {
		t.sent++
		return
	}
	t.failed++
	n := t.sent + t.failed
	cfg := t.s.cfg
	if t.stopped.Load() == nil && n >= int64(cfg.PauseMinSample) && cfg.PauseRatio < 1 &&
		float64(t.failed)/float64(n) > cfg.PauseRatio {
		t.halt(t.s.ratioReason(int(t.failed), int(n)))
	}
}

// recordBounces counts the hard bounces of a recorded batch on their
// clients (after the attempts, which they follow from). A bounce that
// cannot be recorded is logged and dropped: the delivery's outcome is
// recorded, and only the count towards suppression misses it.
func (s *Sender) recordBounces(ctx context.Context, batch commands.AttemptBatch, meta domain.Metadata) {
	if s.cfg.Bounces == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for i, a := range batch.Attempts {
		if !a.Permanent || !a.Bounced() {
			continue
		}
		m := meta
		m.CausationID = batch.ID
		_, err := s.cfg.Bounces.RecordBounce(ctx, m, commands.RecordBounce{ClientID: a.ClientID, AttemptID: batch.AttemptID(i), Reply: a.ServerResponse})
		if err != nil {
			s.log.Warn().Err(err).Str("client_id", a.ClientID.String()).Msg("bounce not recorded")
		}
	}
}

// appendAttempts records a batch, retrying a failed append with backoff for
// up to 30 s: the attempts were made, and each one the store loses is mailed
// again when the run resumes. Meanwhile the batch holds its in-flight slots,
// so nothing more is sent; a database that restarts within the budget costs
// no duplicate. Every try appends the same batch under its id, so retrying
// an append that did commit is harmless.
func (s *Sender) appendAttempts(ctx context.Context, runID uuid.UUID, batch commands.AttemptBatch, meta domain.Metadata) error {
	// Attempts made must be recorded even when shutdown began meanwhile:
	// an unrecorded success would be mailed again on resume.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		_, err := s.runs.RecordAttempts(ctx, runID, batch, meta)
		if err == nil {
			return nil
		}
		wait = min(2*wait, 2*time.Second)
		select {
		case <-ctx.Done():
			return fmt.Errorf("record attempts of run %s: %w", runID, err)
		case <-time.After(wait):
		}
	}
}

// produce looks up the clients due at now in batches and hands them to the
// workers: those not yet attempted and the deferred ones whose retry is
// due. A due client deleted since is added to gone.
func (s *Sender) produce(ctx context.Context, set recipients, p *runProgress, gone map[uuid.UUID]bool,
	now time.Time, jobs chan<- job) error {
	batch := make([]uuid.UUID, 0, s.cfg.LookupBatch)
	hand := func() error {
		found, err := s.lookupClients(ctx, batch)
		if err != nil {
			return err
		}
		seen := make(map[uuid.UUID]bool, len(found))
		for _, j := range found {
			seen[j.clientID] = true
			j.attempt = 1
			if d, ok := p.deferred[j.clientID]; ok {
				j.attempt, j.first = d.attempt+1, d.first
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		for _, id := range batch {
			if !seen[id] {
				gone[id] = true
			}
		}
		batch = batch[:0]
		return nil
	}
	var err error
	if readErr := set.each(ctx, func(id uuid.UUID) bool {
		if p.isDue(id, gone, now) {
			if batch = append(batch, id); len(batch) == s.cfg.LookupBatch {
				err = hand()
			}
		}
		return err == nil
	}); readErr != nil {
		return readErr
	}
	if err == nil && len(batch) > 0 {
		err = hand()
	}
	return err
}

// deliver makes one attempt for a client. A temporary failure is deferred
// to the next time on the retry schedule (counted from the delivery's
// first attempt), or final once the schedule is spent; a 5xx is final at
// once. After stop nothing more is sent, nor once the run's owner is
// blocked: the delivery is left unmade and the run stops. It reports
// whether it handed an attempt to out to be recorded.
func (s *Sender) deliver(ctx, stopCtx context.Context, run *domain.Run, tpl *compose.Template, j job,
	out chan<- domain.DeliveryAttempted, t *tally, owner *ownerWatch) bool {
	if stopCtx.Err() != nil {
		return false
	}
	if owner.Blocked(ctx) {
		t.halt(domain.OwnerBlockedReason)
		return false
	}
	if j.skip != "" {
		// Not sent, not failed: final, and outside the failure ratio.
		out <- domain.DeliveryAttempted{MailingID: run.MailingID(), ClientID: j.clientID, Email: j.email,
			AttemptedAt: s.clock.Now().UTC(), Attempt: j.attempt, Skipped: j.skip}
		return true
	}
	fields := compose.Fields{FullName: j.name, Email: j.email, Comment: j.comment}
	var links *domain.UnsubscribeLinks
	if s.cfg.Unsubscribe != nil {
		l := s.cfg.Unsubscribe.Links(run.OwnerID(), j.clientID)
		links, fields.UnsubscribeURL = &l, l.URL
	}
	var res mail.Result
	// The client's own mail, rendered as the previews render it; a mail
	// that cannot be rendered (too large for this client) is a final failure.
	m, err := tpl.Render(fields)
	if err != nil {
		res = mail.Result{Outcome: mail.Permanent, Response: "not sent: " + err.Error(), Err: err}
	} else {
		mm := mail.Message{
			To: j.email, ToName: j.name, Subject: m.Subject, TextBody: m.Text, HTMLBody: m.HTML,
			MessageID: domain.DeliveryMessageKey(run.ID(), j.clientID),
		}
		if links != nil {
			withUnsubscribe(&mm, *links)
		}
		senderInFlight.Inc()
		res = s.mailer.Send(ctx, mm)
		senderInFlight.Dec()
	}
	now := s.clock.Now().UTC()
	a := domain.DeliveryAttempted{
		MailingID: run.MailingID(), ClientID: j.clientID, Email: j.email, Success: res.OK(),
		ServerResponse: res.Response, AttemptedAt: now, Attempt: j.attempt,
	}
	if ctx.Err() != nil && !a.Success {
		return false // shutting down: the attempt is not the server's verdict
	}
	if !a.Success {
		first := j.first
		if first.IsZero() {
			first = now
		}
		if at, ok := domain.NextRetry(s.cfg.RetrySchedule, first, now); ok && res.Retryable() {
			a.RetryAt = &at
		} else {
			a.Permanent = true
		}
	}
	out <- a
	if a.Final() {
		t.final(a.Success)
	}
	return true
}

// ownerBlockedSQL reads whether an account's latest block or activation is
// a block (false for an account with neither, or none at all): an index
// range of the owner's stream, read backwards.
const ownerBlockedSQL = `SELECT coalesce((SELECT type = 'user.blocked' FROM events
WHERE stream_id = $1 AND type IN ('user.blocked', 'user.activated') ORDER BY version DESC LIMIT 1), false)`

// ownerWatch is a run's view of whether its owner is blocked. It reads the
// owner's stream when the run begins, and again when a delivery finds its
// last look OwnerCheck old by the sender's clock: deliveries ask it freely,
// and a block stops a run within about OwnerCheck. A run it found blocked
// stays stopped.
type ownerWatch struct {
	s       *Sender
	owner   uuid.UUID
	mu      sync.Mutex
	at      time.Time // the last look
	blocked bool
}

// watchOwner takes the first look at the run's owner.
func (s *Sender) watchOwner(ctx context.Context, owner uuid.UUID) (*ownerWatch, error) {
	w := &ownerWatch{s: s, owner: owner, at: s.clock.Now()}
	if err := s.pool.QueryRow(ctx, ownerBlockedSQL, owner).Scan(&w.blocked); err != nil {
		return nil, fmt.Errorf("read whether owner %s is blocked: %w", owner, err)
	}
	return w, nil
}

// Blocked reports whether the owner is blocked, looking again when the
// last look is OwnerCheck old. A look that fails keeps the last answer
// (the store being down stops the run's records anyway).
func (w *ownerWatch) Blocked(ctx context.Context) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.s.clock.Now()
	if w.blocked || now.Sub(w.at) < w.s.cfg.OwnerCheck {
		return w.blocked
	}
	w.at = now
	var blocked bool
	if err := w.s.pool.QueryRow(ctx, ownerBlockedSQL, w.owner).Scan(&blocked); err != nil {
		if ctx.Err() == nil {
			w.s.log.Warn().Err(err).Str("owner_id", w.owner.String()).Msg("could not read whether the owner is blocked")
		}
		return w.blocked
	}
	if blocked {
		w.s.log.Warn().Str("owner_id", w.owner.String()).Msg("owner blocked; stopping the run")
	}
	w.blocked = blocked
	return blocked
}

// FinishedEventID is the id of a run's run.finished event
// (commands.FinishedEventID): the end of a run is found by one index
// lookup however many deliveries the stream holds.
func FinishedEventID(runID uuid.UUID) uuid.UUID { return commands.FinishedEventID(runID) }

// runTrail reads what the commands that follow from run runID carry: the
// correlation of its start (the request that dispatched it, or the
// scheduler's run), or the run's own id for a start recorded without one;
// and whether the run finished.
func runTrail(ctx context.Context, pool *pgxpool.Pool, runID uuid.UUID) (corr uuid.UUID, finished bool, err error) {
	var raw *string
	err = pool.QueryRow(ctx, `SELECT (SELECT metadata->>'correlation_id' FROM events WHERE event_id = $1),
  EXISTS (SELECT 1 FROM events WHERE event_id = $2)`, commands.StartedEventID(runID), FinishedEventID(runID)).Scan(&raw, &finished)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("read the trail of run %s: %w", runID, err)
	}
	corr = runID
	if raw != nil {
		if c, perr := uuid.Parse(*raw); perr == nil && c != uuid.Nil {
			corr = c
		}
	}
	return corr, finished, nil
}

// runHeadSQL reads the events of a run stream other than its deliveries:
// the first (run.started or run.skipped) and run.finished, if recorded. A
// run stream is its start, its deliveries, then its end, so both are index
// lookups: a filter on type would read every delivery of the run (it cost
// tens of milliseconds per call at 100,000 clients, and --wait polls it).
const runHeadSQL = `SELECT type, data FROM (
    SELECT version, type, data FROM events WHERE stream_id = $1 AND version = 1
    UNION ALL
    SELECT version, type, data FROM events WHERE event_id = $2 AND stream_id = $1 AND version > 1
) head ORDER BY version`

// runHead reads the run's events other than deliveries (its start, end or
// skip), so resuming a large run does not load every attempt.
func (s *Sender) runHead(ctx context.Context, runID uuid.UUID) ([]domain.Event, error) {
	rows, err := s.pool.Query(ctx, runHeadSQL, runID, FinishedEventID(runID))
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []domain.Event
	for rows.Next() {
		var typ string
		var data []byte
		if err := rows.Scan(&typ, &data); err != nil {
			return nil, err
		}
		e, err := domain.DecodeEvent(typ, data)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// runProgress is where a run's deliveries stand, read from the store (not
// the attempts read model, which may lag).
type runProgress struct {
	done                  map[uuid.UUID]bool // final: true for a success
	deferred              map[uuid.UUID]deferral
	sent, failed, skipped int
}

// deferral is a delivery whose last attempt failed temporarily.
type deferral struct {
	attempt int       // attempts made
	first   time.Time // when the first was made
	retryAt time.Time // when the next is due (zero: now)
}

// isDue reports whether client id gets an attempt at now: not yet final,
// not gone, and either never attempted or deferred to now or before.
func (p *runProgress) isDue(id uuid.UUID, gone map[uuid.UUID]bool, now time.Time) bool {
	if _, ok := p.done[id]; ok || gone[id] {
		return false
	}
	d, ok := p.deferred[id]
	return !ok || !d.retryAt.After(now)
}

// recipients is the client ids a run mails, in order: a listed mailing's
// list, held with the mailing, or the set an all-clients run's start fixed,
// read from the store a page at a time (Roster.Each) each time it is gone
// through.
type recipients struct {
	listed []uuid.UUID
	roster *Roster
	owner  uuid.UUID
	all    domain.RunRecipients
	page   int
}

func (r recipients) each(ctx context.Context, yield func(uuid.UUID) bool) error {
	if r.roster != nil {
		return r.roster.Each(ctx, r.owner, r.all, r.page, yield)
	}
	for _, id := range r.listed {
		if !yield(id) {
			return nil
		}
	}
	return nil
}

// runPlan counts a run's deliveries that are not final: due now, and
// waiting for a later retry (the earliest at next).
type runPlan struct {
	due, waiting int
	next         time.Time
}

func (p *runProgress) plan(set recipients, gone map[uuid.UUID]bool, now time.Time) runPlan {
	var pl runPlan
	wait := func(d deferral) {
		pl.waiting++
		if pl.next.IsZero() || d.retryAt.Before(pl.next) {
			pl.next = d.retryAt
		}
	}
	if set.roster != nil {
		// An all-clients run's set is fixed, and every client with an
		// attempt in the run or gone from it is one of the set: the plan
		// is counted without reading the set again.
		for id, d := range p.deferred {
			if !gone[id] && d.retryAt.After(now) {
				wait(d)
			}
		}
		pl.due = max(0, set.all.Count-len(p.done)-len(gone)-pl.waiting)
		return pl
	}
	for _, id := range set.listed {
		switch d, deferred := p.deferred[id]; {
		case p.isDue(id, gone, now):
			pl.due++
		case deferred && !gone[id]:
			wait(d)
		}
	}
	return pl
}

// progressSQL sums up each client's attempts in a run: final when one
// succeeded or failed permanently; otherwise the attempts made, the first
// one's time and the last one's retry time (retries are later each time).
// An attempt recorded before deliveries were deferred has no retry_at and
// is due at once.
const progressSQL = `SELECT client_id, bool_or(success), bool_or(success OR permanent OR skipped), bool_or(skipped), max(attempt),
    min(attempted_at), max(retry_at)
FROM run_attempts($1)
GROUP BY client_id`

// progress reads where the run's deliveries stand.
func (s *Sender) progress(ctx context.Context, runID uuid.UUID) (*runProgress, error) {
	rows, err := s.pool.Query(ctx, progressSQL, runID)
	if err != nil {
		return nil, fmt.Errorf("read progress of run %s: %w", runID, err)
	}
	defer rows.Close()
	p := &runProgress{done: map[uuid.UUID]bool{}, deferred: map[uuid.UUID]deferral{}}
	for rows.Next() {
		var id uuid.UUID
		var success, final, skipped bool
		var d deferral
		var retryAt *time.Time
		if err := rows.Scan(&id, &success, &final, &skipped, &d.attempt, &d.first, &retryAt); err != nil {
			return nil, err
		}
		switch {
		case skipped:
			p.done[id] = false
			p.skipped++
		case success:
			p.done[id] = true
			p.sent++
		case final:
			p.done[id] = false
			p.failed++
		default:
			if retryAt != nil {
				d.retryAt = *retryAt
			}
			p.deferred[id] = d
		}
	}
	return p, rows.Err()
}

// lookupClientsSQL reads each client's latest created/updated/deleted
// event, whether it ever unsubscribed, and whether its latest suppression
// event suppresses it. Every part is a lookup of one stream, newest first,
// so the plan is index lookups whatever the statistics say: right after a
// large import, before the table is analysed, a plan over all the ids at
// once scanned the whole table for each page of a run.
const lookupClientsSQL = `
SELECT ids.id, c.type, c.email, c.name, c.comment,
    coalesce((SELECT true FROM events u WHERE u.stream_id = ids.id AND u.type = 'client.unsubscribed' LIMIT 1), false),
    coalesce((SELECT s.type = 'client.suppressed' FROM events s WHERE s.stream_id = ids.id
        AND s.type IN ('client.suppressed', 'client.unsuppressed') ORDER BY s.version DESC LIMIT 1), false)
FROM (SELECT DISTINCT id FROM unnest($1::uuid[]) AS u (id)) ids
CROSS JOIN LATERAL (SELECT type, coalesce(data->>'email', '') AS email, coalesce(data->>'full_name', '') AS name,
        coalesce(data->>'comment', '') AS comment
    FROM events WHERE stream_id = ids.id AND type IN ('client.created', 'client.updated', 'client.deleted')
    ORDER BY version DESC LIMIT 1) c`

// lookupClients reads the current email, name, comment and opt-outs of
// clients from their streams, so a client created (or unsubscribed) a
// moment ago is seen as it is even if the read models lag. Deleted or
// unknown clients are left out; unsubscribed and suppressed ones come with
// the reason to skip them.
func (s *Sender) lookupClients(ctx context.Context, ids []uuid.UUID) ([]job, error) {
	rows, err := s.pool.Query(ctx, lookupClientsSQL, uuidArray(ids))
	if err != nil {
		return nil, fmt.Errorf("look up clients: %w", err)
	}
	defer rows.Close()
	out := make([]job, 0, len(ids))
	for rows.Next() {
		var j job
		var typ string
		var unsubscribed, suppressed bool
		if err := rows.Scan(&j.clientID, &typ, &j.email, &j.name, &j.comment, &unsubscribed, &suppressed); err != nil {
			return nil, err
		}
		switch {
		case unsubscribed:
			j.skip = domain.SkipUnsubscribed
		case suppressed:
			j.skip = domain.SkipSuppressed
		}
		if typ != "client.deleted" && j.email != "" {
			out = append(out, j)
		}
	}
	return out, rows.Err()
}

// uuidArray passes ids as [16]byte values: pgx encodes a uuid.UUID through
// its driver.Valuer (format to text, parse back), many times slower
// (docs/BENCHMARKS.md, eventstore).
func uuidArray(ids []uuid.UUID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func (s *Sender) loadMailing(ctx context.Context, id uuid.UUID) (*domain.Mailing, error) {
	evs, err := s.load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load mailing %s: %w", id, err)
	}
	return domain.LoadMailing(evs), nil
}

func (s *Sender) loadMessage(ctx context.Context, id uuid.UUID) (*domain.Message, error) {
	evs, err := s.load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load message %s: %w", id, err)
	}
	return domain.LoadMessage(evs), nil
}

func (s *Sender) load(ctx context.Context, id uuid.UUID) ([]domain.Event, error) {
	recs, err := s.store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Event, len(recs))
	for i, r := range recs {
		out[i] = r.Event
	}
	return out, nil
}

// RunProgress is how far a run has got, for `herald send --wait`.
type RunProgress struct {
	Clients  int  // clients when the run started
	Done     int  // clients with a success or a final failure
	Finished bool // run.finished or run.skipped recorded
	Sent     int
	Failed   int
	Skipped  int // not mailed: unsubscribed or suppressed
	Bounced  int // failures the receiving server refused for good (a 5xx hard bounce)
	// RetryAt is set while the run waits for deferred deliveries (its
	// senders left it until then); Deferred counts them.
	RetryAt  time.Time
	Deferred int
}

// ReadRunProgress reads a run's progress from the store. Following a run,
// use a RunWatch: this counts every delivery of the run each call.
func ReadRunProgress(ctx context.Context, pool *pgxpool.Pool, runID uuid.UUID) (RunProgress, error) {
	return NewRunWatch(runID).Read(ctx, pool)
}

// RunWatch follows one run's progress (herald send --wait polls it): each
// Read counts only the deliveries recorded since the previous one, an index
// range of the run stream, so a poll costs what changed, not the run's size
// (docs/BENCHMARKS.md, saga).
type RunWatch struct {
	runID   uuid.UUID
	version int64 // the run stream's events up to here are counted
	done    int   // final attempts (a success or a permanent failure) seen
	bounced int   // hard bounces among them
}

// NewRunWatch starts following run runID.
func NewRunWatch(runID uuid.UUID) *RunWatch { return &RunWatch{runID: runID} }

// Read returns the run's progress now. A client has at most one final
// attempt in a run (one that is recorded is never sent again), so Done
// counts final attempts. One sender appends a run's attempts in order, so
// a version seen means every lower one is visible too.
func (w *RunWatch) Read(ctx context.Context, pool *pgxpool.Pool) (RunProgress, error) {
	var p RunProgress
	rows, err := pool.Query(ctx, runHeadSQL, w.runID, FinishedEventID(w.runID))
	if err != nil {
		return p, err
	}
	for rows.Next() {
		var typ string
		var data []byte
		if err := rows.Scan(&typ, &data); err != nil {
			rows.Close()
			return p, err
		}
		switch typ {
		case "run.started":
			var e domain.RunStarted
			_ = json.Unmarshal(data, &e)
			p.Clients = e.Clients
		case "run.finished":
			var e domain.RunFinished
			_ = json.Unmarshal(data, &e)
			p.Finished, p.Sent, p.Failed, p.Skipped = true, e.Sent, e.Failed, e.Skipped
		case "run.skipped":
			p.Finished = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}
	// The attempts since the last read: how many are final, and the
	// replies of the permanent failures, whose hard bounces are counted
	// as the report counts them (domain.DeliveryAttempted.Bounced).
	var last int64
	var final int
	var replies []string
	err = pool.QueryRow(ctx, `SELECT coalesce((SELECT max(version) FROM events WHERE stream_id = $1 AND version > $2), $2),
  count(*) FILTER (WHERE success OR permanent OR skipped),
  coalesce(array_agg(server_response) FILTER (WHERE NOT success AND permanent AND NOT skipped), '{}')
FROM run_attempts($1) WHERE version > $2`, w.runID, w.version).Scan(&last, &final, &replies)
	if err != nil {
		return p, err
	}
	w.version, w.done = last, w.done+final
	for _, reply := range replies {
		if (domain.DeliveryAttempted{Permanent: true, ServerResponse: reply}).Bounced() {
			w.bounced++
		}
	}
	p.Done, p.Bounced = w.done, w.bounced
	if p.Finished {
		p.Done = p.Sent + p.Failed + p.Skipped
		return p, nil
	}
	var retryAt *time.Time
	err = pool.QueryRow(ctx, `SELECT retry_at FROM saga_runs WHERE run_id = $1`, w.runID).Scan(&retryAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil // not watched (yet, or any more)
	}
	if err != nil || retryAt == nil {
		return p, err
	}
	p.RetryAt = *retryAt
	err = pool.QueryRow(ctx, `SELECT count(*) FROM (
  SELECT 1 FROM run_attempts($1) GROUP BY client_id HAVING NOT bool_or(success OR permanent OR skipped)) d`, w.runID).Scan(&p.Deferred)
	return p, err
}
