package projections_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	count := func(where string) int {
		var got int
		if err := p.pool.QueryRow(context.Background(), `SELECT count(*) FROM test_pings`+where).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("%d events in the read model", n), func() bool { return count("") >= n })
	if got := count(""); got != n {
		t.Fatalf("read model has %d events, want %d", got, n)
	}
	if twice := count(" WHERE applied <> 1"); twice != 0 {
		t.Fatalf("%d events applied more than once", twice)
	}
}

// pingTopic is the Redis stream the relay publishes ping events to.
func (p *pipeline) pingTopic() string { return p.cfg.Topic(eventstore.TopicOfStream("ping")) }

// relayed counts the messages of each event on the ping topic's Redis
// stream: what the relays published. A projector reads the store when the
// bus is silent, so a complete read model does not show the relay did its
// part; the stream does.
func (p *pipeline) relayed() (map[uuid.UUID]int, error) {
	entries, err := p.cfg.Client.XRange(context.Background(), p.pingTopic(), "-", "+").Result()
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID]int{}
	for _, e := range entries {
		id, err := uuid.Parse(fmt.Sprint(e.Values[redisstream.UUIDHeaderKey]))
		if err != nil {
			return nil, fmt.Errorf("message %s: %w", e.ID, err)
		}
		out[id]++
	}
	return out, nil
}

// waitRelayed waits until the ping topic holds at least times messages of
// each of ids.
func (p *pipeline) waitRelayed(t *testing.T, times int, ids ...uuid.UUID) {
	t.Helper()
	what := fmt.Sprintf("%d events on the bus", len(ids))
	if times > 1 {
		what += fmt.Sprintf(", %d copies of each", times)
	}
	testenv.Eventually(t, 30*time.Second, what, func() bool {
		got, err := p.relayed()
		if err != nil {
			t.Logf("read the ping topic: %v", err)
			return false
		}
		for _, id := range ids {
			if got[id] < times {
				return false
			}
		}
		return true
	})
}

// waitConsumed waits until projector's consumer group has read and
// acknowledged everything on the ping topic.
func (p *pipeline) waitConsumed(t *testing.T, projector string) {
	t.Helper()
	ctx, group := context.Background(), p.cfg.Prefix+"projector."+projector
	testenv.Eventually(t, 30*time.Second, "the projector to read the whole topic", func() bool {
		stream, err := p.cfg.Client.XInfoStream(ctx, p.pingTopic()).Result()
		if err != nil {
			t.Fatal(err)
		}
		groups, err := p.cfg.Client.XInfoGroups(ctx, p.pingTopic()).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			if g.Name == group {
				return g.Pending == 0 && g.LastDeliveredID == stream.LastGeneratedID
			}
		}
		return false
	})
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
	first := p.appendPings(t, "a", "b", "c")
	p.waitRelayed(t, 1, first...)
	p.waitApplied(t, 3)
	stop()
	// Reset the relay checkpoint: it publishes everything again, as after a
	// crash between publishing and checkpointing.
	if _, err := p.pool.Exec(context.Background(), `DELETE FROM store_checkpoints`); err != nil {
		t.Fatal(err)
	}
	later := p.appendPings(t, "d")
	p.start(t, &pingProjector{})
	p.waitRelayed(t, 2, first...)
	p.waitRelayed(t, 1, later...)
	p.waitConsumed(t, "pings")
	// The projector has taken the copies off the bus; an event published
	// after them is applied after them, so the count below sees what the
	// copies did.
	last := p.appendPings(t, "e")
	p.waitRelayed(t, 1, last...)
	p.waitApplied(t, 5)
}

