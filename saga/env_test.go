package saga

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
	"github.com/heraldmail/herald/projections"
)

// env is the real thing for one test: its own database, its own Redis
// topic prefix, the relay, the scheduler (its event handler in a
// projections runtime, and its loop), senders consuming the command stream,
// and an SMTP sink. Only the clock is a ManualClock.
type env struct {
	t      testing.TB
	ctx    context.Context
	pool   *pgxpool.Pool
	dbURL  string
	store  *eventstore.Store
	bus    bus.Config
	queue  *Queue
	runs   *commands.DecoratedRuns
	clock  *ManualClock
	sink   *mail.Sink
	log    zerolog.Logger
	owner  uuid.UUID
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type envOptions struct {
	noScheduler bool
	noSender    bool
	sender      SenderConfig
	scheduler   SchedulerConfig
	reply       mail.ReplyFunc
	redisURL    string // default the shared test Redis
}

func testLogger(t testing.TB) zerolog.Logger {
	if os.Getenv("HERALD_TEST_LOG") != "" {
		return zerolog.New(zerolog.NewConsoleWriter()).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dbURL := testenv.DatabaseURL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	redisURL := testenv.RedisURL()
	if o.redisURL != "" {
		redisURL = o.redisURL
	}
	rc, err := bus.Connect(ctx, redisURL)
	if err != nil {
		t.Fatal(err)
	}
	log := testLogger(t)
	e := &env{t: t, ctx: ctx, pool: pool, dbURL: dbURL, store: store, log: log, cancel: cancel, owner: uuid.New(),
		bus:   bus.Config{Client: rc, Prefix: testenv.Name("saga") + ":", Logger: log},
		clock: NewManualClock(time.Now().Add(time.Minute).UTC().Truncate(time.Second))}
	t.Cleanup(func() {
		cancel()
		e.wg.Wait()
		pool.Close()
		_ = rc.Close()
	})
	e.queue, err = NewQueue(e.bus)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := commands.NewRuns(store, &Roster{pool: pool}, e.queue, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.runs = commands.NewDecorator(log).Runs(runs)
	pub, err := bus.NewPublisher(e.bus)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := eventstore.NewRelay(store, pub, e.bus, log)
	if err != nil {
		t.Fatal(err)
	}
	e.goRun(relay.Run)
	if !o.noScheduler {
		e.startScheduler(o.scheduler)
	}
	// On tmpfs when there is one: a file per message costs about 1 ms on
	// this machine's disk and would make the sink the bottleneck.
	dir, cleanupDir, err := mail.ScratchDir("herald-saga-sink-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanupDir)
	e.sink, err = mail.NewSink(mail.SinkConfig{Dir: dir, Reply: o.reply})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sink.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sink.Close() })
	if !o.noSender {
		e.startSender(ctx, o.sender, "sender-1")
	}
	return e
}

func (e *env) goRun(f func(context.Context) error) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = f(e.ctx)
	}()
}

// startScheduler starts one more scheduler (event handler and loop) and
// returns a function that stops it.
func (e *env) startScheduler(cfg SchedulerConfig) (stop func()) {
	e.t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = 50 * time.Millisecond
	}
	s, err := NewScheduler(e.pool, e.runs, e.clock, cfg, e.log)
	if err != nil {
		e.t.Fatal(err)
	}
	rt, err := projections.NewRuntime(e.pool, e.bus, e.log, s)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	for _, f := range []func(context.Context) error{rt.Run, s.Run} {
		wg.Add(1)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer wg.Done()
			_ = f(ctx)
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// newScheduler returns a scheduler that nothing runs yet, its claiming
// connection closed when the test ends.
func (e *env) newScheduler(cfg SchedulerConfig) *Scheduler {
	e.t.Helper()
	s, err := NewScheduler(e.pool, e.runs, e.clock, cfg, e.log)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		s.claimMu.Lock()
		defer s.claimMu.Unlock()
		s.dropConn(context.Background())
	})
	return s
}

