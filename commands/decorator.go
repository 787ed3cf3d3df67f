package commands

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

var (
	commandsHandled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_commands_total",
		Help: "Commands handled, by command and outcome (ok, invalid, not_found, conflict, forbidden, canceled, error).",
	}, []string{"command", "outcome"})
	commandDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "herald_command_duration_seconds",
		Help:    "How long commands took to handle, in seconds, by command.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"command"})
)

// Collectors are the command metrics, for the application's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{commandsHandled, commandDuration}
}

// Decorator wraps command handlers in what every command needs and no
// handler does itself: one structured log line per command (its name,
// actor, correlation, causation, outcome and duration) and the metrics
// above. The line leaves out what its caller reports: the HTTP access log
// has the request, and errors are logged by whoever handles them.
type Decorator struct {
	log zerolog.Logger
}

// NewDecorator returns a decorator logging to log.
func NewDecorator(log zerolog.Logger) *Decorator {
	return &Decorator{log: log.With().Str("component", "commands").Logger()}
}

// quietCommands log at debug when they succeed: a run records its
// deliveries a batch at a time, and a line per batch would drown the rest.
var quietCommands = map[string]bool{"RecordAttempts": true}

// decorate runs one command through the decorator. A command that arrives
// without a correlation gets one of its own, so every change has one.
func decorate[R any](d *Decorator, name string, meta domain.Metadata, handle func(domain.Metadata) (R, error)) (R, error) {
	return decorateWith(d, name, meta, handle, nil)
}

// decorateWith is decorate whose log line also carries what fields takes
// from the command's answer (an import's counts, say); fields may be nil.
func decorateWith[R any](d *Decorator, name string, meta domain.Metadata, handle func(domain.Metadata) (R, error),
	fields func(*zerolog.Event, R) *zerolog.Event) (R, error) {
	if meta.CorrelationID == uuid.Nil {
		meta.CorrelationID = uuid.Must(uuid.NewV7())
	}
	start := time.Now()
	out, err := handle(meta)
	took := time.Since(start)
	outcome := outcomeOf(err)
	commandsHandled.WithLabelValues(name, outcome).Inc()
	commandDuration.WithLabelValues(name).Observe(took.Seconds())

	ev := d.log.Info()
	switch {
	case outcome == "error":
		ev = d.log.Warn()
	case outcome == "ok" && quietCommands[name]:
		ev = d.log.Debug()
	}
	ev = ev.Str("command", name).Str("outcome", outcome).Dur("duration", took).Str("correlation_id", meta.CorrelationID.String())
	if meta.ActorID != uuid.Nil {
		ev = ev.Str("actor_id", meta.ActorID.String())
	}
	if meta.CausationID != uuid.Nil {
		ev = ev.Str("causation_id", meta.CausationID.String())
	}
	if fields != nil {
		ev = fields(ev, out)
	}
	ev.Msg("command handled")
	return out, err
}

// outcomeOf names an error's class for the metric and the log line.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, domain.ErrInvalid):
		return "invalid"
	case errors.Is(err, domain.ErrNotFound):
		return "not_found"
	case errors.Is(err, domain.ErrConflict):
		return "conflict"
	case errors.Is(err, domain.ErrForbidden):
		return "forbidden"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

// DecoratedRuns is Runs behind the decorator.
type DecoratedRuns struct {
	h *Runs
	d *Decorator
}

// Runs wraps h.
func (d *Decorator) Runs(h *Runs) *DecoratedRuns { return &DecoratedRuns{h: h, d: d} }

// Dispatch is Runs.Dispatch, decorated.
func (r *DecoratedRuns) Dispatch(ctx context.Context, cmd DispatchMailing, meta domain.Metadata) (eventstore.Result, uuid.UUID, error) {
	type dispatched struct {
		res   eventstore.Result
		runID uuid.UUID
	}
	out, err := decorate(r.d, "DispatchMailing", meta, func(meta domain.Metadata) (dispatched, error) {
		res, runID, err := r.h.Dispatch(ctx, cmd, meta)
		return dispatched{res, runID}, err
	})
	return out.res, out.runID, err
}

// SkipRun is Runs.SkipRun, decorated.
func (r *DecoratedRuns) SkipRun(ctx context.Context, mailingID, runID uuid.UUID, due time.Time, reason string, meta domain.Metadata) (eventstore.Result, error) {
	return decorate(r.d, "SkipRun", meta, func(meta domain.Metadata) (eventstore.Result, error) {
		return r.h.SkipRun(ctx, mailingID, runID, due, reason, meta)
	})
}

// CompleteMailing is Runs.CompleteMailing, decorated.
func (r *DecoratedRuns) CompleteMailing(ctx context.Context, mailingID uuid.UUID, reason string, meta domain.Metadata) (eventstore.Result, error) {
	return decorate(r.d, "CompleteMailing", meta, func(meta domain.Metadata) (eventstore.Result, error) {
		return r.h.CompleteMailing(ctx, mailingID, reason, meta)
	})
}

// PauseMailing is Runs.PauseMailing, decorated.
func (r *DecoratedRuns) PauseMailing(ctx context.Context, mailingID uuid.UUID, reason string, meta domain.Metadata) (eventstore.Result, error) {
	return decorate(r.d, "PauseMailing", meta, func(meta domain.Metadata) (eventstore.Result, error) {
		return r.h.PauseMailing(ctx, mailingID, reason, meta)
	})
}

// RecordAttempts is Runs.RecordAttempts, decorated.
func (r *DecoratedRuns) RecordAttempts(ctx context.Context, runID uuid.UUID, batch AttemptBatch, meta domain.Metadata) (eventstore.Result, error) {
	return decorate(r.d, "RecordAttempts", meta, func(meta domain.Metadata) (eventstore.Result, error) {
		return r.h.RecordAttempts(ctx, runID, batch, meta)
	})
}

// FinishRun is Runs.FinishRun, decorated.
func (r *DecoratedRuns) FinishRun(ctx context.Context, cmd FinishRun, meta domain.Metadata) (eventstore.Result, error) {
	return decorate(r.d, "FinishRun", meta, func(meta domain.Metadata) (eventstore.Result, error) {
		return r.h.FinishRun(ctx, cmd, meta)
	})
}
