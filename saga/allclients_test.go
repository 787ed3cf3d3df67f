package saga

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/mail"
)

// allClientsMailing creates an active all-clients mailing of the env's
// owner, with a far-future window: the tests dispatch it by hand.
func (e *env) allClientsMailing() uuid.UUID {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7())
	start := e.clock.Now().Add(30 * 24 * time.Hour)
	m, err := domain.NewMailing(id, e.owner, domain.MailingFields{MessageID: e.message("Subject " + id.String()[:8]),
		AllClients: true, StartAt: start, EndAt: start.Add(24 * time.Hour), Periodicity: domain.Daily}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.MailingStreamType, ID: id}, Expected: eventstore.NoStream, Events: newEvents(m.Changes())})
	return id
}

// clientEvent appends events to a client's stream.
func (e *env) clientEvent(id uuid.UUID, evs ...domain.Event) {
	e.t.Helper()
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.ClientStreamType, ID: id}, Expected: eventstore.Any, Events: newEvents(evs)})
}

func (e *env) runStarted(runID uuid.UUID) domain.RunStarted {
	e.t.Helper()
	var data []byte
	if err := e.pool.QueryRow(e.ctx, `SELECT data FROM events WHERE stream_id = $1 AND version = 1`, runID).Scan(&data); err != nil {
		e.t.Fatal(err)
	}
	var s domain.RunStarted
	if err := json.Unmarshal(data, &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// attempted is the clients with an attempt in the run, sorted.
func (e *env) attempted(runID uuid.UUID) []uuid.UUID {
	var ids []uuid.UUID
	for id := range byClient(e.attempts(runID)) {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

func sorted(ids ...uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return out
}

func TestAllClientsRunMailsTheOwnersClientsAtItsStartAndTheNextRunTheNewcomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, noSender: true})
	cs := e.clients(6)
	now := e.clock.Now()
	// Left out of every run: deleted, unsubscribed, suppressed. A client
	// whose suppression was lifted is in.
	e.clientEvent(cs[1], domain.ClientDeleted{})
	e.clientEvent(cs[2], domain.ClientUnsubscribed{OwnerID: e.owner, Email: "x@example.test", At: now, Source: "link"})
	e.clientEvent(cs[3], domain.ClientSuppressed{OwnerID: e.owner, Email: "x@example.test", Reason: "bounces", At: now})
	e.clientEvent(cs[4], domain.ClientSuppressed{OwnerID: e.owner, Email: "x@example.test", Reason: "bounces", At: now},
		domain.ClientUnsuppressed{OwnerID: e.owner, Email: "x@example.test", At: now})
	// Someone else's client is never anyone's recipient.
	owner := e.owner
	e.owner = uuid.New()
	e.clients(1)
	e.owner = owner

	m := e.allClientsMailing()
	first := e.dispatchNow(m)
	start := e.runStarted(first)
	if !start.AllClients || start.ClientsAsOf == "" || start.Clients != 3 {
		t.Fatalf("run.started %+v, want all_clients with a snapshot and 3 clients", start)
	}
	// A client who joins after the first run started waits for the next.
	newcomer := e.clients(1)[0]
	s := e.newSender(SenderConfig{})
	if _, err := s.handle(e.ctx, commands.Dispatch{RunID: first, MailingID: m}); err != nil {
		t.Fatal(err)
	}
	if got, want := e.attempted(first), sorted(cs[0], cs[4], cs[5]); !slices.Equal(got, want) {
		t.Fatalf("first run mailed %v, want %v", got, want)
	}

	second := e.dispatchNow(m)
	if n := e.runStarted(second).Clients; n != 4 {
		t.Fatalf("second run starts with %d clients, want 4", n)
	}
	if _, err := s.handle(e.ctx, commands.Dispatch{RunID: second, MailingID: m}); err != nil {
		t.Fatal(err)
	}
	if got, want := e.attempted(second), sorted(cs[0], cs[4], cs[5], newcomer); !slices.Equal(got, want) {
		t.Fatalf("second run mailed %v, want %v", got, want)
	}
	if f := e.waitFinished(second); f.Sent != 4 || f.Failed != 0 || f.Skipped != 0 {
		t.Fatalf("second run finished %+v", f)
	}
	if n := e.sink.Count(); n != 7 {
		t.Fatalf("sink got %d mails, want 3 + 4", n)
	}
}

func TestResumedAllClientsRunMailsTheSetItsStartFixed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, noSender: true})
	cs := e.clients(30)
	m := e.allClientsMailing()
	run := e.dispatchNow(m)

	// A first sender mails ten and "crashes"; meanwhile clients join, one
	// of the set is deleted and one unsubscribes.
	for _, c := range cs[:10] {
		e.commit(attemptAppend(run, m, c, true))
	}
	late := e.clients(5)
	e.clientEvent(cs[10], domain.ClientDeleted{})
	e.clientEvent(cs[11], domain.ClientUnsubscribed{OwnerID: e.owner, Email: "x@example.test", At: e.clock.Now(), Source: "link"})

	// The resumed run (a second sender, as after a restart) mails the rest
	// of the set it started with: not the newcomers, not the deleted
	// client; the unsubscribed one is skipped at send time, as ever.
	// Pages of four: the done clients fill whole pages and part of one.
	stats, err := e.newSender(SenderConfig{RosterPage: 4}).handle(e.ctx, commands.Dispatch{RunID: run, MailingID: m})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Resumed != 10 || stats.Attempts != 19 || stats.Sent != 28 || stats.Skipped != 1 {
		t.Fatalf("stats %+v, want 10 resumed, 19 attempts (18 sent, 1 skipped)", stats)
	}
	if n := e.sink.Count(); n != 18 {
		t.Fatalf("sink got %d, want the 18 not yet done", n)
	}
	mailed := e.attempted(run)
	for _, id := range append(late, cs[10]) {
		if slices.Contains(mailed, id) {
			t.Fatalf("client %s mailed by a run that started before it joined or after it was deleted", id)
		}
	}
	if f, ok := e.finished(run); !ok || f.Sent != 28 || f.Skipped != 1 {
		t.Fatalf("finished %+v", f)
	}
}

