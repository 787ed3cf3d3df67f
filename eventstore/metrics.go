package eventstore

import "github.com/prometheus/client_golang/prometheus"

var relayedEvents = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "herald_relay_published_events_total",
	Help: "Events the relay published to the bus.",
})

// Collectors are the store's metrics, for the application's registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{relayedEvents} }
