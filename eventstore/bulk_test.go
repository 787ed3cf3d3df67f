package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

// newStreams is n new note streams of events events each, stream i
// claiming key "k<i>" in scope "email".
func newStreams(n, events int) []eventstore.NewStream {
	out := make([]eventstore.NewStream, n)
	for i := range out {
		st := stream()
		out[i] = eventstore.NewStream{Stream: st,
			Claims: []eventstore.Claim{{Scope: "email", Key: fmt.Sprintf("k%d", i), Owner: st.ID}}}
		for j := range events {
			out[i].Events = append(out[i].Events, note(fmt.Sprintf("%d.%d", i, j)))
		}
	}
	return out
}

// countEvents is how many events the store holds (each test has its own
// database).
func countEvents(t *testing.T, s *eventstore.Store) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateStreams(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	streams := newStreams(3, 2)
	res, err := s.CreateStreams(ctx, streams)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for i, st := range streams {
		evs := load(t, s, st.Stream.ID)
		if len(evs) != 2 || evs[0].Version != 1 || evs[1].Version != 2 || evs[0].EventID != st.Events[0].ID ||
			evs[1].Event.(noteTaken).Text != fmt.Sprintf("%d.1", i) || evs[0].Metadata != st.Events[0].Metadata {
			t.Fatalf("stream %d: %+v", i, evs)
		}
		if evs[0].TxID != load(t, s, streams[0].Stream.ID)[0].TxID {
			t.Errorf("stream %d written by another transaction", i)
		}
		last = max(last, evs[1].Position)
	}
	if res.LastPosition != last || res.Version != 2 {
		t.Fatalf("result %+v, want last position %d, version 2", res, last)
	}
	if got, _ := s.Claimed(ctx, "email", []string{"k0", "k1", "k2"}); len(got) != 3 {
		t.Fatalf("claimed %q", got)
	}

	t.Run("a retry of a call that succeeded writes nothing", func(t *testing.T) {
		again, err := s.CreateStreams(ctx, streams)
		if err != nil || again != res {
			t.Fatalf("again: %+v, %v; want %+v", again, err, res)
		}
		if n := countEvents(t, s); n != 6 {
			t.Fatalf("the store holds %d events, want 6", n)
		}
	})

	t.Run("a stream that exists already", func(t *testing.T) {
		more := newStreams(2, 1)
		for i := range more {
			more[i].Claims = nil
		}
		more[1].Stream = streams[1].Stream
		if _, err := s.CreateStreams(ctx, more); !errors.Is(err, eventstore.ErrConcurrency) {
			t.Fatalf("want ErrConcurrency, got %v", err)
		}
		if n := countEvents(t, s); n != 6 {
			t.Fatalf("the store holds %d events, want 6", n)
		}
	})

	t.Run("a key claimed twice in one call", func(t *testing.T) {
		twice := newStreams(2, 1)
		twice[1].Claims[0].Key = twice[0].Claims[0].Key
		if _, err := s.CreateStreams(ctx, twice); err == nil || errors.Is(err, eventstore.ErrClaimTaken) {
			t.Fatalf("want a plain error, got %v", err)
		}
	})
}

