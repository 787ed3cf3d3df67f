package projections_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

type pinged struct {
	Text string `json:"text"`
}

func (pinged) EventType() string { return "ping.pinged" }

func init() { domain.RegisterEvents(pinged{}) }

// pingProjector counts how often each event was applied: the pipeline must
// apply every event exactly once.
type pingProjector struct {
	failFor string // Apply fails for events with this text
}

func (*pingProjector) Name() string         { return "pings" }
func (*pingProjector) EventTypes() []string { return []string{"ping.pinged"} }
func (*pingProjector) Tables() []string     { return []string{"test_pings"} }
func (p *pingProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	ev := e.Event.(pinged)
	if p.failFor != "" && ev.Text == p.failFor {
		return errors.New("cannot apply this one")
	}
	_, err := tx.Exec(ctx, `INSERT INTO test_pings (event_id, text, applied) VALUES ($1, $2, 1)
ON CONFLICT (event_id) DO UPDATE SET applied = test_pings.applied + 1`, e.EventID, ev.Text)
	return err
}

type pipeline struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
	cfg   bus.Config
}

func newPipeline(t testing.TB, redisClient *redis.Client) *pipeline {
	t.Helper()
	pool := testenv.Pool(t)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE test_pings (event_id uuid PRIMARY KEY, text text, applied int)`); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline{pool: pool, store: store, cfg: bus.Config{
		Client: redisClient, Prefix: testenv.Name("t") + ".", MaxLen: 10000, Logger: testenv.Logger(t, zerolog.WarnLevel),
	}}
}

// start runs a relay and the runtime until the returned stop is called.
func (p *pipeline) start(t testing.TB, proj projections.Projector) (stop func()) {
	return startLive(t, p.pool, p.store, p.cfg, proj)
}

// startLive runs a relay and the projection runtime with proj (retrying a
// failing event briefly, so poison events park fast) until the returned
// stop is called or t ends.
func startLive(t testing.TB, pool *pgxpool.Pool, store *eventstore.Store, cfg bus.Config, proj projections.Projector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pub, err := bus.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := eventstore.NewRelay(store, pub, cfg, cfg.Logger)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := projections.NewRuntime(pool, cfg, cfg.Logger, proj)
	if err != nil {
		t.Fatal(err)
	}
	rt.WithRetry(projections.RetryPolicy{Attempts: 3, Base: 10 * time.Millisecond, Max: 50 * time.Millisecond})
	var wg sync.WaitGroup
	wg.Go(func() { _ = relay.Run(ctx) })
	wg.Go(func() { _ = rt.Run(ctx) })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			_ = pub.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

func (p *pipeline) appendPings(t *testing.T, texts ...string) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for _, text := range texts {
		id := uuid.Must(uuid.NewV7())
		ids = append(ids, id)
		if _, err := p.store.Append(context.Background(), domain.Stream{Type: "ping", ID: uuid.New()}, eventstore.NoStream,
			domain.NewEvent{ID: id, Event: pinged{Text: text}}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// waitApplied waits until n events are in the read model and checks each
// was applied exactly once.
func (p *pipeline) waitApplied(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got int
	for time.Now().Before(deadline) {
		if err := p.pool.QueryRow(context.Background(), `SELECT count(*) FROM test_pings`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != n {
		t.Fatalf("read model has %d events, want %d", got, n)
	}
	var twice int
	if err := p.pool.QueryRow(context.Background(), `SELECT count(*) FROM test_pings WHERE applied <> 1`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Fatalf("%d events applied more than once", twice)
	}
}

func TestPipelineAppliesEveryEventOnce(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	p.start(t, &pingProjector{})
	p.appendPings(t, strings.Split(strings.Repeat("x,", 200), ",")[:200]...)
	p.waitApplied(t, 200)

	w := projections.NewWaiter(p.pool, p.cfg.Prefix, &pingProjector{})
	ids := p.appendPings(t, "last")
	var pos int64
	if err := p.pool.QueryRow(context.Background(), `SELECT position FROM events WHERE event_id = $1`, ids[0]).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.WaitFor(ctx, []string{"pings"}, pos); err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	var text string
	if err := p.pool.QueryRow(context.Background(), `SELECT text FROM test_pings WHERE event_id = $1`, ids[0]).Scan(&text); err != nil || text != "last" {
		t.Fatalf("after WaitFor the event is not in the read model: %q %v", text, err)
	}
}

func TestPipelineRestartRedeliversNothingTwice(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	stop := p.start(t, &pingProjector{})
	p.appendPings(t, "a", "b", "c")
	p.waitApplied(t, 3)
	stop()
	// Reset the relay checkpoint: it publishes everything again, as after a
	// crash between publishing and checkpointing.
	if _, err := p.pool.Exec(context.Background(), `DELETE FROM store_checkpoints`); err != nil {
		t.Fatal(err)
	}
	p.appendPings(t, "d")
	p.start(t, &pingProjector{})
	p.waitApplied(t, 4)
}

func TestPipelineSurvivesRedisOutage(t *testing.T) {
	t.Parallel()
	r := testenv.StartPrivateRedis(t)
	client := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(r.URL(), "redis://"), "/0"),
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second, MaxRetries: 1})
	t.Cleanup(func() { _ = client.Close() })
	p := newPipeline(t, client)
	p.start(t, &pingProjector{})
	p.appendPings(t, "before-1", "before-2")
	p.waitApplied(t, 2)

	r.Stop()
	// Commands still append while Redis is down.
	p.appendPings(t, "during-1", "during-2", "during-3")
	time.Sleep(300 * time.Millisecond) // let the relay fail to publish at least once
	r.Start()                          // a fresh, empty Redis: streams and groups are gone
	p.appendPings(t, "after")
	p.waitApplied(t, 6)
}

func TestPoisonEventIsParkedAndTheStreamMovesOn(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	p.start(t, &pingProjector{failFor: "poison"})
	ids := p.appendPings(t, "ok-1", "poison", "ok-2")
	p.waitApplied(t, 2)
	var parked uuid.UUID
	var reason string
	if err := p.pool.QueryRow(context.Background(), `SELECT event_id, error FROM projection_parked WHERE projector = 'pings'`).Scan(&parked, &reason); err != nil {
		t.Fatalf("parked row: %v", err)
	}
	if parked != ids[1] || !strings.Contains(reason, "cannot apply") {
		t.Fatalf("parked %s (%q), want %s", parked, reason, ids[1])
	}
}

func TestWaiterReportsLag(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	ids := p.appendPings(t, "nobody consumes this")
	var pos int64
	if err := p.pool.QueryRow(context.Background(), `SELECT position FROM events WHERE event_id = $1`, ids[0]).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	w := projections.NewWaiter(p.pool, p.cfg.Prefix, &pingProjector{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := w.WaitFor(ctx, []string{"pings"}, pos); !errors.Is(err, projections.ErrLagging) {
		t.Fatalf("err = %v, want ErrLagging", err)
	}
	if err := w.WaitFor(context.Background(), []string{"nope"}, pos); err == nil {
		t.Fatal("unknown projector accepted")
	}
}

func TestOnlyOneRelayLeads(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	cfg := pool.Config().ConnConfig
	var mu sync.Mutex
	leading := 0
	maxLeading := 0
	run := func(ctx context.Context) {
		_ = eventstore.RunExclusive(ctx, cfg, "test-leader", 20*time.Millisecond, func(ctx context.Context) error {
			mu.Lock()
			leading++
			maxLeading = max(maxLeading, leading)
			mu.Unlock()
			<-ctx.Done()
			mu.Lock()
			leading--
			mu.Unlock()
			return nil
		})
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	done1 := make(chan struct{})
	go func() { run(ctx1); close(done1) }()
	time.Sleep(100 * time.Millisecond)
	go run(ctx2)
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	if leading != 1 {
		mu.Unlock()
		t.Fatalf("%d leaders, want 1", leading)
	}
	mu.Unlock()
	cancel1() // the first dies; the second must take over
	<-done1
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		l := leading
		mu.Unlock()
		if l == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second process never took over")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if maxLeading != 1 {
		t.Fatalf("at one point %d processes led at once", maxLeading)
	}
}

// A second relay waits while the first leads and takes over when it dies;
// nothing is lost or applied twice across the handover.
func TestRelayFailover(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	p.start(t, &pingProjector{}) // relay A and the projector
	pub, err := bus.NewPublisher(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	relayB, err := eventstore.NewRelay(p.store, pub, p.cfg, p.cfg.Logger)
	if err != nil {
		t.Fatal(err)
	}
	ctxB, cancelB := context.WithCancel(context.Background())
	doneB := make(chan struct{})
	go func() { defer close(doneB); _ = relayB.Run(ctxB) }()
	t.Cleanup(func() { cancelB(); <-doneB })

	p.appendPings(t, "a1", "a2", "a3")
	p.waitApplied(t, 3)
	// Kill relay A's leadership by terminating its lock connection, as if
	// its process died.
	var killed int
	if err := p.pool.QueryRow(context.Background(), `
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND objid = ($1::bigint & x'FFFFFFFF'::bigint)`, eventstore.LockKey("relay:"+p.cfg.Prefix)).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d lock holders, want the one leading relay", killed)
	}
	p.appendPings(t, "b1", "b2", "b3", "b4")
	p.waitApplied(t, 7)
}

// TestRuntimeReadsAheadFromTheStore: a message is a wake-up; the applier
// takes from the store everything the topic holds past its checkpoint, so
// events whose messages have not arrived (here: never will, no relay runs)
// are applied with the first one, in one pass over up to maxBatch events
// per transaction.
func TestRuntimeReadsAheadFromTheStore(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	ctx := startRuntimeOnly(t, p, &pingProjector{})
	pub, err := bus.NewPublisher(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// wake publishes the message of event id. The store is read the way
	// the relay reads it, which holds back for a moment while another
	// transaction of the server runs (parallel tests hold some).
	wake := func(id uuid.UUID) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			evs, err := eventstore.ReadAllFrom(ctx, p.pool, eventstore.Cursor{}, 10_000, false)
			if err != nil {
				t.Fatal(err)
			}
			var prev eventstore.Cursor
			for _, e := range evs {
				if e.EventID == id {
					m, err := bus.EventMessage(e, bus.Cursor(prev))
					if err != nil {
						t.Fatal(err)
					}
					if err := pub.Publish(p.cfg.Topic("events.ping"), m); err != nil {
						t.Fatal(err)
					}
					return
				}
				prev = eventstore.CursorOf(e)
			}
		}
		t.Fatalf("event %s not in the store", id)
	}

	// The runtime has caught up (nothing) and consumes once "first" lands.
	first := p.appendPings(t, "first")
	wake(first[0])
	p.waitApplied(t, 1)

	// 1,200 more events, one message, for the first of them.
	texts := strings.Split(strings.Repeat("x,", 1200), ",")[:1200]
	ids := p.appendPings(t, texts...)
	wake(ids[0])
	p.waitApplied(t, 1201)
}

// batchPingProjector is pingProjector with ApplyBatch: the runtime hands it
// the events it reads ahead in one call.
type batchPingProjector struct {
	pingProjector
	batches *atomic.Int64
}

func (p *batchPingProjector) ApplyBatch(ctx context.Context, tx pgx.Tx, evs []domain.RecordedEvent) error {
	p.batches.Add(1)
	ids := make([]uuid.UUID, len(evs))
	texts := make([]string, len(evs))
	for i, e := range evs {
		ids[i], texts[i] = e.EventID, e.Event.(pinged).Text
		if p.failFor != "" && texts[i] == p.failFor {
			return errors.New("cannot apply this batch")
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO test_pings (event_id, text, applied) SELECT id, text, 1 FROM unnest($1::uuid[], $2::text[]) AS u(id, text)
ON CONFLICT (event_id) DO UPDATE SET applied = test_pings.applied + 1`, ids, texts)
	return err
}

