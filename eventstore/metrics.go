package eventstore

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var relayedEvents = promauto.NewCounter(prometheus.CounterOpts{
	Name: "herald_relay_published_events_total",
	Help: "Events the relay published to the bus.",
})
