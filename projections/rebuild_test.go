package projections_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// Events of the rebuild tests, on two topics (events.rbtally, events.rbnote).
type rbAdded struct {
	Key string `json:"key"`
	N   int64  `json:"n"`
}

func (rbAdded) EventType() string { return "rbtally.added" }

type rbNoted struct {
	Key string `json:"key"`
}

func (rbNoted) EventType() string { return "rbnote.noted" }

// rbIgnored travels on a topic of the projector but is not handled by it.
type rbIgnored struct{}

func (rbIgnored) EventType() string { return "rbtally.ignored" }

func init() { domain.RegisterEvents(rbAdded{}, rbNoted{}, rbIgnored{}) }

// rbTally keeps a running total per key and a count of notes per key
// (counters across streams, so an event applied twice or lost shows; each
// topic writes its own table, as live consumption orders events per topic
// only) and a log of every event applied with how often. Its tables carry named constraints and indexes, which a rebuild
// must keep.
type rbTally struct{}

const rbSchema = `
CREATE TABLE rb_totals (
    key    text   NOT NULL,
    slot   bigint NOT NULL,
    total  bigint NOT NULL,
    events int    NOT NULL,
    CONSTRAINT rb_totals_pk PRIMARY KEY (key),
    CONSTRAINT rb_totals_slot_unique UNIQUE (slot),
    CONSTRAINT rb_totals_events_positive CHECK (events >= 0)
);
CREATE INDEX rb_totals_busy ON rb_totals (total DESC) WHERE events > 1;
CREATE TABLE rb_notes (key text PRIMARY KEY, notes int NOT NULL);
CREATE TABLE rb_log (
    event_id uuid   PRIMARY KEY,
    position bigint NOT NULL,
    applied  int    NOT NULL
);
CREATE INDEX rb_log_by_position ON rb_log (position);`

func (rbTally) Name() string         { return "rbtally" }
func (rbTally) EventTypes() []string { return []string{"rbtally.added", "rbnote.noted"} }
func (rbTally) Tables() []string     { return []string{"rb_totals", "rb_notes", "rb_log"} }

func (rbTally) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	switch ev := e.Event.(type) {
	case rbAdded:
		if _, err := tx.Exec(ctx, `
INSERT INTO rb_totals (key, slot, total, events) VALUES ($1, $2, $3, 1)
ON CONFLICT ON CONSTRAINT rb_totals_pk DO UPDATE SET total = rb_totals.total + EXCLUDED.total, events = rb_totals.events + 1`,
			ev.Key, rbSlot(ev.Key), ev.N); err != nil {
			return err
		}
	case rbNoted:
		if _, err := tx.Exec(ctx, rbNoteSQL, ev.Key); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO rb_log (event_id, position, applied) VALUES ($1, $2, 1)
ON CONFLICT (event_id) DO UPDATE SET applied = rb_log.applied + 1`, e.EventID, e.Position)
	return err
}

const rbNoteSQL = `INSERT INTO rb_notes (key, notes) VALUES ($1, 1) ON CONFLICT (key) DO UPDATE SET notes = rb_notes.notes + 1`

func rbSlot(key string) int64 {
	var h int64
	for _, c := range key {
		h = h*31 + int64(c)
	}
	return h
}

// rbBulkTally is rbTally with the optional bulk interface: the same state
// in a few statements per batch.
type rbBulkTally struct{ rbTally }

func (rbBulkTally) ApplyBatch(ctx context.Context, tx pgx.Tx, evs []domain.RecordedEvent) error {
	// Adds and notes write different tables, so each kind becomes one
	// statement, whatever the order of the events.
	var keys, noted []string
	var slots, ns []int64
	// [16]byte, as the application's projectors pass ids: a uuid.UUID goes
	// through its driver.Valuer, as text.
	ids := make([][16]byte, len(evs))
	pos := make([]int64, len(evs))
	for i, e := range evs {
		ids[i], pos[i] = e.EventID, e.Position
		switch ev := e.Event.(type) {
		case rbAdded:
			keys, slots, ns = append(keys, ev.Key), append(slots, rbSlot(ev.Key)), append(ns, ev.N)
		case rbNoted:
			noted = append(noted, ev.Key)
		}
	}
	if len(keys) > 0 {
		if _, err := tx.Exec(ctx, `
INSERT INTO rb_totals (key, slot, total, events)
SELECT key, min(slot), sum(n), count(*) FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(key, slot, n) GROUP BY key
ON CONFLICT ON CONSTRAINT rb_totals_pk DO UPDATE SET total = rb_totals.total + EXCLUDED.total, events = rb_totals.events + EXCLUDED.events`,
			keys, slots, ns); err != nil {
			return err
		}
	}
	if len(noted) > 0 {
		if _, err := tx.Exec(ctx, `
INSERT INTO rb_notes (key, notes) SELECT key, count(*) FROM unnest($1::text[]) AS u(key) GROUP BY key
ON CONFLICT (key) DO UPDATE SET notes = rb_notes.notes + EXCLUDED.notes`, noted); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO rb_log (event_id, position, applied) SELECT id, p, 1 FROM unnest($1::uuid[], $2::bigint[]) AS u(id, p)`, ids, pos)
	return err
}

