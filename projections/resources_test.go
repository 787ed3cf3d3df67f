package projections_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// world is a fresh database with the real store, handlers and queries; the
// projectors are fed by reading the store back (what the runtime does,
// minus the bus).
type world struct {
	t        *testing.T
	pool     *pgxpool.Pool
	store    *eventstore.Store
	q        *projections.ResourceQueries
	clients  *commands.ClientHandler
	messages *commands.MessageHandler
	mailings *commands.MailingHandler
	cursor   map[string]eventstore.Cursor
	read     map[string]int
}

var resourceProjectors = []projections.Projector{
	projections.ClientsProjector{}, projections.MessagesProjector{}, projections.MailingsProjector{}, projections.StatsProjector{},
}

func newWorld(t *testing.T) *world {
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
	w := &world{t: t, pool: pool, store: store, q: q, cursor: map[string]eventstore.Cursor{}, read: map[string]int{}}
	if w.clients, err = commands.NewClientHandler(store, q, nil); err != nil {
		t.Fatal(err)
	}
	if w.messages, err = commands.NewMessageHandler(store, q, nil); err != nil {
		t.Fatal(err)
	}
	if w.mailings, err = commands.NewMailingHandler(store, q, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// project applies every new event to every projector, each event in its own
// transaction; replay=true applies everything again from the start to show
// that redelivery changes nothing.
func (w *world) project(replay bool) {
	w.t.Helper()
	ctx := context.Background()
	var total int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil {
		w.t.Fatal(err)
	}
	for _, p := range resourceProjectors {
		from, read := w.cursor[p.Name()], w.read[p.Name()]
		if replay {
			from, read = eventstore.Cursor{}, 0
		}
		handled := map[string]bool{}
		for _, t := range p.EventTypes() {
			handled[t] = true
		}
		for read < total {
			// ReadAll holds back while any older transaction of the server
			// (other tests' too) is open: wait for it.
			var evs []domain.RecordedEvent
			testenv.Eventually(w.t, 30*time.Second, "the stored events to be readable", func() bool {
				var err error
				if evs, err = w.store.ReadAll(ctx, from, 500); err != nil {
					w.t.Fatal(err)
				}
				return len(evs) > 0
			})
			for _, e := range evs {
				from = eventstore.CursorOf(e)
				read++
				if !handled[e.Type] {
					continue
				}
				tx, err := w.pool.Begin(ctx)
				if err != nil {
					w.t.Fatal(err)
				}
				if err := p.Apply(ctx, tx, e); err != nil {
					_ = tx.Rollback(ctx)
					w.t.Fatalf("%s apply %s: %v", p.Name(), e.Type, err)
				}
				if err := tx.Commit(ctx); err != nil {
					w.t.Fatal(err)
				}
			}
		}
		if !replay {
			w.cursor[p.Name()], w.read[p.Name()] = from, read
		}
	}
}

func meta(actor uuid.UUID) domain.Metadata {
	return domain.Metadata{ActorID: actor, CorrelationID: uuid.New()}
}

func ptr[T any](v T) *T { return &v }

func TestClientsLifeThroughCommandsAndReadModel(t *testing.T) {
	t.Parallel()
	w, ctx := newWorld(t), context.Background()
	alice, bob := uuid.New(), uuid.New()

	c1, err := w.clients.Create(ctx, meta(alice), commands.CreateClient{Owner: alice,
		Fields: domain.ClientFields{Email: "Ann@Example.org", FullName: "Ann Lee", Comment: "first"}})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Version != 1 || c1.LastPosition == 0 {
		t.Fatalf("create result %+v", c1.Result)
	}
	// The same email (any case) for the same owner is taken; for another owner it is not.
	_, err = w.clients.Create(ctx, meta(alice), commands.CreateClient{Owner: alice,
		Fields: domain.ClientFields{Email: "ann@EXAMPLE.org", FullName: "Other"}})
	if !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := w.clients.Create(ctx, meta(bob), commands.CreateClient{Owner: bob,
		Fields: domain.ClientFields{Email: "ann@example.org", FullName: "Bob's Ann"}}); err != nil {
		t.Fatal(err)
	}
	c2, err := w.clients.Create(ctx, meta(alice), commands.CreateClient{Owner: alice,
		Fields: domain.ClientFields{Email: "zed@example.org", FullName: "Zed"}})
	if err != nil {
		t.Fatal(err)
	}
	w.project(false)

	own := projections.OwnerScope{Caller: alice}
	list, next, err := w.q.ListClients(ctx, own, "", projections.IDPage{Limit: 1})
	if err != nil || len(list) != 1 || next != c1.State.ID() {
		t.Fatalf("page 1: %v %v %v", list, next, err)
	}
	list, next, err = w.q.ListClients(ctx, own, "", projections.IDPage{Limit: 1, After: next})
	if err != nil || len(list) != 1 || list[0].ID != c2.State.ID() || next != uuid.Nil {
		t.Fatalf("page 2: %v %v %v", list, next, err)
	}
	if list, _, err := w.q.ListClients(ctx, own, "ann", projections.IDPage{Limit: 50}); err != nil || len(list) != 1 || list[0].FullName != "Ann Lee" {
		t.Fatalf("q=ann: %+v %v", list, err)
	}
	if list, _, err := w.q.ListClients(ctx, own, "%", projections.IDPage{Limit: 50}); err != nil || len(list) != 0 {
		t.Fatalf("q=%% matched literally nothing, got %+v %v", list, err)
	}
	if _, err := w.q.GetClient(ctx, projections.OwnerScope{Caller: bob}, c1.State.ID()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("bob reads alice's client: %v", err)
	}
	staff := projections.OwnerScope{Caller: uuid.New(), All: true}
	if all, _, err := w.q.ListClients(ctx, staff, "", projections.IDPage{Limit: 50}); err != nil || len(all) != 3 {
		t.Fatalf("staff sees %d clients (%v)", len(all), err)
	}
	if some, _, err := w.q.ListClients(ctx, projections.OwnerScope{Caller: staff.Caller, All: true, Owner: bob}, "", projections.IDPage{Limit: 50}); err != nil || len(some) != 1 {
		t.Fatalf("staff ?owner_id=bob sees %d (%v)", len(some), err)
	}

	// Bob cannot change Alice's client; a stale If-Match is a conflict.
	_, err = w.clients.Update(ctx, meta(bob), commands.UpdateClient{ID: c1.State.ID(), FullName: ptr("Hacked")})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("bob updates alice's: %v", err)
	}
	_, err = w.clients.Update(ctx, meta(alice), commands.UpdateClient{ID: c1.State.ID(), FullName: ptr("X"), IfMatch: ptr(int64(7))})
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("stale If-Match: %v", err)
	}
	// Changing the email moves the claim: the old one is free again.
	up, err := w.clients.Update(ctx, meta(alice), commands.UpdateClient{ID: c1.State.ID(), Email: ptr("ann2@example.org"), IfMatch: ptr(int64(1))})
	if err != nil || up.Version != 2 {
		t.Fatalf("update: %+v %v", up.Result, err)
	}
	if _, err := w.clients.Create(ctx, meta(alice), commands.CreateClient{Owner: alice,
		Fields: domain.ClientFields{Email: "ANN@example.org", FullName: "New Ann"}}); err != nil {
		t.Fatalf("old email not released: %v", err)
	}
	if _, err := w.clients.Update(ctx, meta(alice), commands.UpdateClient{ID: c2.State.ID(), Email: ptr("Ann2@example.org")}); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("update onto a taken email: %v", err)
	}
	w.project(false)
	got, err := w.q.GetClient(ctx, own, c1.State.ID())
	if err != nil || got.Email != "ann2@example.org" || got.Version != 2 || got.Comment != "first" {
		t.Fatalf("after update: %+v %v", got, err)
	}
	st := w.stats()
	// ann@ (alice, new), ann@ (bob), ann2@, zed@: three distinct emails.
	if st.ClientsUnique != 3 {
		t.Fatalf("unique emails = %d, want 3", st.ClientsUnique)
	}
	w.project(true) // redelivery of everything changes nothing
	if st2 := w.stats(); st2 != st {
		t.Fatalf("replay moved stats: %+v → %+v", st, st2)
	}
	if again, err := w.q.GetClient(ctx, own, c1.State.ID()); err != nil || again != got {
		t.Fatalf("replay changed the row: %+v → %+v (%v)", got, again, err)
	}

	if _, err := w.clients.Delete(ctx, meta(alice), commands.DeleteClient{ID: c2.State.ID()}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.clients.Delete(ctx, meta(alice), commands.DeleteClient{ID: c2.State.ID()}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	w.project(false)
	if _, err := w.q.GetClient(ctx, own, c2.State.ID()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("deleted client still read: %v", err)
	}
	if st := w.stats(); st.ClientsUnique != 2 {
		t.Fatalf("unique after delete = %d, want 2", st.ClientsUnique)
	}
	// The deleted client's email can be used again.
	if _, err := w.clients.Create(ctx, meta(alice), commands.CreateClient{Owner: alice,
		Fields: domain.ClientFields{Email: "zed@example.org", FullName: "Zed again"}}); err != nil {
		t.Fatalf("email of a deleted client: %v", err)
	}
}

func TestMailingRulesAcrossAggregates(t *testing.T) {
	t.Parallel()
	w, ctx := newWorld(t), context.Background()
	alice, bob := uuid.New(), uuid.New()
	mkClient := func(owner uuid.UUID, email string) uuid.UUID {
		o, err := w.clients.Create(ctx, meta(owner), commands.CreateClient{Owner: owner, Fields: domain.ClientFields{Email: email, FullName: "N"}})
		if err != nil {
			t.Fatal(err)
		}
		return o.State.ID()
	}
	a1, a2 := mkClient(alice, "a1@example.org"), mkClient(alice, "a2@example.org")
	b1 := mkClient(bob, "b1@example.org")
	msg, err := w.messages.Create(ctx, meta(alice), commands.CreateMessage{Owner: alice, Fields: domain.MessageFields{Subject: "Hi", Body: "Hello"}})
	if err != nil {
		t.Fatal(err)
	}
	bobMsg, err := w.messages.Create(ctx, meta(bob), commands.CreateMessage{Owner: bob, Fields: domain.MessageFields{Subject: "B", Body: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	w.project(false)
	a3 := mkClient(alice, "a3@example.org") // not projected yet: the store vouches for it

	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	fields := domain.MailingFields{MessageID: bobMsg.State.ID(), ClientIDs: []uuid.UUID{a1, b1, uuid.New()},
		StartAt: start, EndAt: start.Add(72 * time.Hour), Periodicity: domain.Daily, Timezone: "Europe/Berlin"}
	_, err = w.mailings.Create(ctx, meta(alice), commands.CreateMailing{Owner: alice, Fields: fields})
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) != 2 || v.Fields[0].Field != "message_id" || v.Fields[1].Field != "client_ids" {
		t.Fatalf("foreign refs: %v", err)
	}
	fields.MessageID, fields.ClientIDs = msg.State.ID(), []uuid.UUID{a1, a2, a3}
	ml, err := w.mailings.Create(ctx, meta(alice), commands.CreateMailing{Owner: alice, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	mid := ml.State.ID()
	w.project(false)

	// The message is in use: it cannot be deleted.
	if _, err := w.messages.Delete(ctx, meta(alice), commands.DeleteMessage{ID: msg.State.ID()}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("delete used message: %v", err)
	}
	// Deleting a listed client takes it off the mailing, in one transaction.
	del, err := w.clients.Delete(ctx, meta(alice), commands.DeleteClient{ID: a2})
	if err != nil {
		t.Fatal(err)
	}
	w.project(false)
	row, err := w.q.GetMailing(ctx, projections.OwnerScope{Caller: alice}, mid)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(row.ClientIDs, a2) || len(row.ClientIDs) != 2 || row.Version != 2 || row.Timezone != "Europe/Berlin" {
		t.Fatalf("mailing after client deletion: %+v", row)
	}
	hist, err := w.store.Load(ctx, mid)
	if err != nil {
		t.Fatal(err)
	}
	if last := hist[len(hist)-1]; last.Type != "mailing.client_removed" || last.Metadata.ActorID != alice || last.Position > del.LastPosition {
		t.Fatalf("removal event %+v (delete at %d)", last, del.LastPosition)
	}

	// Toggle: someone the authorizer refuses gets its error; the owner toggles.
	refuse := commands.Authorizer(func(uuid.UUID) error { return domain.Forbidden("no") })
	if _, err := w.mailings.Toggle(ctx, meta(bob), commands.ToggleMailing{ID: mid, Authorize: refuse}); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("refused toggle: %v", err)
	}
	off, err := w.mailings.Toggle(ctx, meta(alice), commands.ToggleMailing{ID: mid, IfMatch: ptr(int64(2))})
	if err != nil || off.State.IsActive() || off.Version != 3 {
		t.Fatalf("disable: %+v %v", off, err)
	}
	if _, err := w.mailings.Toggle(ctx, meta(alice), commands.ToggleMailing{ID: mid, Enable: true, IfMatch: ptr(int64(2))}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("stale toggle: %v", err)
	}
	// The saga's events move status and the public figures.
	m := domain.LoadMailing(mustHistory(t, w.store, mid))
	if err := m.Enable(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(uuid.New(), time.Now()); err != nil {
		t.Fatal(err)
	}
	appendChanges(t, w.store, mid, m)
	w.project(false)
	st := w.stats()
	if st.MailingsTotal != 1 || st.MailingsActive != 1 {
		t.Fatalf("stats with a started mailing: %+v", st)
	}
	if row, err = w.q.GetMailing(ctx, projections.OwnerScope{Caller: alice}, mid); err != nil {
		t.Fatal(err)
	}
	if row.Status != "started" || !row.IsActive || row.LastRunAt == nil {
		t.Fatalf("started row: %+v", row)
	}
	if lst, _, err := w.q.ListMailings(ctx, projections.OwnerScope{Caller: alice}, projections.MailingFilter{Status: "started", IsActive: ptr(true)}, projections.IDPage{Limit: 5}); err != nil || len(lst) != 1 {
		t.Fatalf("filter started+active: %d (%v)", len(lst), err)
	}
	if lst, _, err := w.q.ListMailings(ctx, projections.OwnerScope{Caller: alice}, projections.MailingFilter{IsActive: ptr(false)}, projections.IDPage{Limit: 5}); err != nil || len(lst) != 0 {
		t.Fatalf("filter inactive: %d (%v)", len(lst), err)
	}

	m = domain.LoadMailing(mustHistory(t, w.store, mid))
	if err := m.Complete(time.Now(), "end"); err != nil {
		t.Fatal(err)
	}
	appendChanges(t, w.store, mid, m)
	w.project(false)
	// Completed: the message is free, the mailing cannot be edited or re-enabled.
	if _, err := w.mailings.Update(ctx, meta(alice), commands.UpdateMailing{ID: mid, Timezone: ptr("UTC")}); !errors.Is(err, domain.ErrMailingCompleted) {
		t.Fatalf("edit completed: %v", err)
	}
	if _, err := w.messages.Delete(ctx, meta(alice), commands.DeleteMessage{ID: msg.State.ID()}); err != nil {
		t.Fatalf("delete message of a completed mailing: %v", err)
	}
	if _, err := w.mailings.Delete(ctx, meta(alice), commands.DeleteMailing{ID: mid}); err != nil {
		t.Fatal(err)
	}
	w.project(false)
	if st := w.stats(); st.MailingsTotal != 0 || st.MailingsActive != 0 {
		t.Fatalf("stats after delete: %+v", st)
	}
	w.project(true)
	if st := w.stats(); st.MailingsTotal != 0 || st.MailingsActive != 0 {
		t.Fatalf("stats after replay: %+v", st)
	}
}

// stats reads the public figures.
func (w *world) stats() projections.PublicStats {
	w.t.Helper()
	st, err := w.q.PublicStats(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func mustHistory(t *testing.T, s *eventstore.Store, id uuid.UUID) []domain.Event {
	t.Helper()
	recs, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]domain.Event, len(recs))
	for i, r := range recs {
		out[i] = r.Event
	}
	return out
}

func appendChanges(t *testing.T, s *eventstore.Store, id uuid.UUID, m *domain.Mailing) {
	t.Helper()
	evs := make([]domain.NewEvent, len(m.Changes()))
	for i, e := range m.Changes() {
		evs[i] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: e, Metadata: meta(uuid.New())}
	}
	if _, err := s.Append(context.Background(), domain.Stream{Type: domain.MailingStreamType, ID: id}, m.Version(), evs...); err != nil {
		t.Fatal(err)
	}
}
