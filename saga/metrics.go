package saga

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

var (
	deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_deliveries_total",
		Help: "Delivery attempts recorded by the senders, by outcome (success, temporary, permanent, skipped).",
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
	senderInFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "herald_sender_in_flight",
		Help: "Deliveries this process's senders are handing to the SMTP server right now.",
	})
)

// The label values each counter takes, so every series is served from the
// start, at 0, and a rate over it has a beginning.
func init() {
	for _, o := range []string{"success", "temporary", "permanent", "skipped"} {
		deliveries.WithLabelValues(o)
	}
	for _, h := range []string{"complete", "stopped"} {
		runsFinished.WithLabelValues(h)
	}
	for _, a := range []string{"dispatched", "skipped", "completed", "resumed", "retried", "failed"} {
		schedulerActions.WithLabelValues(a)
	}
}

// Collectors are the saga's metrics, for the application's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{deliveries, runsFinished, runsParked, schedulerActions, senderInFlight}
}

// nextFireSQL is the earliest run the schedule holds (not a completion),
// on the index of pending rows.
const nextFireSQL = `
SELECT coalesce(extract(epoch FROM min(due_at)), 0)::float8 FROM saga_schedule
WHERE due_at IS NOT NULL AND state = 'scheduled' AND active`

// NextFire is the scheduler's next planned start, read from saga_schedule
// on each scrape, so any process serves the same figure.
type NextFire struct {
	pool *pgxpool.Pool
	log  zerolog.Logger
	desc *prometheus.Desc
}

// NewNextFire returns the collector of the scheduler's next planned start.
func NewNextFire(pool *pgxpool.Pool, log zerolog.Logger) *NextFire {
	return &NextFire{pool: pool, log: log.With().Str("component", "scheduler").Logger(),
		desc: prometheus.NewDesc("herald_scheduler_next_fire_timestamp_seconds",
			"When the scheduler starts its next run, in Unix seconds; 0 when no run is planned.", nil, nil)}
}

// Describe implements prometheus.Collector.
func (n *NextFire) Describe(ch chan<- *prometheus.Desc) { ch <- n.desc }

// Collect implements prometheus.Collector.
func (n *NextFire) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var at float64
	if err := n.pool.QueryRow(ctx, nextFireSQL).Scan(&at); err != nil {
		n.log.Warn().Err(err).Msg("next fire: left out of this scrape")
		return
	}
	ch <- prometheus.MustNewConstMetric(n.desc, prometheus.GaugeValue, at)
}

// scrapeTimeout bounds the query behind a scrape's gauge.
const scrapeTimeout = 2 * time.Second