type rbEnv struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
	cfg   bus.Config

	mu    sync.Mutex
	want  map[string]int64 // expected total per key
	notes map[string]int
	count int // events appended that the projector handles
}

func newRBEnv(t *testing.T) *rbEnv {
	t.Helper()
	pool := testenv.Pool(t)
	if _, err := pool.Exec(context.Background(), rbSchema); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	return &rbEnv{pool: pool, store: store, want: map[string]int64{}, notes: map[string]int{},
		cfg: bus.Config{Client: testenv.Redis(t), Prefix: testenv.Name("rb") + ".", MaxLen: 100000,
			Logger: testenv.Logger(t, zerolog.WarnLevel)}}
}

// startLive runs a relay and the projection runtime with p until the test ends.
func (env *rbEnv) startLive(t *testing.T, p projections.Projector) {
	startLive(t, env.pool, env.store, env.cfg, p)
}

// appendEvents appends n events in transactions of up to 50, spread over a
// few keys (streams), with notes and ignored events mixed in.
func (env *rbEnv) appendEvents(t testing.TB, rng *rand.Rand, n int) {
	t.Helper()
	for n > 0 {
		k := min(n, 1+rng.IntN(50))
		n -= k
		key := fmt.Sprintf("key-%02d", rng.IntN(40))
		var evs []domain.NewEvent
		for range k {
			var ev domain.Event
			switch r := rng.IntN(10); {
			case r == 0:
				ev = rbIgnored{}
			case r == 1:
				ev = rbNoted{Key: key}
			default:
				ev = rbAdded{Key: key, N: int64(1 + rng.IntN(100))}
			}
			evs = append(evs, domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: ev})
		}
		// The stream type names the topic: notes on one, the rest on the other.
		var appends []eventstore.StreamAppend
		for _, e := range evs {
			st := "rbtally"
			if _, ok := e.Event.(rbNoted); ok {
				st = "rbnote"
			}
			if len(appends) == 0 || appends[len(appends)-1].Stream.Type != st {
				appends = append(appends, eventstore.StreamAppend{Stream: domain.Stream{Type: st, ID: uuid.New()}, Expected: eventstore.Any})
			}
			appends[len(appends)-1].Events = append(appends[len(appends)-1].Events, e)
		}
		if _, err := env.store.Commit(context.Background(), eventstore.Commit{Appends: appends}); err != nil {
			t.Fatal(err)
		}
		env.mu.Lock()
		for _, e := range evs {
			switch ev := e.Event.(type) {
			case rbAdded:
				env.want[ev.Key] += ev.N
				env.count++
			case rbNoted:
				env.notes[ev.Key]++
				env.count++
			}
		}
		env.mu.Unlock()
	}
}

