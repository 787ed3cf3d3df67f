package projections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

// clientHistory is a client history appended to a real store and read back
// in commit order, with some creations delivered twice (as a redelivery
// would), at the places the history says.
type clientHistory struct {
	store   *eventstore.Store
	actor   uuid.UUID
	steps   []uuid.UUID // per step: the stream appended to, or (redeliver) the stream whose creation is delivered again
	redeliv []bool
}

func (h *clientHistory) create(t *testing.T, owner uuid.UUID, email string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	h.append(t, id, domain.ClientCreated{ClientID: id, OwnerID: owner, Email: email, FullName: "Name " + email, Comment: "c"})
	return id
}

func (h *clientHistory) append(t *testing.T, id uuid.UUID, ev domain.Event) {
	t.Helper()
	e := domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: ev, Metadata: domain.Metadata{ActorID: h.actor}}
	if _, err := h.store.Append(context.Background(), domain.Stream{Type: domain.ClientStreamType, ID: id}, eventstore.Any, e); err != nil {
		t.Fatal(err)
	}
	h.steps, h.redeliv = append(h.steps, id), append(h.redeliv, false)
}

func (h *clientHistory) redeliver(id uuid.UUID) {
	h.steps, h.redeliv = append(h.steps, id), append(h.redeliv, true)
}

// delivered reads the store in commit order (one event per append) and
// puts the redelivered creations in.
func (h *clientHistory) delivered(t *testing.T) []domain.RecordedEvent {
	t.Helper()
	stored := storedEvents(t, h.store)
	var out []domain.RecordedEvent
	for i, id := range h.steps {
		if !h.redeliv[i] {
			out, stored = append(out, stored[0]), stored[1:]
			if out[len(out)-1].StreamID != id {
				t.Fatalf("step %d: read %s, appended to %s", i, out[len(out)-1].StreamID, id)
			}
			continue
		}
		at := slices.IndexFunc(out, func(e domain.RecordedEvent) bool { return e.StreamID == id && e.Type == "client.created" })
		out = append(out, out[at])
	}
	if len(stored) != 0 {
		t.Fatalf("%d events left over", len(stored))
	}
	return out
}

// newClientHistory writes creations for three owners (the same email in
// several letter cases, twice in one run, again in a later run), updates to
// a new email, to one in use and to the same one in another case, deletions
// (of the last holder of an email too), creations after them, and
// redeliveries inside runs of creations. It returns the history and the
// unique email count it ends with, worked out by hand.
func newClientHistory(t *testing.T, pool *pgxpool.Pool) (*clientHistory, int64) {
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	h := &clientHistory{store: store, actor: uuid.New()}
	alice, bob, carol := uuid.New(), uuid.New(), uuid.New()
	// Keys live after each step are counted in the comments.
	a1 := h.create(t, alice, "Shared@X.test") // shared
	b1 := h.create(t, bob, "shared@x.test")   // the same key, same run
	h.create(t, carol, "SHARED@X.TEST")       // 1
	a := map[int]uuid.UUID{}
	for i := 2; i <= 9; i++ {
		a[i] = h.create(t, alice, fmt.Sprintf("a%d@x.test", i)) // a2..a9: 9
	}
	b2 := h.create(t, bob, "A2@x.test") // a2, held already
	h.create(t, carol, "c2@x.test")     // 10
	for i := range 20 {
		h.create(t, bob, fmt.Sprintf("bulk%d@x.test", i)) // 30
	}
	for i := range 5 {
		h.create(t, carol, fmt.Sprintf("BULK%d@X.test", i)) // held already
	}
	h.append(t, a[3], domain.ClientUpdated{Email: "new@x.test", FullName: "N", Comment: "u"}) // -a3 +new: 30
	h.append(t, a[4], domain.ClientUpdated{Email: "Shared@x.test", FullName: "N"})            // -a4: 29
	h.append(t, a[6], domain.ClientUpdated{Email: "A6@X.TEST", FullName: "N"})                // same key: 29
	h.append(t, a[5], domain.ClientDeleted{})                                                 // last holder of a5: 28
	h.append(t, b1, domain.ClientDeleted{})                                                   // shared still held: 28
	h.append(t, b2, domain.ClientDeleted{})                                                   // a2 still held: 28
	h.create(t, alice, "a5@X.test")                                                           // a5 again: 29
	d2 := h.create(t, bob, "new@x.test")                                                      // held by a3: 29
	d3 := h.create(t, bob, "b3@x.test")                                                       // 30
	h.redeliver(d3)
	h.create(t, carol, "B3@x.test")           // b3 twice in one run: 30
	h.append(t, a[7], domain.ClientDeleted{}) // a7 gone: 29
	h.create(t, bob, "a7@x.test")             // 30
	h.create(t, carol, "A7@x.test")           // the same key, same run, absent before: 30
	h.redeliver(a1)
	h.redeliver(b1)                                                             // deleted since: its creation changes nothing
	h.append(t, a[3], domain.ClientDeleted{})                                   // new still held by d2: 30
	h.append(t, d2, domain.ClientDeleted{})                                     // new gone: 29
	h.append(t, a[8], domain.ClientUpdated{Email: "NEW@x.test", FullName: "N"}) // -a8 +new: 29
	return h, 29
}