// A projector with ApplyBatch gets what the runtime reads ahead in one call;
// when a batch fails, the events are applied one by one and only the
// poison one is parked.
func TestRuntimeHandsReadAheadToApplyBatch(t *testing.T) {
	t.Parallel()
	for _, poison := range []bool{false, true} {
		t.Run(map[bool]string{false: "clean", true: "poison"}[poison], func(t *testing.T) {
			t.Parallel()
			p := newPipeline(t, testenv.Redis(t))
			texts := strings.Split(strings.Repeat("x,", 300), ",")[:300]
			if poison {
				texts[150] = "poison"
			}
			ids := p.appendPings(t, texts...) // stored before the runtime starts: read ahead at catch-up
			batches := &atomic.Int64{}
			proj := &batchPingProjector{batches: batches}
			if poison {
				proj.failFor = "poison"
			}
			p.start(t, proj)
			if !poison {
				p.waitApplied(t, 300)
				if batches.Load() == 0 {
					t.Fatal("ApplyBatch was never called")
				}
				return
			}
			p.waitApplied(t, 299)
			var parked uuid.UUID
			if err := p.pool.QueryRow(context.Background(), `SELECT event_id FROM projection_parked WHERE projector = 'pings'`).Scan(&parked); err != nil {
				t.Fatalf("parked row: %v", err)
			}
			if parked != ids[150] {
				t.Fatalf("parked %s, want %s", parked, ids[150])
			}
		})
	}
}

