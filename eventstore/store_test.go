package eventstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

type noteTaken struct {
	Text string `json:"text"`
}

func (noteTaken) EventType() string { return "test.note_taken" }

func init() { domain.RegisterEvents(noteTaken{}) }

func note(text string) domain.NewEvent {
	return domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: noteTaken{Text: text}, Metadata: domain.Metadata{ActorID: uuid.New(), Command: "TakeNote"}}
}

func newStore(t *testing.T) *eventstore.Store {
	t.Helper()
	s, err := eventstore.New(testenv.Pool(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// load returns the events of stream id.
func load(t *testing.T, s *eventstore.Store, id uuid.UUID) []domain.RecordedEvent {
	t.Helper()
	evs, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func stream() domain.Stream { return domain.Stream{Type: "note", ID: uuid.New()} }

func TestAppendAndLoad(t *testing.T) {
	t.Parallel()
	s, ctx, st := newStore(t), context.Background(), stream()
	first := note("a")
	res, err := s.Append(ctx, st, eventstore.NoStream, first, note("b"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 {
		t.Fatalf("version = %d, want 2", res.Version)
	}
	evs, err := s.Load(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("loaded %d events, want 2", len(evs))
	}
	if got := evs[0].Event.(noteTaken).Text; got != "a" || evs[0].Version != 1 || evs[1].Version != 2 {
		t.Fatalf("loaded %+v", evs)
	}
	if evs[0].EventID != first.ID || evs[0].Metadata.Command != "TakeNote" || evs[0].Metadata.ActorID != first.Metadata.ActorID {
		t.Fatalf("metadata not kept: %+v", evs[0])
	}
	if evs[1].Position != res.LastPosition {
		t.Fatalf("last position %d, result said %d", evs[1].Position, res.LastPosition)
	}
}

func TestOptimisticConflict(t *testing.T) {
	t.Parallel()
	s, ctx, st := newStore(t), context.Background(), stream()
	if _, err := s.Append(ctx, st, eventstore.NoStream, note("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, st, eventstore.NoStream, note("b")); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("NoStream on existing stream: err = %v", err)
	}
	if _, err := s.Append(ctx, st, 3, note("c")); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("expected 3 on version 1 (a gap): err = %v", err)
	}
	if _, err := s.Append(ctx, st, 0, note("c")); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("expected 0 on version 1: err = %v", err)
	}
	if res, err := s.Append(ctx, st, 1, note("d")); err != nil || res.Version != 2 {
		t.Fatalf("exact version: %+v %v", res, err)
	}
	if res, err := s.Append(ctx, st, eventstore.Any, note("e")); err != nil || res.Version != 3 {
		t.Fatalf("any: %+v %v", res, err)
	}
}

func TestIdempotentAppend(t *testing.T) {
	t.Parallel()
	s, ctx, st := newStore(t), context.Background(), stream()
	e := note("once")
	r1, err := s.Append(ctx, st, eventstore.NoStream, e)
	if err != nil {
		t.Fatal(err)
	}
	// The same event again, even with the now stale expected version, is a
	// retry of something already done: success, nothing written.
	r2, err := s.Append(ctx, st, eventstore.NoStream, e)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if r2 != r1 {
		t.Fatalf("retry result %+v, first %+v", r2, r1)
	}
	if _, err := s.Append(ctx, st, eventstore.Any, e); err != nil {
		t.Fatalf("retry with Any: %v", err)
	}
	if evs := load(t, s, st.ID); len(evs) != 1 {
		t.Fatalf("stored %d events, want 1", len(evs))
	}
}

func TestConcurrentWritersOneStream(t *testing.T) {
	t.Parallel()
	s, ctx, st := newStore(t), context.Background(), stream()
	const writers, rounds = 16, 10
	var (
		mu        sync.Mutex
		won       = map[int64]int{}
		conflicts int
		wg        sync.WaitGroup
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				for {
					evs, err := s.Load(ctx, st.ID)
					if err != nil {
						t.Error(err)
						return
					}
					v := int64(len(evs))
					res, err := s.Append(ctx, st, v, note("w"))
					if errors.Is(err, eventstore.ErrConcurrency) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					won[res.Version]++
					mu.Unlock()
					break
				}
			}
		}()
	}
	wg.Wait()
	evs, err := s.Load(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != writers*rounds {
		t.Fatalf("stored %d events, want %d", len(evs), writers*rounds)
	}
	for i, e := range evs {
		if e.Version != int64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
		if won[e.Version] != 1 {
			t.Fatalf("version %d reported won %d times", e.Version, won[e.Version])
		}
	}
	if conflicts == 0 {
		t.Log("no conflicts happened; the race was not exercised this run")
	}
}

func TestConcurrentAnyAppendsAllLand(t *testing.T) {
	t.Parallel()
	s, ctx, st := newStore(t), context.Background(), stream()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 10; r++ {
				if _, err := s.Append(ctx, st, eventstore.Any, note("any")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if evs := load(t, s, st.ID); len(evs) != 80 {
		t.Fatalf("stored %d, want 80", len(evs))
	}
}

func TestClaims(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	alice, bob := uuid.New(), uuid.New()
	claim := func(owner uuid.UUID) error {
		_, err := s.Commit(ctx, eventstore.Commit{
			Appends: []eventstore.StreamAppend{{Stream: domain.Stream{Type: "note", ID: owner}, Expected: eventstore.Any, Events: []domain.NewEvent{note("claim")}}},
			Claims:  []eventstore.Claim{{Scope: "email", Key: "a@example.com", Owner: owner}},
		})
		return err
	}
	if err := claim(alice); err != nil {
		t.Fatal(err)
	}
	if err := claim(alice); err != nil {
		t.Fatalf("the owner claiming again: %v", err)
	}
	err := claim(bob)
	var taken *eventstore.ClaimTakenError
	if !errors.As(err, &taken) || !errors.Is(err, eventstore.ErrClaimTaken) || taken.Key != "a@example.com" {
		t.Fatalf("bob's claim: %v", err)
	}
	if evs := load(t, s, bob); len(evs) != 0 {
		t.Fatalf("a refused claim still wrote %d events", len(evs))
	}
	_, err = s.Commit(ctx, eventstore.Commit{
		Appends:  []eventstore.StreamAppend{{Stream: domain.Stream{Type: "note", ID: alice}, Expected: eventstore.Any, Events: []domain.NewEvent{note("release")}}},
		Releases: []eventstore.Release{{Scope: "email", Key: "a@example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := claim(bob); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
}

func TestConcurrentClaimsExactlyOneWins(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := uuid.New()
			_, err := s.Commit(ctx, eventstore.Commit{
				Appends: []eventstore.StreamAppend{{Stream: domain.Stream{Type: "note", ID: owner}, Expected: eventstore.NoStream, Events: []domain.NewEvent{note("x")}}},
				Claims:  []eventstore.Claim{{Scope: "email", Key: "same@example.com", Owner: owner}},
			})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, eventstore.ErrClaimTaken) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won, want 1", wins)
	}
}

func TestReadAllUnknownTypeIsAnError(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	if _, err := s.Pool().Exec(ctx, `INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
VALUES ($1, 'note', $2, 1, 'test.from_the_future', '{}', '{}')`, uuid.New(), uuid.New()); err != nil {
		t.Fatal(err)
	}
	// ReadAll holds back while any older transaction of the cluster runs
	// (parallel tests hold some), so wait for the event to be readable.
	testenv.Eventually(t, 30*time.Second, "the unknown event to be read", func() bool {
		evs, err := s.ReadAll(ctx, eventstore.Cursor{}, 10)
		if errors.Is(err, domain.ErrUnknownEventType) {
			return true
		}
		if err != nil || len(evs) > 0 {
			t.Fatalf("ReadAll = %d events, %v; want ErrUnknownEventType", len(evs), err)
		}
		return false
	})
}

// A transaction that took its id first but commits last must be read after
// the later commits, exactly once: the reader must not move past it.
func TestReadAllNeverSkipsLateCommit(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	pool := s.Pool()

	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx) //nolint:errcheck
	slowEvent := note("slow")
	// Appending inside an open transaction: it gets its xid and position now.
	if _, err := slow.Exec(ctx, `INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
VALUES ($1, 'note', $2, 1, 'test.note_taken', '{"text":"slow"}', '{}')`, slowEvent.ID, uuid.New()); err != nil {
		t.Fatal(err)
	}

	seen := map[uuid.UUID]int{}
	var order []string
	var cur eventstore.Cursor
	read := func() {
		evs, err := s.ReadAll(ctx, cur, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			seen[e.EventID]++
			order = append(order, e.Event.(noteTaken).Text)
			cur = eventstore.CursorOf(e)
		}
	}
	var fast []domain.NewEvent
	for i := 0; i < 5; i++ {
		e := note("fast")
		fast = append(fast, e)
		if _, err := s.Append(ctx, stream(), eventstore.NoStream, e); err != nil {
			t.Fatal(err)
		}
		read()
	}
	if len(order) != 0 {
		t.Fatalf("read %v while an older transaction was open", order)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the six events to be read", func() bool { read(); return len(order) >= 6 })
	if len(order) != 6 || order[0] != "slow" {
		t.Fatalf("read order %v, want slow first then 5 fast", order)
	}
	for _, e := range append(fast, slowEvent) {
		if seen[e.ID] != 1 {
			t.Fatalf("event %s seen %d times", e.ID, seen[e.ID])
		}
	}
	read()
	if len(order) != 6 {
		t.Fatalf("re-read returned more: %v", order)
	}
}

// A transaction open in another database cannot write our events; it must
// not hold the read bound back (events_read_bound) for longer than the
// bound's fast path trusts the snapshot's xmin (20 ms), while one open in
// ours holds it for as long as it is open (TestReadAllNeverSkipsLateCommit).
func TestReadAllIgnoresTransactionsOfOtherDatabases(t *testing.T) {
	t.Parallel()
	other := testenv.Pool(t) // a database of its own
	s := newStore(t)
	ctx := context.Background()

	long, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Rollback(ctx) //nolint:errcheck
	var xid string
	if err := long.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
		t.Fatal(err)
	}
	e := note("after the other database's transaction began")
	if _, err := s.Append(ctx, stream(), eventstore.NoStream, e); err != nil {
		t.Fatal(err)
	}
	var evs []domain.RecordedEvent
	testenv.Eventually(t, 30*time.Second, "the event to be read while transaction "+xid+" of another database is open", func() bool {
		if evs, err = s.ReadAll(ctx, eventstore.Cursor{}, 10); err != nil {
			t.Fatal(err)
		}
		return len(evs) > 0
	})
	if len(evs) != 1 || evs[0].EventID != e.ID {
		t.Fatalf("read %d events, want the one appended", len(evs))
	}
	if err := long.QueryRow(ctx, `SELECT 1`).Scan(new(int)); err != nil {
		t.Fatalf("the other database's transaction ended before the read: %v", err)
	}
}

// The relay's checkpoint never moves back: a relay that lost its lock and
// stores its state on the way out must not undo the new leader's progress.
func TestRelayCheckpointNeverMovesBack(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	relay, cfg := newRelay(t, s)
	ahead := eventstore.RelayState{At: eventstore.Cursor{TxID: 900, Position: 40},
		Topics: map[string]eventstore.Cursor{"events.note": {TxID: 900, Position: 40}}}
	behind := eventstore.RelayState{At: eventstore.Cursor{TxID: 800, Position: 30},
		Topics: map[string]eventstore.Cursor{"events.note": {TxID: 800, Position: 30}}}
	for _, st := range []eventstore.RelayState{ahead, behind} {
		if err := eventstore.SaveRelayState(ctx, relay, st); err != nil {
			t.Fatal(err)
		}
	}
	got, err := eventstore.LoadRelayState(ctx, s.Pool(), eventstore.RelayName(cfg.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	if got.At != ahead.At || got.Topics["events.note"] != ahead.At {
		t.Fatalf("checkpoint %+v after saving %+v then %+v", got, ahead, behind)
	}
	further := eventstore.RelayState{At: eventstore.Cursor{TxID: 901, Position: 41}, Topics: map[string]eventstore.Cursor{}}
	if err := eventstore.SaveRelayState(ctx, relay, further); err != nil {
		t.Fatal(err)
	}
	if got, err = eventstore.LoadRelayState(ctx, s.Pool(), eventstore.RelayName(cfg.Prefix)); err != nil || got.At != further.At {
		t.Fatalf("checkpoint %+v (%v), want it moved on to %+v", got, err, further.At)
	}
}

// A quiet store is read a few times a second, not every few milliseconds,
// and an append of another process (a second Store on the same database,
// which cannot wake this relay) is still published.
func TestRelayReadsAQuietStoreSeldom(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	relay, cfg := newRelay(t, s)
	// The relay is the only user of the store's pool (its election holds a
	// connection of its own), so each acquisition is a read of the store.
	reads := func() int64 { return s.Pool().Stat().AcquireCount() }
	runRelay(t, relay)
	testenv.Eventually(t, 10*time.Second, "the relay reads the store", func() bool { return reads() > 0 })
	// Its wait grows to the longest within about 125 ms; a busy machine
	// only makes it read less.
	time.Sleep(500 * time.Millisecond)
	before := reads()
	time.Sleep(time.Second)
	if n := reads() - before; n > 30 {
		t.Fatalf("%d reads of a quiet store in a second", n)
	}

	other, err := eventstore.New(s.Pool())
	if err != nil {
		t.Fatal(err)
	}
	res, err := other.Append(ctx, stream(), eventstore.NoStream, note("from another process"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the other process's event published", func() bool {
		st, err := eventstore.LoadRelayState(ctx, s.Pool(), eventstore.RelayName(cfg.Prefix))
		return err == nil && st.At.Position >= res.LastPosition
	})
}

// newRelay returns a relay of s publishing on a bus of the test's own (a
// prefix no other test uses), and that bus.
func newRelay(t *testing.T, s *eventstore.Store) (*eventstore.Relay, bus.Config) {
	t.Helper()
	cfg := bus.Config{Client: testenv.Redis(t), Prefix: testenv.Name("r") + ".", Logger: zerolog.Nop()}
	pub, err := bus.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := eventstore.NewRelay(s, pub, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return relay, cfg
}

// runRelay runs relay until the test ends.
func runRelay(t *testing.T, relay *eventstore.Relay) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = relay.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
}
