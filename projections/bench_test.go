package projections_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
// append to the projector's transaction. Target: p99 ≤ 50 ms.
func BenchmarkAppendToProjection(b *testing.B) {
	const rate, seconds = 1000, 10
	p := newPipeline(b, testenv.Redis(b))
	ctx := context.Background()
	if _, err := p.pool.Exec(ctx, `CREATE TABLE bench_latency (event_id uuid PRIMARY KEY, sent_ns bigint, applied_ns bigint, rec_ns bigint)`); err != nil {
		b.Fatal(err)
	}
	p.start(b, latencyProjector{})
	// drive appends n events at rate: eight writers share the schedule,
	// event k is due at start + k ms. It returns once all are appended.
	var appendMu sync.Mutex
	var appendTimes []float64
	drive := func(n int) {
		appendTimes = appendTimes[:0]
		start := time.Now()
		errs := make(chan error, 8)
		for w := 0; w < 8; w++ {
			go func() {
				for k := w; k < n; k += 8 {
					due := start.Add(time.Duration(k) * time.Second / rate)
					time.Sleep(time.Until(due))
					t0 := time.Now()
					_, err := p.store.Append(ctx, domain.Stream{Type: "timing", ID: uuid.New()}, eventstore.NoStream,
						domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: timed{SentNanos: t0.UnixNano()}})
					appendMu.Lock()
					appendTimes = append(appendTimes, float64(time.Since(t0).Microseconds())/1000)
					appendMu.Unlock()
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
	}
	// applied waits until the projection holds n events.
	applied := func(what string, n int) {
		testenv.Eventually(b, 30*time.Second, fmt.Sprintf("%s: %d events in the projection", what, n), func() bool {
			var got int
			if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM bench_latency`).Scan(&got); err != nil {
				b.Fatal(err)
			}
			return got >= n
		})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		total := rate * seconds
		// Two seconds at the same rate first, not measured: the pools open
		// their connections and PostgreSQL plans its statements then. The
		// figure is the steady state's.
		b.StopTimer()
		drive(2 * rate)
		applied("warm-up", 2*rate)
		if _, err := p.pool.Exec(ctx, `TRUNCATE bench_latency`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		// HERALD_BENCH_DEBUG=1: once a second, how far the store, the relay
		// and the projector are, to see which stage falls behind.
		if os.Getenv("HERALD_BENCH_DEBUG") != "" {
			go func() {
				for range 12 {
					time.Sleep(time.Second)
					var head, relayed, applied int64
					_ = p.pool.QueryRow(ctx, `SELECT (SELECT max(position) FROM events), (SELECT max(position) FROM store_checkpoints), (SELECT max(position) FROM projection_checkpoints)`).Scan(&head, &relayed, &applied)
					fmt.Fprintf(os.Stderr, "head %d relayed %d applied %d\n", head, relayed, applied)
				}
			}()
		}
		var seen *streamObserver
		if os.Getenv("HERALD_BENCH_DEBUG") != "" {
			seen = observeStream(ctx, p.cfg.Client, p.cfg.Topic("events.timing"))
		}
		drive(total)
		applied("measured", total)
		var a50, a99, r50, r99 float64
		if err := p.pool.QueryRow(ctx, `SELECT percentile_cont(0.5) within group (order by rec_ns - sent_ns)/1e6, percentile_cont(0.99) within group (order by rec_ns - sent_ns)/1e6,
  percentile_cont(0.5) within group (order by applied_ns - rec_ns)/1e6, percentile_cont(0.99) within group (order by applied_ns - rec_ns)/1e6 FROM bench_latency`).Scan(&a50, &a99, &r50, &r99); err != nil {
			b.Fatal(err)
		}
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
		if seen != nil {
			seen.report(b, p.pool)
			b.Logf("append call (ms): %s", quantiles(appendTimes))
			// The slowest 100 ms windows: a stall shows as a run of them.
			rows, err := p.pool.Query(ctx, `SELECT (sent_ns - min(sent_ns) OVER ())/100000000 AS w, applied_ns - sent_ns FROM bench_latency`)
			if err != nil {
				b.Fatal(err)
			}
			worst := map[int64]int64{}
			for rows.Next() {
				var w, l int64
				if err := rows.Scan(&w, &l); err != nil {
					b.Fatal(err)
				}
				worst[w] = max(worst[w], l)
			}
			var line []string
			for w := int64(0); w < int64(seconds*10); w++ {
				if worst[w] > int64(40*time.Millisecond) {
					line = append(line, fmt.Sprintf("%.1fs:%dms", float64(w)/10, worst[w]/1e6))
				}
			}
			b.Logf("100 ms windows with an event slower than 40 ms: %s", strings.Join(line, " "))
		}
	}
}

// streamObserver reads a topic's stream directly (XREAD, no group), noting
// for each event when Redis added it (the entry id's milliseconds) and when
// a plain reader saw it: the debug breakdown of where latency goes.
type streamObserver struct {
	mu      sync.Mutex
	added   map[string]int64 // event id → XADD time, ms
	arrived map[string]int64 // event id → seen by XREAD, ns
}

func observeStream(ctx context.Context, c redis.UniversalClient, stream string) *streamObserver {
	o := &streamObserver{added: map[string]int64{}, arrived: map[string]int64{}}
	go func() {
		last := "$"
		for ctx.Err() == nil {
			res, err := c.XRead(ctx, &redis.XReadArgs{Streams: []string{stream, last}, Block: 2 * time.Second, Count: 1000}).Result()
			now := time.Now().UnixNano()
			if err != nil {
				if err == redis.Nil {
					continue
				}
				return
			}
			o.mu.Lock()
			for _, s := range res {
				for _, m := range s.Messages {
					last = m.ID
					ms, _ := strconv.ParseInt(strings.SplitN(m.ID, "-", 2)[0], 10, 64)
					id := fmt.Sprint(m.Values["_watermill_message_uuid"])
					o.added[id], o.arrived[id] = ms, now
				}
			}
			o.mu.Unlock()
		}
	}()
	return o
}

func (o *streamObserver) report(b *testing.B, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) {
	rows, err := pool.Query(context.Background(), `SELECT event_id::text, sent_ns, applied_ns FROM bench_latency`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var relay, redisLag, consume []float64
	o.mu.Lock()
	defer o.mu.Unlock()
	for rows.Next() {
		var id string
		var sent, applied int64
		if err := rows.Scan(&id, &sent, &applied); err != nil {
			b.Fatal(err)
		}
		ms, ok := o.added[id]
		if !ok {
			continue
		}
		relay = append(relay, float64(ms*1e6-sent)/1e6)
		redisLag = append(redisLag, float64(o.arrived[id]-ms*1e6)/1e6)
		consume = append(consume, float64(applied-ms*1e6)/1e6)
	}
	b.Logf("stages (ms, XADD time has 1 ms resolution): sent→XADD %s; XADD→plain reader %s; XADD→applied %s",
		quantiles(relay), quantiles(redisLag), quantiles(consume))
}

func quantiles(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	sort.Float64s(v)
	return fmt.Sprintf("p50 %.1f p99 %.1f", v[len(v)/2], v[int(float64(len(v)-1)*0.99)])
}
