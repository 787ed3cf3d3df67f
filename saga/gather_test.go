package saga

import (
	"testing"
	"time"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// An append waits for its batch to hold half the in-flight window (or for
// Gather to pass): with a Gather no run outlasts, every batch but the last
// holds at least InFlight/2 attempts, whatever the speed of the machine,
// and the run still finishes with each client mailed once.
func TestAttemptBatchesGatherHalfTheInFlightWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noScheduler: true, noSender: true})
	cs := e.clients(100)
	start := e.clock.Now().Add(30 * 24 * time.Hour)
	m := e.mailing(cs, start, start.Add(time.Hour), domain.Once, "UTC")
	run := e.dispatchNow(m)

	s := e.newSender(SenderConfig{Concurrency: 4, InFlight: 32, Gather: time.Hour})
	stats, err := s.handle(e.ctx, commands.Dispatch{RunID: run, MailingID: m})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sent != 100 || e.sink.Count() != 100 {
		t.Fatalf("sent %d, sink has %d; want 100 each", stats.Sent, e.sink.Count())
	}
	rows, err := e.pool.Query(e.ctx, `SELECT jsonb_array_length(data->'attempts') FROM events
WHERE stream_id = $1 AND type = 'run.deliveries_attempted' ORDER BY version`, run)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	total := 0
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
		total += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if total != 100 {
		t.Fatalf("batches %v hold %d attempts, want 100", sizes, total)
	}
	for i, n := range sizes[:len(sizes)-1] {
		if n < 16 {
			t.Fatalf("batch %d of %v holds %d attempts, want at least 16 (half of InFlight)", i, sizes, n)
		}
	}
}
