package saga

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/mail"
)

// ownerAccount gives the env's owner an account, active and verified.
func (e *env) ownerAccount() {
	e.t.Helper()
	u, err := domain.CreateSuperuser(domain.NewAccount{ID: e.owner, Email: "owner-" + e.owner.String()[:8] + "@example.test",
		Name: "Owner", PasswordHash: "not a real hash"}, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.UserStreamType, ID: e.owner}, Expected: eventstore.NoStream,
		Events: newEvents(u.Changes())})
}

// setOwnerActive blocks (false) or activates (true) the env's owner, as a
// manager's command does.
func (e *env) setOwnerActive(active bool) {
	e.t.Helper()
	recs, err := e.store.Load(e.ctx, e.owner)
	if err != nil {
		e.t.Fatal(err)
	}
	evs := make([]domain.Event, len(recs))
	for i, r := range recs {
		evs[i] = r.Event
	}
	u := domain.LoadUser(e.owner, evs)
	if active {
		err = u.Activate()
	} else {
		err = u.Block()
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.UserStreamType, ID: e.owner}, Expected: u.Version(),
		Events: newEvents(u.Changes())})
}

// skipReasons are the reasons of the mailing's skipped runs, oldest first.
func (e *env) skipReasons(mailingID uuid.UUID) []string {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT data->>'reason' FROM events WHERE type = 'run.skipped' AND data->>'mailing_id' = $1 ORDER BY position`,
		mailingID.String())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// A run due while its owner is blocked is skipped, saying why, and sends
// nothing; once the owner is active again the next run fires as usual.
func TestBlockedOwnersRunIsSkippedAndActivationRestoresTheSchedule(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true})
	s := e.drivenScheduler(SchedulerConfig{})
	e.ownerAccount()
	start := e.clock.Now().Add(2 * time.Hour)
	m := e.mailing(e.clients(3), start, start.Add(72*time.Hour), domain.Daily, "UTC")
	e.waitDue(m, start)

	e.setOwnerActive(false)
	e.clock.Set(start)
	e.tick(s, 1)
	e.wantRuns(m, 0)
	if got := e.skipReasons(m); len(got) != 1 || got[0] != domain.OwnerBlockedReason {
		t.Fatalf("skipped runs' reasons %q, want one %q", got, domain.OwnerBlockedReason)
	}
	// The schedule goes on: the next run is due tomorrow.
	next := start.Add(24 * time.Hour)
	e.waitDue(m, next)
	// Nor does anyone start a run by hand meanwhile.
	if _, _, err := e.runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: m, Trigger: domain.TriggerConsole}, system); !errors.Is(err, domain.ErrOwnerBlocked) {
		t.Fatalf("dispatch of a blocked owner's mailing: %v, want ErrOwnerBlocked", err)
	}
	e.wantRuns(m, 0)
	if n := e.sink.Count(); n != 0 {
		t.Fatalf("sink holds %d messages of a blocked owner", n)
	}

	e.setOwnerActive(true)
	e.clock.Set(next)
	e.tick(s, 1)
	e.wantRuns(m, 1)
	if _, err := e.sink.WaitFor(e.ctx, 3); err != nil {
		t.Fatal(err)
	}
	if got := e.skipReasons(m); len(got) != 1 {
		t.Fatalf("skipped runs after activation: %q", got)
	}
}

// Blocking the owner stops a run in progress: the deliveries in flight end,
// nothing more is sent, and the run finishes stopped with the reason and
// the deliveries it did not make.
func TestBlockingTheOwnerStopsARunInProgress(t *testing.T) {
	t.Parallel()
	// The sink holds every message at RCPT until the test lets one through.
	gate := make(chan struct{})
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	e := newEnv(t, envOptions{noScheduler: true, sender: SenderConfig{Concurrency: 2},
		reply: func(_, _ string, _ int) *mail.Reply { <-gate; return nil }})
	t.Cleanup(release)
	e.ownerAccount()
	const clients = 300
	m := e.manualMailing(e.clients(clients))
	run := e.dispatchNow(m)
	for range 5 {
		gate <- struct{}{}
	}
	if _, err := e.sink.WaitFor(e.ctx, 5); err != nil {
		t.Fatal(err)
	}
	// Two more are held at RCPT now, one per connection: they were
	// attempted before the block and end as the server answers.
	e.setOwnerActive(false)
	// The sender looks at its owner again once its last look is
	// OwnerCheck old by its clock.
	e.clock.Advance(time.Second)
	release()

	f := e.waitFinished(run)
	if !strings.HasPrefix(f.Stopped, domain.OwnerBlockedReason) {
		t.Fatalf("run finished %+v, want stopped because %q", f, domain.OwnerBlockedReason)
	}
	if f.Sent < 5 || f.Sent > 5+2 || f.Failed != 0 || f.Unsent != clients-f.Sent {
		t.Fatalf("run finished %+v: want 5 to 7 sent and the rest unsent", f)
	}
	// The run is over and nobody holds it: what the sink has is all it gets.
	if n := e.sink.Count(); n != f.Sent {
		t.Fatalf("sink holds %d messages, the run recorded %d sent", n, f.Sent)
	}
	if n := len(e.attempts(run)); n != f.Sent {
		t.Fatalf("%d attempts recorded, want the %d sent", n, f.Sent)
	}
}

// A run started before the block whose command a sender takes up after it
// (or one handed back for its deferred deliveries) sends nothing.
func TestRunTakenUpAfterTheBlockSendsNothing(t *testing.T) {
	t.Parallel()
	t.Run("listed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{noScheduler: true, noSender: true})
		e.ownerAccount()
		runTakenUpAfterTheBlock(e, e.manualMailing(e.clients(4)))
	})
	// An all-clients run counts its fixed set as unsent, without reading it.
	t.Run("all clients", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{noScheduler: true, noSender: true})
		e.ownerAccount()
		e.clients(4)
		runTakenUpAfterTheBlock(e, e.allClientsMailing())
	})
}

func runTakenUpAfterTheBlock(e *env, m uuid.UUID) {
	t := e.t
	t.Helper()
	run := e.dispatchNow(m)
	e.setOwnerActive(false)
	stats, err := e.newSender(SenderConfig{}).handle(e.ctx, commands.Dispatch{RunID: run, MailingID: m})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Stopped != domain.OwnerBlockedReason || stats.Attempts != 0 || stats.Unsent != 4 {
		t.Fatalf("stats %+v", stats)
	}
	if f, ok := e.finished(run); !ok || f.Stopped != domain.OwnerBlockedReason || f.Sent != 0 || f.Unsent != 4 {
		t.Fatalf("finished %+v (%v)", f, ok)
	}
	if n := e.sink.Count(); n != 0 {
		t.Fatalf("sink holds %d messages", n)
	}
}
