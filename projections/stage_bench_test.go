package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

// BenchmarkCatchUp: 10,000 events stored first, then the relay and the
// projector start: how fast the pipeline drains a backlog (events/s).
func BenchmarkCatchUp(b *testing.B) {
	p := newPipeline(b, testenv.Redis(b))
	ctx := context.Background()
	const n = 10000
	for i := 0; i < n/100; i++ {
		evs := make([]domain.NewEvent, 100)
		for j := range evs {
			evs[j] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: pinged{Text: "x"}}
		}
		if _, err := p.store.Append(ctx, domain.Stream{Type: "ping", ID: uuid.New()}, eventstore.NoStream, evs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	p.start(b, &pingProjector{})
	relayDone := time.Duration(0)
	testenv.Eventually(b, 5*time.Minute, "the backlog to be applied", func() bool {
		var relayed, applied int64
		if err := p.pool.QueryRow(ctx, `SELECT coalesce((SELECT position FROM store_checkpoints LIMIT 1), 0), (SELECT count(*) FROM test_pings)`).
			Scan(&relayed, &applied); err != nil {
			b.Fatal(err)
		}
		if relayed >= n && relayDone == 0 {
			relayDone = time.Since(start)
		}
		return applied >= n
	})
	total := time.Since(start)
	b.Logf("relay published %d in %s (%.0f/s); applied all in %s (%.0f/s)", n, relayDone, n/relayDone.Seconds(), total, n/total.Seconds())
}