type rbRow struct {
	Key           string
	Slot, Total   int64
	Events, Notes int
}

func rbRows(t testing.TB, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []rbRow {
	t.Helper()
	rows, err := q.Query(context.Background(), `
SELECT key, coalesce(t.slot, 0), coalesce(t.total, 0), coalesce(t.events, 0), coalesce(n.notes, 0)
FROM rb_totals t FULL JOIN rb_notes n USING (key) ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rbRow, error) {
		var x rbRow
		err := r.Scan(&x.Key, &x.Slot, &x.Total, &x.Events, &x.Notes)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitReadable waits until every stored event can be read in commit order:
// xmin is cluster-wide, so a long transaction of another test (another
// database, same server) holds back what ReadAll returns, and a rebuild
// without a live consumer to finish the job would see only part.
func (env *rbEnv) waitReadable(t testing.TB) {
	t.Helper()
	testenv.Eventually(t, time.Minute, "no event behind a running transaction", func() bool {
		var unsafe int
		if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())`).Scan(&unsafe); err != nil {
			t.Fatal(err)
		}
		return unsafe == 0
	})
}

// waitLive waits until the live projector has applied every handled event
// appended so far, then checks none was applied twice.
func (env *rbEnv) waitLive(t *testing.T) {
	t.Helper()
	env.mu.Lock()
	want := env.count
	env.mu.Unlock()
	var got int
	testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("the live read model to apply %d events", want), func() bool {
		if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM rb_log`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got >= want
	})
	if got != want {
		t.Fatalf("live read model applied %d events, want %d", got, want)
	}
	env.checkExact(t)
}

// checkExact compares the read model with the totals computed while
// appending: any event lost or applied twice changes a total.
func (env *rbEnv) checkExact(t *testing.T) {
	t.Helper()
	var twice int
	if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM rb_log WHERE applied <> 1`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d events applied more than once", twice)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	keys := map[string]bool{}
	for k := range env.want {
		keys[k] = true
	}
	for k := range env.notes {
		keys[k] = true
	}
	rows := rbRows(t, env.pool)
	if len(rows) != len(keys) {
		t.Fatalf("%d keys in the read model, want %d", len(rows), len(keys))
	}
	for _, r := range rows {
		if r.Total != env.want[r.Key] || r.Notes != env.notes[r.Key] {
			t.Errorf("key %s: total %d notes %d, want %d and %d", r.Key, r.Total, r.Notes, env.want[r.Key], env.notes[r.Key])
		}
	}
}

// rbCatalog lists the names of indexes and constraints of the test tables.
func rbCatalog(t testing.TB, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
SELECT 'index ' || indexname || ': ' || regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ', '') FROM pg_indexes
WHERE schemaname = 'public' AND tablename IN ('rb_totals', 'rb_notes', 'rb_log')
UNION ALL
SELECT 'constraint ' || conname || ' ' || contype::text FROM pg_constraint WHERE conrelid IN ('rb_totals'::regclass, 'rb_notes'::regclass, 'rb_log'::regclass)
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRebuildEqualsLiveRowForRow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    projections.Projector
	}{{"apply", rbTally{}}, {"batch", rbBulkTally{}}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newRBEnv(t)
			env.startLive(t, rbTally{})
			env.appendEvents(t, rand.New(rand.NewPCG(1, 2)), 1500)
			env.waitLive(t)
			live := rbRows(t, env.pool)
			catalog := rbCatalog(t, env.pool)

			var progress []projections.RebuildProgress
			res, err := projections.Rebuild(context.Background(), env.pool, tc.p, projections.RebuildOptions{
				BatchSize: 400, Progress: func(p projections.RebuildProgress) { progress = append(progress, p) },
			})
			if err != nil {
				t.Fatal(err)
			}
			var stored int64
			if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if res.Events != stored || res.Applied != int64(env.count) || res.Rate() <= 0 {
				t.Errorf("result %+v: want %d events read, %d applied", res, stored, env.count)
			}
			if len(progress) < 4 || progress[len(progress)-1].Phase != "done" || progress[len(progress)-1].Done != stored {
				t.Errorf("progress reports: %+v", progress)
			}
			if got := rbRows(t, env.pool); !reflect.DeepEqual(got, live) {
				t.Errorf("rebuilt read model differs from the live one:\nlive    %v\nrebuilt %v", live, got)
			}
			env.checkExact(t)
			if got := rbCatalog(t, env.pool); !reflect.DeepEqual(got, catalog) {
				t.Errorf("indexes and constraints changed:\nbefore %q\nafter  %q", catalog, got)
			}
			var schemas int
			if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'`).Scan(&schemas); err != nil || schemas != 0 {
				t.Errorf("rebuild schemas left: %d (%v)", schemas, err)
			}
			// Checkpoints: each topic at its last event, or past it once the
			// live projector has read ahead to the store's read bound (it
			// runs on, and a quiet topic's checkpoint follows the bound).
			for _, topic := range []string{"events.rbtally", "events.rbnote"} {
				var cp, last string
				var covered bool
				if err := env.pool.QueryRow(context.Background(), `
SELECT c.tx_id::text || '/' || c.position, e.tx_id::text || '/' || e.position, (c.tx_id, c.position) >= (e.tx_id, e.position)
FROM projection_checkpoints c,
     (SELECT tx_id, position FROM events WHERE stream_type = $2 ORDER BY tx_id DESC, position DESC LIMIT 1) e
WHERE c.projector = 'rbtally' AND c.topic = $1`, topic, topic[len("events."):]).Scan(&cp, &last, &covered); err != nil {
					t.Fatalf("checkpoint %s: %v", topic, err)
				}
				if !covered {
					t.Errorf("checkpoint %s at %s, before the last event at %s", topic, cp, last)
				}
			}
			// The live projector goes on from there.
			env.appendEvents(t, rand.New(rand.NewPCG(3, 4)), 200)
			env.waitLive(t)
		})
	}
}

