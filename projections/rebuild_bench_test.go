package projections_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// BenchmarkRebuild replays a store of HERALD_BENCH_REBUILD_EVENTS events
// (default 1,000,000; 90% handled by the projector, on two topics, 1,000
// streams) into the test projector and reports events/s. "bulk" uses the
// optional BatchApplier (multi-row statements), "apply" one Apply per
// event, as a projector without the bulk interface does (run on a tenth of
// the events: it is the slow path). Target: ≥ 50,000 events/s.
func BenchmarkRebuild(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("HERALD_BENCH_REBUILD_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	for _, tc := range []struct {
		name   string
		p      projections.Projector
		events int
	}{{"bulk", rbBulkTally{}, n}, {"apply", rbTally{}, max(1, n/10)}} {
		b.Run(tc.name, func(b *testing.B) {
			env := newRBEnvB(b)
			seedEvents(b, env, tc.events)
			b.ResetTimer()
			var events int64
			var secs float64
			for range b.N {
				res, err := projections.Rebuild(context.Background(), env.pool, tc.p, projections.RebuildOptions{})
				if err != nil {
					b.Fatal(err)
				}
				events += res.Events
				secs += res.Elapsed.Seconds()
			}
			b.ReportMetric(float64(events)/secs, "events/s")
		})
	}
}

func newRBEnvB(b *testing.B) *rbEnv {
	pool := testenv.Pool(b)
	if _, err := pool.Exec(context.Background(), rbSchema); err != nil {
		b.Fatal(err)
	}
	return &rbEnv{pool: pool}
}

// seedEvents writes n events straight into the store with SQL, in
// transactions of 100,000 (appending through the store would dominate the
// benchmark's time, not the rebuild's).
func seedEvents(b *testing.B, env *rbEnv, n int) {
	b.Helper()
	ctx := context.Background()
	for done := 0; done < n; done += 100_000 {
		k := min(100_000, n-done)
		_, err := env.pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT gen_random_uuid(),
       CASE WHEN i % 10 = 1 THEN 'rbnote' ELSE 'rbtally' END,
       ('00000000-0000-0000-0000-' || lpad(((i % 1000) + CASE WHEN i % 10 = 1 THEN 1000 ELSE 0 END)::text, 12, '0'))::uuid,
       $1::bigint + i / 1000 + 1,
       CASE WHEN i % 10 = 1 THEN 'rbnote.noted' WHEN i % 10 = 2 THEN 'rbtally.ignored' ELSE 'rbtally.added' END,
       CASE WHEN i % 10 = 1 THEN jsonb_build_object('key', 'key-' || (i % 1000))
            WHEN i % 10 = 2 THEN '{}'::jsonb
            ELSE jsonb_build_object('key', 'key-' || (i % 1000), 'n', i % 97) END,
       '{"actor_id":"00000000-0000-0000-0000-000000000000","correlation_id":"00000000-0000-0000-0000-000000000000","causation_id":"00000000-0000-0000-0000-000000000000"}'::jsonb
FROM generate_series(0, $2::int - 1) AS i`, done/1000, k)
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := env.pool.Exec(ctx, `ANALYZE events`); err != nil {
		b.Fatal(err)
	}
	env.waitReadable(b)
}
