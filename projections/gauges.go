package projections

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/eventstore"
)

// lagSQL counts, per projector and topic, the events of the topic past
// the projector's checkpoint (up to $4) and takes the age of the first of
// them in commit order, the next to apply. Both are ranges of the
// per-topic commit-order index (events_topic_order): comparing the whole
// key (stream type first) keeps the planner off the global commit-order
// index, whose scan for a quiet topic would pass every other topic's
// events. The age is on the database's clock, the one recorded_at was
// written with.
const lagSQL = `
SELECT t.projector,
       (SELECT count(*) FROM (
            SELECT FROM events e
            WHERE (e.stream_type, e.tx_id, e.position) > (t.stream_type, coalesce(c.tx_id, '0'::xid8), coalesce(c.position, 0))
              AND e.stream_type <= t.stream_type
            LIMIT $4) AS b),
       coalesce((SELECT extract(epoch FROM clock_timestamp() - e.recorded_at)::float8 FROM events e
            WHERE (e.stream_type, e.tx_id, e.position) > (t.stream_type, coalesce(c.tx_id, '0'::xid8), coalesce(c.position, 0))
              AND e.stream_type <= t.stream_type
            ORDER BY e.stream_type, e.tx_id, e.position LIMIT 1), 0)
FROM unnest($1::text[], $2::text[], $3::text[]) AS t(projector, topic, stream_type)
LEFT JOIN projection_checkpoints c ON c.projector = t.projector AND c.topic = t.topic`

// Lag is how far each projector is behind the store, read from PostgreSQL
// on each scrape: the events of its topics past its checkpoints and how
// long the oldest of them has waited. Any process can serve it, whichever
// runs the projectors.
type Lag struct {
	pool                 *pgxpool.Pool
	log                  zerolog.Logger
	names, topics, types []string
	projectors           []string
	events, seconds      *prometheus.Desc
}

// NewLag returns the lag collector of projectors.
func NewLag(pool *pgxpool.Pool, log zerolog.Logger, projectors ...Projector) *Lag {
	l := &Lag{pool: pool, log: log.With().Str("component", "projections").Logger(),
		events: prometheus.NewDesc("herald_projection_lag_events",
			"Events in the store past a projector's checkpoint, on the topics it consumes.", []string{"projector"}, nil),
		seconds: prometheus.NewDesc("herald_projection_lag_seconds",
			"Age in seconds of the oldest event a projector has not yet applied; 0 when caught up.", []string{"projector"}, nil),
	}
	for _, p := range projectors {
		l.projectors = append(l.projectors, p.Name())
		for _, t := range Topics(p) {
			l.names, l.topics, l.types = append(l.names, p.Name()), append(l.topics, t), append(l.types, streamTypeOf(t))
		}
	}
	return l
}

// Describe implements prometheus.Collector.
func (l *Lag) Describe(ch chan<- *prometheus.Desc) { ch <- l.events; ch <- l.seconds }

// Collect implements prometheus.Collector.
func (l *Lag) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), eventstore.ScrapeTimeout)
	defer cancel()
	rows, err := l.pool.Query(ctx, lagSQL, l.names, l.topics, l.types, eventstore.LagCountLimit)
	if err != nil {
		l.log.Warn().Err(err).Msg("projection lag: left out of this scrape")
		return
	}
	events, ages := map[string]int64{}, map[string]float64{}
	for rows.Next() {
		var name string
		var n int64
		var age float64
		if err := rows.Scan(&name, &n, &age); err != nil {
			rows.Close()
			l.log.Warn().Err(err).Msg("projection lag: left out of this scrape")
			return
		}
		events[name] += n
		ages[name] = max(ages[name], age)
	}
	if err := rows.Err(); err != nil {
		l.log.Warn().Err(err).Msg("projection lag: left out of this scrape")
		return
	}
	for _, name := range l.projectors {
		ch <- prometheus.MustNewConstMetric(l.events, prometheus.GaugeValue, float64(events[name]), name)
		ch <- prometheus.MustNewConstMetric(l.seconds, prometheus.GaugeValue, max(ages[name], 0), name)
	}
}

// runsSQL reads the started runs of the reports read model on the partial
// index of started runs (migration 00071): a delivery is attempted once
// it was sent, failed for good, skipped, or deferred to a retry.
const runsSQL = `
SELECT count(*), coalesce(sum(greatest(clients - sent - failed - attempts_skipped - deferred, 0)), 0)::bigint
FROM report_runs WHERE status = 'started'`

// Runs is the work in progress, read from the reports read model on each
// scrape: runs started and not finished, and their deliveries not yet
// attempted.
type Runs struct {
	pool              *pgxpool.Pool
	log               zerolog.Logger
	inProgress, queue *prometheus.Desc
}

// NewRuns returns the collector of runs in progress.
func NewRuns(pool *pgxpool.Pool, log zerolog.Logger) *Runs {
	return &Runs{pool: pool, log: log.With().Str("component", "projections").Logger(),
		inProgress: prometheus.NewDesc("herald_runs_in_progress",
			"Runs started and not finished, as the reports read model has them.", nil, nil),
		queue: prometheus.NewDesc("herald_run_deliveries_pending",
			"Deliveries of the runs in progress not yet attempted.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (r *Runs) Describe(ch chan<- *prometheus.Desc) { ch <- r.inProgress; ch <- r.queue }

// Collect implements prometheus.Collector.
func (r *Runs) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), eventstore.ScrapeTimeout)
	defer cancel()
	var runs, pending int64
	if err := r.pool.QueryRow(ctx, runsSQL).Scan(&runs, &pending); err != nil {
		r.log.Warn().Err(err).Msg("runs in progress: left out of this scrape")
		return
	}
	ch <- prometheus.MustNewConstMetric(r.inProgress, prometheus.GaugeValue, float64(runs))
	ch <- prometheus.MustNewConstMetric(r.queue, prometheus.GaugeValue, float64(pending))
}