func TestAllClientsRunReadsItsRecipientsPageByPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, noSender: true})
	cs := e.clients(23)
	e.clientEvent(cs[8], domain.ClientDeleted{}) // the last of the second page
	m := e.allClientsMailing()
	run := e.dispatchNow(m)
	// Pages of four and lookups of three, so neither lines up with the
	// other or with the set's 22 clients.
	stats, err := e.newSender(SenderConfig{RosterPage: 4, LookupBatch: 3}).handle(e.ctx, commands.Dispatch{RunID: run, MailingID: m})
	if err != nil {
		t.Fatal(err)
	}
	want := sorted(append(slices.Clone(cs[:8]), cs[9:]...)...)
	if got := e.attempted(run); !slices.Equal(got, want) {
		t.Fatalf("run mailed %d clients %v, want the 22 of its set %v", len(got), got, want)
	}
	if stats.Attempts != 22 || stats.Sent != 22 || e.sink.Count() != 22 {
		t.Fatalf("stats %+v, sink %d: want 22 attempts, each sent once", stats, e.sink.Count())
	}
}

func TestAllClientsRunRetriesItsDeferredDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{sender: SenderConfig{RetrySchedule: []time.Duration{time.Minute}, RosterPage: 2},
		reply: func(_, to string, attempt int) *mail.Reply {
			if attempt == 1 && (strings.HasPrefix(to, "c0-") || strings.HasPrefix(to, "c3-")) {
				return &mail.Reply{Code: 450, Text: "4.2.0 greylisted, try again later"}
			}
			return nil
		}})
	cs := e.clients(5)
	start := e.clock.Now()
	run := e.dispatchNow(e.allClientsMailing())
	// Two deliveries wait a minute; the run counts them without reading
	// its set again and parks until then.
	e.waitParkedUntil(run, start.Add(time.Minute))
	if n := e.sink.Count(); n != 3 {
		t.Fatalf("sink holds %d before the retry, want the 3 not deferred", n)
	}
	e.clock.Set(start.Add(time.Minute))
	if f := e.waitFinished(run); f.Sent != 5 || f.Failed != 0 || f.Unsent != 0 {
		t.Fatalf("finished %+v, want 5 sent", f)
	}
	per := byClient(e.attempts(run))
	for i, c := range cs {
		want := 1
		if i == 0 || i == 3 { // greylisted once
			want = 2
		}
		if len(per[c]) != want {
			t.Fatalf("client %d: %d attempts, want %d", i, len(per[c]), want)
		}
	}
	if n := e.sink.Count(); n != 5 {
		t.Fatalf("sink holds %d, want 5", n)
	}
}
