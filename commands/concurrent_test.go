package commands_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// lockstepStore is the real store with a barrier after each Load: in every
// round, each writer still trying loads the same version before any of them
// commits, so all but one of them conflict, round after round.
type lockstepStore struct {
	*eventstore.Store
	mu      sync.Mutex
	active  int           // writers still trying
	loaded  int           // writers that loaded in this round
	release chan struct{} // closed once every active writer loaded
}

func newLockstepStore(s *eventstore.Store, writers int) *lockstepStore {
	return &lockstepStore{Store: s, active: writers, release: make(chan struct{})}
}

func (s *lockstepStore) Load(ctx context.Context, id uuid.UUID) ([]domain.RecordedEvent, error) {
	evs, err := s.Store.Load(ctx, id)
	s.mu.Lock()
	round := s.release
	s.loaded++
	s.next()
	s.mu.Unlock()
	select {
	case <-round:
		return evs, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// done takes a writer out of the rounds once its command returned.
func (s *lockstepStore) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	s.next()
}

// next starts the next round once every active writer loaded.
func (s *lockstepStore) next() {
	if s.loaded > 0 && s.loaded == s.active {
		close(s.release)
		s.release, s.loaded = make(chan struct{}), 0
	}
}

type writersEnv struct {
	store *eventstore.Store
	q     *projections.ResourceQueries
	owner uuid.UUID
}

func newWritersEnv(t *testing.T) *writersEnv {
	t.Helper()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	q, err := projections.NewResourceQueries(pool)
	if err != nil {
		t.Fatal(err)
	}
	return &writersEnv{store: store, q: q, owner: uuid.New()}
}

func (e *writersEnv) meta() domain.Metadata {
	return domain.Metadata{ActorID: e.owner, CorrelationID: uuid.New()}
}

// outcome is what one writer's command returned.
type outcome struct {
	name    string // what it wrote
	version int64
	err     error
}

// checkWriters checks that every command either succeeded or failed with
// the documented conflict, that the stream holds exactly the successful
// writes, once each, on consecutive versions after the creation, and
// returns how many succeeded.
func checkWriters(t *testing.T, store *eventstore.Store, id uuid.UUID, outs []outcome, written func(domain.Event) string) int {
	t.Helper()
	var won []string
	versions := map[int64]bool{}
	for _, o := range outs {
		switch {
		case o.err == nil:
			won = append(won, o.name)
			if versions[o.version] {
				t.Errorf("two writers were told they wrote version %d", o.version)
			}
			versions[o.version] = true
		case !errors.Is(o.err, domain.ErrConflict):
			t.Errorf("%s: %v, want success or domain.ErrConflict", o.name, o.err)
		}
	}
	recs, err := store.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := int64(len(recs)), int64(1+len(won)); got != want || recs[len(recs)-1].Version != want {
		t.Fatalf("the stream is at version %d with %d events, want %d: the creation and %d successful writes",
			recs[len(recs)-1].Version, got, want, len(won))
	}
	var stored []string
	for _, r := range recs[1:] {
		stored = append(stored, written(r.Event))
	}
	slices.Sort(won)
	slices.Sort(stored)
	if !slices.Equal(won, stored) {
		t.Fatalf("the stream holds the writes %v; the writers that succeeded wrote %v", stored, won)
	}
	return len(won)
}

// Writers without If-Match change one client at the same instant, each
// round: the command retries its conflicts up to MaxAttempts times, so
// exactly that many of them get through, one a round, and the rest are
// told of the conflict. None is lost or applied twice.
func TestConcurrentUpdatesOfOneClientRetryBoundedly(t *testing.T) {
	t.Parallel()
	env := newWritersEnv(t)
	created, err := mustClientHandler(t, env.store, env.q).Create(context.Background(), env.meta(),
		commands.CreateClient{Owner: env.owner, Fields: domain.ClientFields{Email: "one@example.org", FullName: "One"}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.State.ID()

	writers := commands.MaxAttempts + 3
	store := newLockstepStore(env.store, writers)
	h := mustClientHandler(t, store, env.q)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	outs := make([]outcome, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			defer store.done()
			name := fmt.Sprintf("writer %d", w)
			out, err := h.Update(ctx, env.meta(), commands.UpdateClient{ID: id, FullName: &name})
			outs[w] = outcome{name: name, version: out.Version, err: err}
		})
	}
	wg.Wait()
	won := checkWriters(t, env.store, id, outs, func(e domain.Event) string { return e.(domain.ClientUpdated).FullName })
	if won != commands.MaxAttempts {
		t.Fatalf("%d of %d writers got through, want %d: one a round for %d rounds", won, writers, commands.MaxAttempts, commands.MaxAttempts)
	}
}

// Writers without If-Match hammer one message at their own pace: each
// update succeeds or fails with the conflict, and the message's version is
// its creation plus the successes.
func TestConcurrentUpdatesOfOneMessage(t *testing.T) {
	t.Parallel()
	env := newWritersEnv(t)
	h, err := commands.NewMessageHandler(env.store, env.q, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := h.Create(context.Background(), env.meta(),
		commands.CreateMessage{Owner: env.owner, Fields: domain.MessageFields{Subject: "first", Body: "body"}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.State.ID()

	const writers, updates = 12, 4
	outs := make([]outcome, writers*updates)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range updates {
				subject := fmt.Sprintf("writer %d update %d", w, i)
				out, err := h.Update(context.Background(), env.meta(), commands.UpdateMessage{ID: id, Subject: &subject})
				outs[w*updates+i] = outcome{name: subject, version: out.Version, err: err}
			}
		})
	}
	wg.Wait()
	won := checkWriters(t, env.store, id, outs, func(e domain.Event) string { return e.(domain.MessageUpdated).Subject })
	t.Logf("%d of %d updates got through", won, len(outs))
}

func mustClientHandler(t *testing.T, store commands.EventStore, q *projections.ResourceQueries) *commands.ClientHandler {
	t.Helper()
	h, err := commands.NewClientHandler(store, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