func TestRebuildReadersSeeOldTablesUntilSwap(t *testing.T) {
	t.Parallel()
	env := newRBEnv(t)
	env.startLive(t, rbTally{})
	env.appendEvents(t, rand.New(rand.NewPCG(5, 6)), 1500)
	env.waitLive(t)
	var logRows int64
	if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM rb_log`).Scan(&logRows); err != nil {
		t.Fatal(err)
	}

	// Readers hammer the read model through the pool (cached prepared
	// statements included) for the whole rebuild.
	ctx, cancel := context.WithCancel(context.Background())
	var reads, minRows atomic.Int64
	minRows.Store(logRows)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for ctx.Err() == nil {
				var n int64
				if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM rb_log`).Scan(&n); err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				reads.Add(1)
				for m := minRows.Load(); n < m && !minRows.CompareAndSwap(m, n); m = minRows.Load() {
				}
			}
		})
	}
	res, err := projections.Rebuild(context.Background(), env.pool, rbTally{}, projections.RebuildOptions{BatchSize: 300})
	swapped := reads.Load()
	testenv.Eventually(t, 30*time.Second, "readers to read after the swap", func() bool { return reads.Load() >= swapped+10 || len(errs) > 0 })
	cancel()
	wg.Wait()
	close(errs)
	if err != nil {
		t.Fatal(err)
	}
	for err := range errs {
		t.Errorf("a reader failed during the rebuild: %v", err)
	}
	if minRows.Load() != logRows {
		t.Errorf("a reader saw %d rows; the table always had %d", minRows.Load(), logRows)
	}
	if reads.Load() < 10 {
		t.Errorf("only %d reads during the rebuild", reads.Load())
	}
	t.Logf("rebuild %+v, %d reads meanwhile", res, reads.Load())
	env.checkExact(t)
}

