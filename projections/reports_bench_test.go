package projections

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/heraldmail/herald/internal/testenv"
)

// BenchmarkReportsRebuild rebuilds the reports projector from a store of
// HERALD_BENCH_REPORT_EVENTS events (default 300,000): 100 mailings with
// one run each, almost all of the events delivery attempts, as a store of
// a busy service holds. It reports events/s through ApplyBatch, the path
// `herald rebuild-projections` takes.
func BenchmarkReportsRebuild(b *testing.B) {
	n := 300_000
	if s := os.Getenv("HERALD_BENCH_REPORT_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	ctx := context.Background()
	pool := testenv.Pool(b)
	const runs = 100
	per := max(1, n/runs-1)
	// Mailings, runs' starts, then the deliveries, in SQL (appending through
	// the store would take longer than the rebuild measured).
	_, err := pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT gen_random_uuid(), 'mailing', md5('m' || r)::uuid, 1, 'mailing.created',
       jsonb_build_object('mailing_id', md5('m' || r)::uuid, 'owner_id', md5('o' || (r % 10))::uuid, 'message_id', gen_random_uuid(),
           'client_ids', '[]'::jsonb, 'start_at', '2026-11-25T09:00:00Z', 'end_at', '2026-12-25T09:00:00Z',
           'periodicity', 'daily', 'timezone', 'UTC', 'is_active', true),
       '{}'::jsonb
FROM generate_series(1, $1::int) AS r;
`, runs)
	if err != nil {
		b.Fatal(err)
	}
	_, err = pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT gen_random_uuid(), 'run', md5('r' || r)::uuid, 1, 'run.started',
       jsonb_build_object('run_id', md5('r' || r)::uuid, 'mailing_id', md5('m' || r)::uuid, 'owner_id', md5('o' || (r % 10))::uuid,
           'message_id', gen_random_uuid(), 'trigger', 'schedule', 'due_at', '2026-11-25T09:00:00Z',
           'started_at', '2026-11-25T09:00:00Z', 'clients', $2::int),
       '{}'::jsonb
FROM generate_series(1, $1::int) AS r`, runs, per)
	if err != nil {
		b.Fatal(err)
	}
	for r := 1; r <= runs; r++ {
		_, err = pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT gen_random_uuid(), 'run', md5('r' || $1::int)::uuid, i + 1, 'run.delivery_attempted',
       jsonb_build_object('mailing_id', md5('m' || $1::int)::uuid, 'client_id', gen_random_uuid(), 'email', 'c' || i || '@example.test',
           'success', i % 7 <> 0, 'server_response', CASE WHEN i % 7 <> 0 THEN '250 2.0.0 ok' ELSE '550 5.1.1 no such user' END,
           'attempted_at', '2026-11-25T09:00:00Z'::timestamptz + i * interval '1 ms', 'attempt', 1),
       '{}'::jsonb
FROM generate_series(1, $2::int) AS i`, r, per)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var events int64
	var secs float64
	for range b.N {
		res, err := Rebuild(ctx, pool, ReportsProjector{}, RebuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
		secs += res.Elapsed.Seconds()
	}
	b.StopTimer()
	var total, success int64
	if err := pool.QueryRow(ctx, `SELECT sum(attempts_total), sum(attempts_success) FROM report_mailings`).Scan(&total, &success); err != nil {
		b.Fatal(err)
	}
	if total != int64(runs*per) {
		b.Fatalf("rebuilt report counts %d attempts, want %d", total, runs*per)
	}
	b.ReportMetric(float64(events)/secs, "events/s")
}
