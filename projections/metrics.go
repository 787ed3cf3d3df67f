package projections

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	appliedEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_projection_applied_events_total",
		Help: "Events applied to read models, by projector.",
	}, []string{"projector"})
	duplicateEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_projection_duplicate_events_total",
		Help: "Redelivered events a projector had already applied.",
	}, []string{"projector"})
	gapFilled = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_projection_gap_filled_events_total",
		Help: "Events read from the store because the bus did not deliver them.",
	}, []string{"projector"})
	parkedEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_projection_parked_events_total",
		Help: "Events a projector could not apply and parked.",
	}, []string{"projector"})
)
