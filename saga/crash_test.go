package saga

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// gate makes the sink hold every RCPT while closed: a sender killed then
// has no message whose delivery the sink accepted but the store does not
// know of (the one window SMTP cannot close: see TestCrashAtAnyMomentResendsOnlyTheInFlightWindow).
type gate struct {
	closed  atomic.Bool
	mu      sync.Mutex
	release chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) reply(_, _ string, _ int) *mail.Reply {
	if g.closed.Load() {
		g.mu.Lock()
		ch := g.release
		g.mu.Unlock()
		<-ch
		return &mail.Reply{Code: 421, Text: "4.3.2 held by the test"}
	}
	return nil
}

func (g *gate) close() { g.closed.Store(true) }

func (g *gate) open() {
	g.closed.Store(false)
	g.mu.Lock()
	close(g.release)
	g.release = make(chan struct{})
	g.mu.Unlock()
}

func (e *env) successes(runID uuid.UUID) int {
	return e.count(`SELECT count(*) FROM run_attempts($1) WHERE success`, runID)
}

// messageIDs counts the messages the sink holds by Message-ID, and returns
// how many it holds in all.
func (e *env) messageIDs() (map[string]int, int) {
	e.t.Helper()
	msgs, err := e.sink.Messages()
	if err != nil {
		e.t.Fatal(err)
	}
	seen := map[string]int{}
	for _, msg := range msgs {
		seen[msg.MessageID]++
	}
	return seen, len(msgs)
}

func TestCrashMidRunThenRestartMailsEveryClientExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000-client crash test")
	}
	t.Parallel()
	g := newGate()
	e := newEnv(t, envOptions{noScheduler: true, noSender: true, reply: g.reply})
	const n = 5000
	clients := e.clients(n)
	m := e.manualMailing(clients)
	run := e.dispatchNow(m)

	c := e.startChild(8)
	testenv.Eventually(e.t, 60*time.Second, "a third delivered", func() bool { return e.sink.Count() >= n/3 })
	// Mid-run: hold the server, let the sender record what the sink took,
	// then SIGKILL it while its connections wait for RCPT answers.
	g.close()
	var stable int
	testenv.Eventually(e.t, 30*time.Second, "records caught up with the sink", func() bool {
		if e.successes(run) == e.sink.Count() {
			stable++
		} else {
			stable = 0
		}
		return stable >= 5
	})
	done := e.sink.Count()
	c.kill()
	g.open()
	if f, ok := e.finished(run); ok {
		t.Fatalf("run finished before the kill: %+v", f)
	}
	t.Logf("killed the sender after %d of %d deliveries", done, n)

	// Restart: the same consumer takes its unacknowledged command back.
	e.startChild(8)
	f := e.waitFinished(run)
	if f.Sent != n || f.Failed != 0 {
		t.Fatalf("finished %+v", f)
	}
	// Every client exactly one recorded success, none skipped.
	var clientsWithOne, total int
	if err := e.pool.QueryRow(e.ctx, `
SELECT count(*) FILTER (WHERE k = 1), coalesce(sum(k), 0) FROM (
  SELECT count(*) AS k FROM run_attempts($1) WHERE success GROUP BY client_id) s`, run).Scan(&clientsWithOne, &total); err != nil {
		t.Fatal(err)
	}
	if clientsWithOne != n || total != n {
		t.Fatalf("%d clients with exactly one success, %d successes; want %d and %d", clientsWithOne, total, n, n)
	}
	// The sink received each client's message once, by Message-ID.
	seen, _ := e.messageIDs()
	want := map[string]bool{}
	for _, c := range clients {
		want[run.String()+"."+c.String()+"@example.test"] = true
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("Message-ID %s received %d times", id, k)
		}
		if !want[id] {
			t.Fatalf("unexpected Message-ID %s", id)
		}
	}
	if len(seen) != n {
		t.Fatalf("sink received %d distinct messages, want %d", len(seen), n)
	}
}

// SMTP has no way to ask whether the server took a message whose reply the
// client never read, so a sender killed at an arbitrary moment may resend
// the deliveries in flight (started and not yet recorded); never more than
// SenderConfig.InFlight (8 × Concurrency), never a recorded one, and the
// store still holds exactly one success per client.
func TestCrashAtAnyMomentResendsOnlyTheInFlightWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, noSender: true})
	const n, conc = 2000, 8
	clients := e.clients(n)
	run := e.dispatchNow(e.manualMailing(clients))
	c := e.startChild(conc)
	testenv.Eventually(e.t, 60*time.Second, "half delivered", func() bool { return e.sink.Count() >= n/2 })
	c.kill()
	e.startChild(conc)
	f := e.waitFinished(run)
	if f.Sent != n {
		t.Fatalf("finished %+v", f)
	}
	if got := e.successes(run); got != n {
		t.Fatalf("%d successes recorded, want %d", got, n)
	}
	seen, total := e.messageIDs()
	dups := total - len(seen)
	// Deliveries in flight: started and not yet committed.
	bound := 8 * conc
	t.Logf("kill at an arbitrary moment: %d messages resent (in flight at most %d)", dups, bound)
	if len(seen) != n || dups > bound {
		t.Fatalf("%d distinct, %d duplicates", len(seen), dups)
	}
}