// drivenScheduler starts a scheduler whose schedule is kept (its event
// handler runs) but whose loop does not: the test looks for due rows by
// calling Tick itself, with the clock where it wants it, so nothing races
// an assertion that a look fired nothing.
func (e *env) drivenScheduler(cfg SchedulerConfig) *Scheduler {
	e.t.Helper()
	s := e.newScheduler(cfg)
	rt, err := projections.NewRuntime(e.pool, e.bus, e.log, s)
	if err != nil {
		e.t.Fatal(err)
	}
	e.goRun(rt.Run)
	return s
}

// tick makes s look once at the clock's now and fails unless it handled
// want due rows (runs fired or skipped, completions, deferred runs handed
// back).
func (e *env) tick(s *Scheduler, want int) {
	e.t.Helper()
	// A row the scheduler's projection is updating at that moment is
	// skipped (SKIP LOCKED) and handled by the next look, as the running
	// loop does when the projection's notification wakes it: the test
	// looks again until want rows were handled, and never past want.
	total := 0
	testenv.Eventually(e.t, 30*time.Second, fmt.Sprintf("%d due rows handled by %s", want, e.clock.Now().Format(time.RFC3339)), func() bool {
		n, err := s.Tick(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		total += n
		return total >= want
	})
	if total != want {
		e.t.Fatalf("looks at %s handled %d due rows, want %d", e.clock.Now().Format(time.RFC3339), total, want)
	}
}

// tickUntil ticks s until cond holds: for what follows from an
// asynchronous step (a run's end moving a once mailing's completion
// forward, say).
func (e *env) tickUntil(s *Scheduler, what string, cond func() bool) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, what, func() bool {
		if _, err := s.Tick(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		return cond()
	})
}

func (e *env) newMailer(concurrency int) *mail.Client {
	e.t.Helper()
	c, err := mail.NewClient(mail.Config{Endpoint: e.sink.Endpoint(), From: "Herald <herald@example.test>", Concurrency: concurrency})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (e *env) newSender(cfg SenderConfig) *Sender {
	e.t.Helper()
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	s, err := NewSender(e.pool, e.store, e.newMailer(cfg.Concurrency), e.runs, e.clock, cfg, e.log)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// startSender starts a sender consuming the command stream as name and
// returns a function that stops it and waits until it has stopped reading,
// so no command is read by a sender on its way out.
func (e *env) startSender(ctx context.Context, cfg SenderConfig, name string) (stop func()) {
	s := e.newSender(cfg)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(done)
		_ = s.Consume(ctx, e.bus, name)
	}()
	return func() {
		cancel()
		<-done
		e.waitReadsEnded(name)
	}
}

// waitReadsEnded waits until the stopped consumer's last blocking read has
// ended. The subscriber returns from Close while a read it issued may still
// block in Redis (up to the bus's BlockTime, one second); a command added in
// that time goes to the stopped consumer's pending list, where a peer takes
// it over only at its next claim, a minute later. Redis counts a consumer's
// idle time from its last read, so past the block time no read is waiting.
func (e *env) waitReadsEnded(consumer string) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, consumer+"'s last read ended", func() bool {
		cs, err := e.bus.Client.XInfoConsumers(e.ctx, e.bus.Topic(DispatchTopic), e.bus.Prefix+SenderGroup).Result()
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range cs {
			if c.Name == consumer {
				return c.Idle > 1500*time.Millisecond
			}
		}
		return true
	})
}

var system = domain.Metadata{Command: "test"}

func (e *env) commit(appends ...eventstore.StreamAppend) {
	e.t.Helper()
	if _, err := e.store.Commit(e.ctx, eventstore.Commit{Appends: appends}); err != nil {
		e.t.Fatal(err)
	}
}

