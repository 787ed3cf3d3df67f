package projections

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/internal/testenv"
)

// gauges are the values of the unlabelled gauges c serves, by name.
func gauges(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}

// Runs in progress are the started runs of the reports read model, and
// their pending deliveries those neither sent, failed, skipped nor
// deferred; finished and skipped runs count for nothing.
func TestRunsGaugesCountStartedRunsAndTheirUnattemptedDeliveries(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	runs := NewRuns(pool, zerolog.Nop())
	if got := gauges(t, runs); got["herald_runs_in_progress"] != 0 || got["herald_run_deliveries_pending"] != 0 {
		t.Fatalf("no runs: %v, want both 0", got)
	}
	for _, r := range []struct {
		status                                   string
		clients, sent, failed, skipped, deferred int
	}{
		{"started", 10, 2, 1, 1, 1}, // 5 pending
		{"started", 3, 0, 0, 0, 0},  // 3 pending
		{"finished", 8, 7, 1, 0, 0},
		{"skipped", 4, 0, 0, 0, 0},
	} {
		if _, err := pool.Exec(context.Background(), `
INSERT INTO report_runs (run_id, mailing_id, owner_id, status, due_at, at, clients, sent, failed, attempts_skipped, deferred, version)
VALUES ($1, $2, $3, $4, now(), now(), $5, $6, $7, $8, $9, 1)`,
			uuid.New(), uuid.New(), uuid.New(), r.status, r.clients, r.sent, r.failed, r.skipped, r.deferred); err != nil {
			t.Fatal(err)
		}
	}
	if got := gauges(t, runs); got["herald_runs_in_progress"] != 2 || got["herald_run_deliveries_pending"] != 8 {
		t.Fatalf("%v, want 2 runs in progress and 8 deliveries pending", got)
	}
}