func applyOneByOne(t *testing.T, pool *pgxpool.Pool, p Projector, evs []domain.RecordedEvent) {
	t.Helper()
	ctx := context.Background()
	for _, e := range evs {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Apply(ctx, tx, e); err != nil {
			t.Fatalf("%s: apply %s v%d: %v", p.Name(), e.Type, e.Version, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func applyInChunks(t *testing.T, pool *pgxpool.Pool, p Projector, evs []domain.RecordedEvent, size int) {
	t.Helper()
	ctx := context.Background()
	for chunk := range slices.Chunk(evs, size) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.(BatchApplier).ApplyBatch(ctx, tx, chunk); err != nil {
			t.Fatalf("%s: apply batch of %d: %v", p.Name(), len(chunk), err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// dumpTables returns every row of p's tables as sorted JSON.
func dumpTables(t *testing.T, pool *pgxpool.Pool, p Projector) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range p.Tables() {
		rows, err := pool.Query(context.Background(), `SELECT to_jsonb(t)::text FROM `+table+` t ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// rebuildFresh empties public_stats, as the fresh tables of a rebuild are,
// so the first unique email has to create its row.
func rebuildFresh(t *testing.T, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `DELETE FROM public_stats`); err != nil {
		t.Fatal(err)
	}
	return pool
}

func TestClientsAndStatsApplyBatchEqualsApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	one := testenv.Pool(t)
	h, unique := newClientHistory(t, one)
	evs := h.delivered(t)
	projectors := []Projector{ClientsProjector{}, StatsProjector{}}
	mine := func(p Projector, evs []domain.RecordedEvent) []domain.RecordedEvent {
		return slices.DeleteFunc(slices.Clone(evs), func(e domain.RecordedEvent) bool { return !slices.Contains(p.EventTypes(), e.Type) })
	}

	rebuildFresh(t, one)
	for _, p := range projectors {
		applyOneByOne(t, one, p, mine(p, evs))
	}
	var got, rows, live, held int64
	if err := one.QueryRow(ctx, `SELECT clients_unique FROM public_stats WHERE id = 1`).Scan(&got); err != nil || got != unique {
		t.Fatalf("one by one: %d unique emails, want %d (%v)", got, unique, err)
	}
	if err := one.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE NOT deleted) FROM clients`).Scan(&rows, &live); err != nil || rows != 44 || live != 38 {
		t.Fatalf("one by one: %d client rows, %d live, want 44 and 38 (%v)", rows, live, err)
	}
	if err := one.QueryRow(ctx, `SELECT count(*), sum(n) FROM stats_client_emails`).Scan(&got, &held); err != nil || got != unique || held != live {
		t.Fatalf("one by one: %d email keys held %d times, want %d and %d (%v)", got, held, unique, live, err)
	}
	want := map[string]map[string][]string{}
	for _, p := range projectors {
		want[p.Name()] = dumpTables(t, one, p)
	}

	for _, size := range []int{7, len(evs)} {
		t.Run(fmt.Sprintf("chunks of %d", size), func(t *testing.T) {
			t.Parallel()
			pool := rebuildFresh(t, testenv.Pool(t))
			for _, p := range projectors {
				applyInChunks(t, pool, p, mine(p, evs), size)
				if got := dumpTables(t, pool, p); fmt.Sprint(got) != fmt.Sprint(want[p.Name()]) {
					t.Fatalf("%s batched:\n%v\none by one:\n%v", p.Name(), got, want[p.Name()])
				}
				// Everything again: a redelivery changes nothing.
				applyInChunks(t, pool, p, mine(p, evs), size)
				if got := dumpTables(t, pool, p); fmt.Sprint(got) != fmt.Sprint(want[p.Name()]) {
					t.Fatalf("%s redelivered:\n%v\none by one:\n%v", p.Name(), got, want[p.Name()])
				}
			}
		})
	}

	// An update before its creation is an error to retry, as from Apply.
	for _, p := range projectors {
		tx, err := one.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id := uuid.New()
		early := []domain.RecordedEvent{
			{StreamID: uuid.New(), Version: 1, Type: "client.created", Event: domain.ClientCreated{OwnerID: uuid.New(), Email: "x@x.test"}},
			{StreamID: id, Version: 2, Type: "client.updated", Event: domain.ClientUpdated{Email: "y@x.test"}},
		}
		err = p.(BatchApplier).ApplyBatch(ctx, tx, early)
		_ = tx.Rollback(ctx)
		if !errors.Is(err, errRowMissing) {
			t.Fatalf("%s: update before creation: %v", p.Name(), err)
		}
	}
}