func TestPipelineSurvivesRedisOutage(t *testing.T) {
	t.Parallel()
	r := testenv.StartPrivateRedis(t)
	client := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(r.URL(), "redis://"), "/0"),
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second, MaxRetries: 1})
	t.Cleanup(func() { _ = client.Close() })
	p := newPipeline(t, client)
	var publishFailed atomic.Int64
	p.cfg.Logger = p.cfg.Logger.Hook(zerolog.HookFunc(func(_ *zerolog.Event, _ zerolog.Level, msg string) {
		if strings.Contains(msg, "publish failed") {
			publishFailed.Add(1)
		}
	}))
	p.start(t, &pingProjector{})
	before := p.appendPings(t, "before-1", "before-2")
	p.waitRelayed(t, 1, before...)
	p.waitApplied(t, 2)

	r.Stop()
	// Commands still append while Redis is down.
	during := p.appendPings(t, "during-1", "during-2", "during-3")
	testenv.Eventually(t, 30*time.Second, "the relay to fail to publish", func() bool { return publishFailed.Load() > 0 })
	r.Start() // a fresh, empty Redis: streams and groups are gone
	after := p.appendPings(t, "after")
	// What the relay could not publish, it publishes to the new Redis.
	p.waitRelayed(t, 1, append(during, after...)...)
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

// A wait is woken by the checkpoints' notifications, not by polling: with
// the safety recheck off, it still ends as soon as the projector applies
// the position. A position past the store's last event fails at once.
func TestWaiterWokenByCheckpoints(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	ids := p.appendPings(t, "waited for")
	var pos int64
	if err := p.pool.QueryRow(context.Background(), `SELECT position FROM events WHERE event_id = $1`, ids[0]).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	w := projections.NewWaiter(p.pool, p.cfg.Prefix, &pingProjector{})
	projections.SetRecheck(w, time.Hour)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.WaitFor(ctx, []string{"pings"}, pos+1_000_000); !errors.Is(err, projections.ErrPositionAhead) {
		t.Fatalf("a position past the store: err = %v, want ErrPositionAhead", err)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		done <- w.WaitFor(ctx, []string{"pings"}, pos)
	}()
	p.start(t, &pingProjector{})
	if err := <-done; err != nil {
		t.Fatalf("the wait was not woken when the projector applied the position: %v", err)
	}
}

func TestOnlyOneRelayLeads(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	var mu sync.Mutex
	leaders := map[int]bool{}
	maxLeading := 0
	leads := func(id int) bool {
		mu.Lock()
		defer mu.Unlock()
		return leaders[id]
	}
	run := func(ctx context.Context, id int, cfg *pgx.ConnConfig) {
		_ = eventstore.RunExclusive(ctx, cfg, "test-leader", 20*time.Millisecond, func(ctx context.Context) error {
			mu.Lock()
			leaders[id] = true
			maxLeading = max(maxLeading, len(leaders))
			mu.Unlock()
			<-ctx.Done()
			mu.Lock()
			delete(leaders, id)
			mu.Unlock()
			return nil
		})
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	done1, done2 := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { cancel1(); cancel2(); <-done1; <-done2 })
	go func() { defer close(done1); run(ctx1, 1, pool.Config().ConnConfig) }()
	testenv.Eventually(t, 30*time.Second, "the first process to lead", func() bool { return leads(1) })

	// Every try for the lock is a connection of its own: once the second
	// process has tried a few times, it has been refused a few times.
	var tries atomic.Int64
	cfg2 := pool.Config().ConnConfig.Copy()
	cfg2.AfterConnect = func(context.Context, *pgconn.PgConn) error { tries.Add(1); return nil }
	go func() { defer close(done2); run(ctx2, 2, cfg2) }()
	testenv.Eventually(t, 30*time.Second, "the second process to try for the lock", func() bool { return tries.Load() >= 3 })
	if leads(2) {
		t.Fatal("the second process leads while the first does")
	}
	cancel1() // the first dies; the second must take over
	<-done1
	testenv.Eventually(t, 30*time.Second, "the second process to take over", func() bool { return leads(2) })
	mu.Lock()
	defer mu.Unlock()
	if maxLeading != 1 {
		t.Fatalf("at one point %d processes led at once", maxLeading)
	}
}

// countingPublisher is a relay's bus publisher that keeps count of the
// messages that went through it, by event id.
type countingPublisher struct {
	message.Publisher
	mu  sync.Mutex
	ids map[string]int
}

func (c *countingPublisher) Publish(topic string, msgs ...*message.Message) error {
	err := c.Publisher.Publish(topic, msgs...)
	if err == nil {
		c.mu.Lock()
		for _, m := range msgs {
			c.ids[m.UUID]++
		}
		c.mu.Unlock()
	}
	return err
}