// A call with taken claims writes nothing, claims nothing, and names every
// taken claim; without them it goes through.
func TestCreateStreamsAllOrNothing(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	other := uuid.New()
	_, err := s.Commit(ctx, eventstore.Commit{
		Appends: []eventstore.StreamAppend{{Stream: domain.Stream{Type: "note", ID: other}, Expected: eventstore.NoStream, Events: []domain.NewEvent{note("x")}}},
		Claims:  []eventstore.Claim{{Scope: "email", Key: "k1", Owner: other}, {Scope: "email", Key: "k3", Owner: other}},
	})
	if err != nil {
		t.Fatal(err)
	}
	streams := newStreams(5, 1)
	_, err = s.CreateStreams(ctx, streams)
	var taken *eventstore.ClaimsTakenError
	if !errors.As(err, &taken) || !errors.Is(err, eventstore.ErrClaimTaken) {
		t.Fatalf("want the taken claims, got %v", err)
	}
	if want := []eventstore.Claim{streams[1].Claims[0], streams[3].Claims[0]}; !reflect.DeepEqual(taken.Claims, want) {
		t.Fatalf("taken %+v, want %+v", taken.Claims, want)
	}
	if n := countEvents(t, s); n != 1 {
		t.Fatalf("the store holds %d events, want the 1 of the other owner", n)
	}
	got, err := s.Claimed(ctx, "email", []string{"k0", "k1", "k2", "k3", "k4"})
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{"k1", "k3"}) {
		t.Fatalf("claimed %q, %v; want only the other owner's", got, err)
	}

	kept := slices.Delete(slices.Clone(streams), 3, 4)
	kept = slices.Delete(kept, 1, 2)
	if _, err := s.CreateStreams(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, s); n != 4 {
		t.Fatalf("the store holds %d events, want 4", n)
	}
}

// Bulk writers claiming the same keys in different orders wait for each
// other instead of deadlocking: one gets them all, the other none.
func TestCreateStreamsConcurrentSameKeys(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	const writers, keys = 4, 200
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		wins     int
		refusals []int
	)
	for w := range writers {
		streams := newStreams(keys, 1)
		if w%2 == 1 {
			slices.Reverse(streams)
		}
		wg.Go(func() {
			_, err := s.CreateStreams(ctx, streams)
			var taken *eventstore.ClaimsTakenError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.As(err, &taken):
				refusals = append(refusals, len(taken.Claims))
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || !slices.Equal(refusals, []int{keys, keys, keys}) {
		t.Fatalf("%d won, refusals naming %v claims; want 1 winner and 3 refusals of %d", wins, refusals, keys)
	}
	if n := countEvents(t, s); n != keys {
		t.Fatalf("the store holds %d events, want %d", n, keys)
	}
}

// A commit that releases a key and claims another (a client's email
// changed) can deadlock with a bulk call claiming both. When the server
// picks the bulk call to roll back, the call starts again and finds the
// claim the commit made taken: never a deadlock error.
func TestCreateStreamsStartsAgainAfterADeadlock(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	other := uuid.New()
	if _, err := s.Commit(ctx, eventstore.Commit{
		Appends: []eventstore.StreamAppend{{Stream: domain.Stream{Type: "note", ID: other}, Expected: eventstore.NoStream, Events: []domain.NewEvent{note("x")}}},
		Claims:  []eventstore.Claim{{Scope: "email", Key: "b", Owner: other}},
	}); err != nil {
		t.Fatal(err)
	}
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// This connection waits longer than the bulk call's before it looks
	// for a deadlock, so the server rolls the bulk call back.
	if _, err := conn.Exec(ctx, `SET deadlock_timeout = '30s'`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `DELETE FROM unique_claims WHERE scope = 'email' AND key = 'b'`); err != nil {
		t.Fatal(err)
	}

	streams := newStreams(2, 1)
	streams[0].Claims[0].Key, streams[1].Claims[0].Key = "b", "a"
	done := make(chan error, 1)
	go func() {
		_, err := s.CreateStreams(ctx, streams)
		done <- err
	}()
	testenv.Eventually(t, 10*time.Second, "the bulk call waiting for key b", func() bool {
		var n int
		err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO unique_claims%'`).Scan(&n)
		return err == nil && n == 1
	})
	if _, err := tx.Exec(ctx, `SELECT claim_unique('email', 'a', $1)`, other); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-done
	var taken *eventstore.ClaimsTakenError
	if !errors.As(err, &taken) || !reflect.DeepEqual(taken.Claims, streams[1].Claims) {
		t.Fatalf("want key a taken, got %v", err)
	}
	if n := countEvents(t, s); n != 1 {
		t.Fatalf("the store holds %d events, want 1", n)
	}
}
