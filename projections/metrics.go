package projections

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	appliedEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_projection_applied_events_total",
		Help: "Events applied to read models, by projector.",
	}, []string{"projector"})
	duplicateEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_projection_duplicate_events_total",
		Help: "Redelivered events a projector had already applied.",
	}, []string{"projector"})
	gapFilled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_projection_gap_filled_events_total",
		Help: "Events read from the store because the bus did not deliver them.",
	}, []string{"projector"})
	parkedEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_projection_parked_events_total",
		Help: "Events a projector could not apply and parked.",
	}, []string{"projector"})
)

// Collectors are the runtime's metrics, for the application's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{appliedEvents, duplicateEvents, gapFilled, parkedEvents}
}
