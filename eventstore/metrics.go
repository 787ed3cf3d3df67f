package eventstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

var relayedEvents = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "herald_relay_published_events_total",
	Help: "Events the relay published to the bus.",
})

// Collectors are the store's metrics, for the application's registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{relayedEvents} }

// LagCountLimit bounds the events a lag gauge counts on one scrape, so a
// scrape of a reader far behind costs an index range of this size at most;
// a larger backlog reads as this figure (and the lag's age says how far
// behind). Counting 100,000 of a million-client import's fresh events took
// the projectors' gauge past ScrapeTimeout, leaving it out of the scrapes
// that mattered.
const LagCountLimit = 10_000

// ScrapeTimeout bounds the queries behind a scrape's gauges: a slow
// database leaves those gauges out of that scrape rather than hold it.
const ScrapeTimeout = 2 * time.Second

// relayLagSQL counts the events past the relay's checkpoint (up to $2, an
// index-only range of the commit-order index) and takes the age of the
// first of them in commit order, the next to publish. The age is on the
// database's clock, the one recorded_at was written with.
const relayLagSQL = `
SELECT (SELECT count(*) FROM (SELECT FROM events e WHERE (e.tx_id, e.position) > ` + relayCheckpoint + ` LIMIT $2) AS b),
       coalesce((SELECT extract(epoch FROM clock_timestamp() - e.recorded_at)::float8 FROM events e
            WHERE (e.tx_id, e.position) > ` + relayCheckpoint + `
            ORDER BY e.tx_id, e.position LIMIT 1), 0)`

// relayCheckpoint is the cursor of relay $1, the start of the store if it
// never published.
const relayCheckpoint = `(
    coalesce((SELECT tx_id FROM store_checkpoints WHERE name = $1), '0'::xid8),
    coalesce((SELECT position FROM store_checkpoints WHERE name = $1), 0))`

// RelayLag is the relay's distance behind the store, read from PostgreSQL
// on each scrape: the events committed and not yet published (the outbox's
// depth) and how long the oldest of them has waited. Any process can serve
// it, whichever holds the relay's lock.
type RelayLag struct {
	pool            *pgxpool.Pool
	name            string
	log             zerolog.Logger
	events, seconds *prometheus.Desc
}

// NewRelayLag returns the lag collector of the relay of busPrefix.
func NewRelayLag(pool *pgxpool.Pool, busPrefix string, log zerolog.Logger) *RelayLag {
	return &RelayLag{pool: pool, name: RelayName(busPrefix), log: log.With().Str("component", "relay").Logger(),
		events: prometheus.NewDesc("herald_relay_lag_events",
			"Events in the store the relay has not yet published to the bus (the outbox's depth).", nil, nil),
		seconds: prometheus.NewDesc("herald_relay_lag_seconds",
			"Age in seconds of the oldest event the relay has not yet published; 0 when caught up.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (l *RelayLag) Describe(ch chan<- *prometheus.Desc) { ch <- l.events; ch <- l.seconds }

// Collect implements prometheus.Collector.
func (l *RelayLag) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	var n int64
	var age float64
	if err := l.pool.QueryRow(ctx, relayLagSQL, l.name, LagCountLimit).Scan(&n, &age); err != nil {
		l.log.Warn().Err(err).Msg("relay lag: left out of this scrape")
		return
	}
	ch <- prometheus.MustNewConstMetric(l.events, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(l.seconds, prometheus.GaugeValue, max(age, 0))
}
