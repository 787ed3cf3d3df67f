package saga

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/internal/testenv"
)

// A run's page of recipients is looked up stream by stream, through the
// index, even when the events table has no statistics yet, as right after
// a large import: a plan over all the page's ids at once then scanned the
// whole table for each page, about 150 ms for 500 of 100,000 clients.
func TestLookupClientsPlanIgnoresStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	// Autovacuum must not analyse the table while the test looks.
	if _, err := pool.Exec(ctx, `ALTER TABLE events SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	_, err := pool.Exec(ctx, `INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT gen_random_uuid(), 'client', gen_random_uuid(), 1, 'client.created',
    jsonb_build_object('owner_id', '00000000-0000-0000-0000-000000000001', 'email', 'c' || i || '@example.org', 'full_name', 'Client ' || i),
    '{}'::jsonb
FROM generate_series(1, 20000) AS i`)
	if err != nil {
		t.Fatal(err)
	}
	var analysed bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stats WHERE tablename = 'events' AND attname = 'stream_id')`).Scan(&analysed); err != nil || analysed {
		t.Fatalf("the events table has statistics (%v): the test needs it without", err)
	}
	rows, err := pool.Query(ctx, `SELECT stream_id FROM events ORDER BY position LIMIT 500`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(ids) != 500 {
		t.Fatalf("%d ids (%v)", len(ids), err)
	}

	var plan []byte
	if err := pool.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+lookupClientsSQL, uuidArray(ids)).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var nodes []string
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		typ, _ := n["Node Type"].(string)
		rel, _ := n["Relation Name"].(string)
		nodes = append(nodes, typ+" on "+rel)
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			walk(k.(map[string]any))
		}
	}
	var top []map[string]map[string]any
	if err := json.Unmarshal(plan, &top); err != nil || len(top) != 1 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	walk(top[0]["Plan"])
	for _, n := range nodes {
		if strings.Contains(n, "Seq Scan on events") {
			t.Fatalf("the lookup scans the events table: %s", strings.Join(nodes, ", "))
		}
	}

	s := &Sender{pool: pool}
	found, err := s.lookupClients(ctx, append(ids, ids[0], uuid.New()))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(ids) {
		t.Fatalf("looked up %d of %d clients (one asked twice, one unknown)", len(found), len(ids))
	}
}