// With no message at all (no relay runs here, as when the bus is wedged or
// lost a message mid-acknowledgement), the projector still reads the store
// after a second of silence, and keeps the read model complete.
func TestRuntimeReadsTheStoreWhenTheBusIsSilent(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	startRuntimeOnly(t, p, &pingProjector{})
	time.Sleep(200 * time.Millisecond) // caught up (nothing), consuming
	p.appendPings(t, "a", "b", "c")
	p.waitApplied(t, 3)
	// Polls that keep finding events restart the subscription (after three
	// of them); the events that follow are applied all the same.
	for i := range 4 {
		p.appendPings(t, fmt.Sprintf("later-%d", i))
		time.Sleep(1200 * time.Millisecond)
	}
	p.waitApplied(t, 7)
}

// startRuntimeOnly runs the projection runtime with proj and no relay (no
// message is ever published unless the test does) until t ends; it returns
// the context the runtime runs under.
func startRuntimeOnly(t *testing.T, p *pipeline, proj projections.Projector) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := projections.NewRuntime(p.pool, p.cfg, p.cfg.Logger, proj)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = rt.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ctx
}

// A quiet topic's checkpoint follows the store's read bound: its polls must
// not read again, every second, all the other topics' events written since
// its last own event. Its next event is applied all the same.
func TestQuietTopicCheckpointMovesPastOtherTopics(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	startRuntimeOnly(t, p, &pingProjector{})
	p.appendPings(t, "a")
	p.waitApplied(t, 1)
	ctx := context.Background()
	for range 20 {
		if _, err := p.store.Append(ctx, domain.Stream{Type: "timing", ID: uuid.New()}, eventstore.NoStream,
			domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: timed{SentNanos: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	var last eventstore.Cursor
	var lastTx string
	if err := p.pool.QueryRow(ctx, `SELECT tx_id::text, position FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`).
		Scan(&lastTx, &last.Position); err != nil {
		t.Fatal(err)
	}
	last.TxID, _ = strconv.ParseUint(lastTx, 10, 64)
	// The silence poll (1 s) reads the ping topic, finds nothing new, and
	// moves the checkpoint past the other events.
	deadline := time.Now().Add(5 * time.Second)
	var tx string
	var pos int64
	for {
		if err := p.pool.QueryRow(ctx, `SELECT tx_id::text, position FROM projection_checkpoints WHERE projector = 'pings' AND topic = 'events.ping'`).
			Scan(&tx, &pos); err != nil {
			t.Fatal(err)
		}
		txID, _ := strconv.ParseUint(tx, 10, 64)
		if last.Less(eventstore.Cursor{TxID: txID, Position: pos}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ping topic's checkpoint (%s, %d) stayed behind the other topic's last event %+v", tx, pos, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.appendPings(t, "b")
	p.waitApplied(t, 2)
}
