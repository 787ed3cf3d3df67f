package projections_test

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

type timed struct {
	SentNanos int64 `json:"sent_ns"`
}

func (timed) EventType() string { return "timing.sent" }

func init() { domain.RegisterEvents(timed{}) }

// latencyProjector records when each event reached the read model.
type latencyProjector struct{}

func (latencyProjector) Name() string         { return "latency" }
func (latencyProjector) EventTypes() []string { return []string{"timing.sent"} }
func (latencyProjector) Tables() []string     { return []string{"bench_latency"} }
func (latencyProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	_, err := tx.Exec(ctx, `INSERT INTO bench_latency (event_id, sent_ns, applied_ns, rec_ns) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		e.EventID, e.Event.(timed).SentNanos, time.Now().UnixNano(), e.RecordedAt.UnixNano())
	return err
}

// BenchmarkAppendToProjection: events appended at a steady 1,000/s through
// the real relay, Redis and projection runtime; latency from just before the
// append to the projector's transaction. Target (issue 2): p99 ≤ 50 ms.
func BenchmarkAppendToProjection(b *testing.B) {
	const rate, seconds = 1000, 10
	p := newPipeline(b, testenv.Redis(b))
	ctx := context.Background()
	if _, err := p.pool.Exec(ctx, `CREATE TABLE bench_latency (event_id uuid PRIMARY KEY, sent_ns bigint, applied_ns bigint, rec_ns bigint)`); err != nil {
		b.Fatal(err)
	}
	p.start(b, latencyProjector{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		total := rate * seconds
		// Eight writers share the schedule: event k is due at start + k ms.
		start := time.Now()
		// HERALD_BENCH_DEBUG=1: once a second, how far the store, the relay
		// and the projector are, to see which stage falls behind.
		if os.Getenv("HERALD_BENCH_DEBUG") != "" {
			go func() {
				for range 12 {
					time.Sleep(time.Second)
					var head, relayed, applied int64
					_ = p.pool.QueryRow(ctx, `SELECT (SELECT max(position) FROM events), (SELECT max(position) FROM store_checkpoints), (SELECT max(position) FROM projection_checkpoints)`).Scan(&head, &relayed, &applied)
					b.Logf("head %d relayed %d applied %d", head, relayed, applied)
				}
			}()
		}
		errs := make(chan error, 8)
		for w := 0; w < 8; w++ {
			go func() {
				for k := w; k < total; k += 8 {
					due := start.Add(time.Duration(k) * time.Second / rate)
					time.Sleep(time.Until(due))
					_, err := p.store.Append(ctx, domain.Stream{Type: "timing", ID: uuid.New()}, eventstore.NoStream,
						domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: timed{SentNanos: time.Now().UnixNano()}})
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for w := 0; w < 8; w++ {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		var n int
		for time.Now().Before(deadline) {
			if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM bench_latency`).Scan(&n); err != nil {
				b.Fatal(err)
			}
			if n >= total*(i+1) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n < total*(i+1) {
			b.Fatalf("only %d of %d events reached the projection", n, total)
		}
		var a50, a99, r50, r99 float64
		_ = p.pool.QueryRow(ctx, `SELECT percentile_cont(0.5) within group (order by rec_ns - sent_ns)/1e6, percentile_cont(0.99) within group (order by rec_ns - sent_ns)/1e6,
  percentile_cont(0.5) within group (order by applied_ns - rec_ns)/1e6, percentile_cont(0.99) within group (order by applied_ns - rec_ns)/1e6 FROM bench_latency`).Scan(&a50, &a99, &r50, &r99)
		b.Logf("sent→recorded p50 %.1f p99 %.1f ms; recorded→applied p50 %.1f p99 %.1f ms", a50, a99, r50, r99)
		rows, err := p.pool.Query(ctx, `SELECT applied_ns - sent_ns FROM bench_latency`)
		if err != nil {
			b.Fatal(err)
		}
		lat, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			b.Fatal(err)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(q float64) time.Duration { return time.Duration(lat[int(float64(len(lat)-1)*q)]) }
		b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99_ms")
		b.Logf("%d events at %d/s: append→projection p50 %s, p99 %s, max %s (target p99 ≤ 50 ms)",
			len(lat), rate, pct(0.50), pct(0.99), time.Duration(lat[len(lat)-1]))
	}
}