// published returns how many of ids went through c.
func (c *countingPublisher) published(ids ...uuid.UUID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, id := range ids {
		if c.ids[id.String()] > 0 {
			n++
		}
	}
	return n
}

// startRelay runs a relay until the returned stop is called or t ends.
func (p *pipeline) startRelay(t *testing.T) (*countingPublisher, func()) {
	t.Helper()
	pub, err := bus.NewPublisher(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingPublisher{Publisher: pub, ids: map[string]int{}}
	relay, err := eventstore.NewRelay(p.store, counted, p.cfg, p.cfg.Logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = relay.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return counted, stop
}

// A second relay waits while the first leads and takes over when it dies;
// nothing is lost or applied twice across the handover.
func TestRelayFailover(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	startRuntimeOnly(t, p, &pingProjector{})
	pubA, stopA := p.startRelay(t)
	pubB, stopB := p.startRelay(t)

	first := p.appendPings(t, "a1", "a2", "a3")
	p.waitRelayed(t, 1, first...)
	p.waitApplied(t, 3)
	leader, follower, stopLeader := pubA, pubB, stopA
	if pubA.published(first...) == 0 {
		leader, follower, stopLeader = pubB, pubA, stopB
	}
	if leader.published(first...) != 3 || follower.published(first...) != 0 {
		t.Fatalf("the relays published %d and %d of 3 events; the leader alone publishes",
			leader.published(first...), follower.published(first...))
	}
	// The leader dies: its lock connection ends and it does nothing more.
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
	stopLeader()
	later := p.appendPings(t, "b1", "b2", "b3", "b4")
	p.waitRelayed(t, 1, later...)
	if n := follower.published(later...); n != len(later) {
		t.Fatalf("the relay that took over published %d of %d events", n, len(later))
	}
	p.waitApplied(t, 7)
}

// TestRuntimeReadsAheadFromTheStore: a message is a wake-up; the applier
// takes from the store everything the topic holds past its checkpoint, so
// events whose messages have not arrived (here: never will, no relay runs)
// are applied with the first one, in one pass over up to maxBatch events
// per transaction. The runtime's own read of the store after a silence of
// the bus is put an hour away, and the projector has caught up before the
// events are written: only the one message can bring them in.
func TestRuntimeReadsAheadFromTheStore(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	ctx := startRuntimeOnly(t, p, &pingProjector{}, func(rt *projections.Runtime) { rt.WithSilence(time.Hour) })
	p.waitSubscribed(t, "pings")
	pub, err := bus.NewPublisher(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// wake publishes the message of event id once every stored event lies
	// below the oldest transaction running on the server: the read-ahead's
	// bound, whichever session takes it, is then past them all (another
	// test's transaction would otherwise hold some back for a later look).
	wake := func(id uuid.UUID) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, "the server's oldest transaction to pass the events", func() bool {
			var past bool
			if err := p.pool.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot()) > max(tx_id) FROM events`).Scan(&past); err != nil {
				t.Fatal(err)
			}
			return past
		})
		evs, err := eventstore.ReadAllFrom(ctx, p.pool, eventstore.Cursor{}, 10_000, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.EventID == id {
				if err := pub.Publish(p.pingTopic(), bus.EventMessage(e)); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatalf("event %s not read from the store", id)
	}

	// The runtime has caught up (nothing) and applies "first" on its message.
	first := p.appendPings(t, "first")
	wake(first[0])
	p.waitApplied(t, 1)

	// 1,200 more events, one message, for the first of them.
	texts := strings.Split(strings.Repeat("x,", 1200), ",")[:1200]
	ids := p.appendPings(t, texts...)
	wake(ids[0])
	p.waitApplied(t, 1201)
}

// A message past the read-ahead (its event committed after the
// transaction took the store's read bound) is applied from the store,
// together with the events before it that no message named, each once.
func TestDeliveredEventsPastTheReadAheadComeFromTheStoreWithTheirGaps(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, testenv.Redis(t))
	ctx := context.Background()
	ids := p.appendPings(t, "a", "b", "c", "d", "e")
	at := map[uuid.UUID]eventstore.Cursor{}
	rows, err := p.pool.Query(ctx, `SELECT event_id, tx_id::text::bigint, position FROM events WHERE event_id = ANY($1)`, ids)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		var c eventstore.Cursor
		if err := rows.Scan(&id, &c.TxID, &c.Position); err != nil {
			t.Fatal(err)
		}
		at[id] = c
	}
	if err := rows.Err(); err != nil || len(at) != len(ids) {
		t.Fatalf("cursors of %d events, want %d: %v", len(at), len(ids), err)
	}
	topic := eventstore.TopicOfStream("ping")
	// "a" is applied (the checkpoint); messages come for a again, c and e.
	cp, err := projections.ApplyLate(ctx, p.pool, &pingProjector{}, topic, at[ids[0]], at[ids[0]], at[ids[2]], at[ids[4]])
	if err != nil {
		t.Fatal(err)
	}
	if cp != at[ids[4]] {
		t.Fatalf("checkpoint %+v, want e's %+v", cp, at[ids[4]])
	}
	// e's message again changes nothing.
	if cp, err = projections.ApplyLate(ctx, p.pool, &pingProjector{}, topic, cp, at[ids[4]]); err != nil || cp != at[ids[4]] {
		t.Fatalf("redelivered e: checkpoint %+v, %v", cp, err)
	}
	rows, err = p.pool.Query(ctx, `SELECT text, applied FROM test_pings ORDER BY text`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var text string
		var applied int
		err := r.Scan(&text, &applied)
		return fmt.Sprintf("%s×%d", text, applied), err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b×1", "c×1", "d×1", "e×1"}; !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
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
	p.waitSubscribed(t, "pings") // past its catch-up: only a poll finds what follows
	p.appendPings(t, "a", "b", "c")
	p.waitApplied(t, 3)
	// Polls that keep finding events restart the subscription (after three
	// of them); the events that follow are applied all the same.
	for i := range 4 {
		p.appendPings(t, fmt.Sprintf("later-%d", i))
		p.waitApplied(t, 4+i)
	}
}

// waitSubscribed waits until projector's consumer group is on the ping
// topic: the projector has caught up from the store and consumes.
func (p *pipeline) waitSubscribed(t *testing.T, projector string) {
	t.Helper()
	group := p.cfg.Prefix + "projector." + projector
	testenv.Eventually(t, 30*time.Second, "the projector to subscribe", func() bool {
		groups, err := p.cfg.Client.XInfoGroups(context.Background(), p.pingTopic()).Result()
		return err == nil && slices.ContainsFunc(groups, func(g redis.XInfoGroup) bool { return g.Name == group })
	})
}

// startRuntimeOnly runs the projection runtime with proj, adjusted by tune,
// and no relay (no message is ever published unless the test does) until t
// ends; it returns the context the runtime runs under.
func startRuntimeOnly(t *testing.T, p *pipeline, proj projections.Projector, tune ...func(*projections.Runtime)) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := projections.NewRuntime(p.pool, p.cfg, p.cfg.Logger, proj)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tune {
		f(rt)
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
	var err error
	if last.TxID, err = strconv.ParseUint(lastTx, 10, 64); err != nil {
		t.Fatal(err)
	}
	// The silence poll (1 s) reads the ping topic, finds nothing new, and
	// moves the checkpoint past the other events.
	testenv.Eventually(t, 30*time.Second, "the ping topic's checkpoint to move past the other topic's events", func() bool {
		var tx string
		var cp eventstore.Cursor
		if err := p.pool.QueryRow(ctx, `SELECT tx_id::text, position FROM projection_checkpoints WHERE projector = 'pings' AND topic = 'events.ping'`).
			Scan(&tx, &cp.Position); err != nil {
			t.Fatal(err)
		}
		if cp.TxID, err = strconv.ParseUint(tx, 10, 64); err != nil {
			t.Fatal(err)
		}
		return last.Less(cp)
	})
	p.appendPings(t, "b")
	p.waitApplied(t, 2)
}