func newEvents(changes []domain.Event) []domain.NewEvent {
	out := make([]domain.NewEvent, len(changes))
	for i, c := range changes {
		out[i] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: c, Metadata: system}
	}
	return out
}

// clients creates n clients of the env's owner, 500 streams per commit.
func (e *env) clients(n int) []uuid.UUID {
	e.t.Helper()
	ids := make([]uuid.UUID, 0, n)
	var batch []eventstore.StreamAppend
	for i := range n {
		id := uuid.Must(uuid.NewV7())
		c, err := domain.NewClient(id, e.owner, domain.ClientFields{
			Email: fmt.Sprintf("c%d-%s@example.test", i, id.String()[:8]), FullName: fmt.Sprintf("Client %d", i)})
		if err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
		batch = append(batch, eventstore.StreamAppend{Stream: domain.Stream{Type: domain.ClientStreamType, ID: id},
			Expected: eventstore.NoStream, Events: newEvents(c.Changes())})
		if len(batch) == 500 || i == n-1 {
			e.commit(batch...)
			batch = batch[:0]
		}
	}
	return ids
}

func (e *env) message(subject string) uuid.UUID {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7())
	m, err := domain.NewMessage(id, e.owner, domain.MessageFields{Subject: subject, Body: "Hello from Herald.\n"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: "message", ID: id}, Expected: eventstore.NoStream, Events: newEvents(m.Changes())})
	return id
}

// mailing creates an active mailing of the given clients.
func (e *env) mailing(clients []uuid.UUID, start, end time.Time, p domain.Periodicity, tz string) uuid.UUID {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7())
	m, err := domain.NewMailing(id, e.owner, domain.MailingFields{MessageID: e.message("Subject " + id.String()[:8]),
		ClientIDs: clients, StartAt: start, EndAt: end, Periodicity: p, Timezone: tz}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.MailingStreamType, ID: id}, Expected: eventstore.NoStream, Events: newEvents(m.Changes())})
	return id
}

func (e *env) loadMailing(id uuid.UUID) *domain.Mailing {
	e.t.Helper()
	recs, err := e.store.Load(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	evs := make([]domain.Event, len(recs))
	for i, r := range recs {
		evs[i] = r.Event
	}
	return domain.LoadMailing(evs)
}

// change applies a decision to a mailing and appends it.
func (e *env) change(id uuid.UUID, decide func(*domain.Mailing) error) {
	e.t.Helper()
	m := e.loadMailing(id)
	if err := decide(m); err != nil {
		e.t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.MailingStreamType, ID: id}, Expected: m.Version(), Events: newEvents(m.Changes())})
}

// count runs a count query.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(e.ctx, sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) runsStarted(mailingID uuid.UUID) int {
	return e.count(`SELECT count(*) FROM events WHERE type = 'run.started' AND data->>'mailing_id' = $1`, mailingID.String())
}

func (e *env) runsFinished(mailingID uuid.UUID) int {
	return e.count(`SELECT count(*) FROM events WHERE type = 'run.finished' AND data->>'mailing_id' = $1`, mailingID.String())
}

func (e *env) runsSkipped(mailingID uuid.UUID) int {
	return e.count(`SELECT count(*) FROM events WHERE type = 'run.skipped' AND data->>'mailing_id' = $1`, mailingID.String())
}

func (e *env) scheduleState(mailingID uuid.UUID) (state string, due *time.Time) {
	e.t.Helper()
	err := e.pool.QueryRow(e.ctx, `SELECT state, due_at FROM saga_schedule WHERE mailing_id = $1`, mailingID).Scan(&state, &due)
	if err != nil {
		return "", nil
	}
	return state, due
}

// waitDue waits until the mailing's schedule row says due at want.
func (e *env) waitDue(mailingID uuid.UUID, want time.Time) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, "schedule due at "+want.String(), func() bool {
		_, due := e.scheduleState(mailingID)
		return due != nil && due.Equal(want)
	})
}
