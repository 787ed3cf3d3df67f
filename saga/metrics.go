package saga

import "github.com/prometheus/client_golang/prometheus"

var (
	deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_deliveries_total",
		Help: "SMTP delivery attempts recorded by the senders, by outcome (success, temporary, permanent).",
	}, []string{"outcome"})
	runsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_runs_finished_total",
		Help: "Runs the senders finished, by how (complete, stopped).",
	}, []string{"how"})
	runsParked = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "herald_runs_parked_total",
		Help: "Times a sender left a run whose remaining deliveries all wait for a retry.",
	})
	schedulerActions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_scheduler_actions_total",
		Help: "What the scheduler did: due rows dispatched, skipped or completed, stalled runs resumed, runs with deferred deliveries retried, or an action failed.",
	}, []string{"action"})
)

// Collectors are the saga's metrics, for the application's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{deliveries, runsFinished, runsParked, schedulerActions}
}