func TestSecondConcurrentRebuildIsRefused(t *testing.T) {
	t.Parallel()
	env := newRBEnv(t)
	env.appendEvents(t, rand.New(rand.NewPCG(7, 8)), 1000)
	paused, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := projections.Rebuild(context.Background(), env.pool, rbTally{}, projections.RebuildOptions{
			BatchSize: 100,
			Progress: func(projections.RebuildProgress) {
				once.Do(func() { close(paused); <-resume })
			},
		})
		done <- err
	}()
	<-paused
	_, err := projections.Rebuild(context.Background(), env.pool, rbTally{}, projections.RebuildOptions{})
	if !errors.Is(err, projections.ErrRebuildRunning) {
		t.Errorf("second rebuild: %v, want ErrRebuildRunning", err)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("first rebuild: %v", err)
	}
	// Once the first is done, a rebuild runs again.
	if _, err := projections.Rebuild(context.Background(), env.pool, rbTally{}, projections.RebuildOptions{}); err != nil {
		t.Fatalf("later rebuild: %v", err)
	}
	env.checkExact(t)
}

func TestLiveRuntimeKeepsGoingThroughTheSwap(t *testing.T) {
	t.Parallel()
	env := newRBEnv(t)
	env.startLive(t, rbTally{})
	env.appendEvents(t, rand.New(rand.NewPCG(9, 10)), 1500)
	var before int64
	if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&before); err != nil {
		t.Fatal(err)
	}

	// Writers append all through the rebuild (and its swap), so the live
	// consumer is applying to the old tables while the rebuild copies, and
	// blocks on the swap.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for ctx.Err() == nil {
				env.appendEvents(t, rng, 5)
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	for i := range 2 {
		res, err := projections.Rebuild(context.Background(), env.pool, rbBulkTally{}, projections.RebuildOptions{BatchSize: 100})
		if err != nil {
			cancel()
			wg.Wait()
			t.Fatalf("rebuild %d: %v", i, err)
		}
		t.Logf("rebuild %d: %+v", i, res)
		if res.Events < before {
			t.Errorf("rebuild %d read %d events; %d were committed before it started", i, res.Events, before)
		}
	}
	env.mu.Lock()
	swapped := env.count
	env.mu.Unlock()
	testenv.Eventually(t, 30*time.Second, "appends after the swap", func() bool {
		env.mu.Lock()
		defer env.mu.Unlock()
		return env.count >= swapped+20
	})
	cancel()
	wg.Wait()
	env.waitLive(t)
}

func TestRebuildSkipsParkedEvents(t *testing.T) {
	t.Parallel()
	env := newRBEnv(t)
	env.appendEvents(t, rand.New(rand.NewPCG(12, 13)), 300)
	// Park one handled event, as the live runtime does with a poison event.
	var id uuid.UUID
	var pos int64
	if err := env.pool.QueryRow(context.Background(), `SELECT event_id, position FROM events WHERE type = 'rbtally.added' ORDER BY position LIMIT 1 OFFSET 10`).Scan(&id, &pos); err != nil {
		t.Fatal(err)
	}
	if _, err := env.pool.Exec(context.Background(), `INSERT INTO projection_parked (projector, event_id, position, type, error, attempts) VALUES ('rbtally', $1, $2, 'rbtally.added', 'boom', 8)`, id, pos); err != nil {
		t.Fatal(err)
	}
	res, err := projections.Rebuild(context.Background(), env.pool, rbTally{}, projections.RebuildOptions{BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != int64(env.count-1) {
		t.Errorf("applied %d, want %d (all but the parked one)", res.Applied, env.count-1)
	}
	var n int
	if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM rb_log WHERE event_id = $1`, id).Scan(&n); err != nil || n != 0 {
		t.Errorf("parked event applied by the rebuild (%d, %v)", n, err)
	}
}
