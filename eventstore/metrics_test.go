package eventstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

// gauge is the value of the unlabelled gauge name that c serves.
func gauge(t *testing.T, c prometheus.Collector, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not served", name)
	return 0
}

// The relay's lag counts what it has not published, with the age of the
// oldest, and reads 0 once it has published everything.
func TestRelayLagFollowsTheRelay(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	relay, cfg := newRelay(t, s)
	lag := eventstore.NewRelayLag(s.Pool(), cfg.Prefix, zerolog.Nop())
	if n := gauge(t, lag, "herald_relay_lag_events"); n != 0 {
		t.Fatalf("an empty store: lag %v events, want 0", n)
	}
	if _, err := s.Append(ctx, stream(), eventstore.NoStream, note("a"), note("b"), note("c")); err != nil {
		t.Fatal(err)
	}
	// No relay runs yet: the three events wait.
	if n := gauge(t, lag, "herald_relay_lag_events"); n != 3 {
		t.Fatalf("lag %v events before the relay ran, want 3", n)
	}
	if age := gauge(t, lag, "herald_relay_lag_seconds"); age <= 0 {
		t.Fatalf("lag %v s before the relay ran, want the oldest event's age", age)
	}

	runRelay(t, relay)
	testenv.Eventually(t, 30*time.Second, "the relay caught up", func() bool {
		return gauge(t, lag, "herald_relay_lag_events") == 0 && gauge(t, lag, "herald_relay_lag_seconds") == 0
	})
}
