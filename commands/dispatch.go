package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// Dispatch is the DispatchMailing command as it travels to the senders on
// the command stream: which run of which mailing to deliver. The run's
// start is already in the store when it is sent, so a sender needs nothing
// else.
type Dispatch struct {
	RunID     uuid.UUID `json:"run_id"`
	MailingID uuid.UUID `json:"mailing_id"`
}

// DispatchQueue carries Dispatch commands to the senders (a Redis stream
// with a consumer group). Enqueue is at least once: senders are idempotent.
type DispatchQueue interface {
	Enqueue(ctx context.Context, d Dispatch) error
}

// DispatchMailing asks for a run of a mailing now.
type DispatchMailing struct {
	MailingID uuid.UUID
	// RunID is the run's id; nil means a new one. The saga passes the id
	// derived from the due time, so a repeated dispatch is the same run.
	RunID uuid.UUID
	// Trigger is domain.TriggerSchedule, TriggerManual or TriggerConsole.
	Trigger string
	// DueAt is the scheduled time the run stands for; zero means now.
	DueAt time.Time
	// Owner, when set, must own the mailing (anyone else gets not found,
	// never forbidden: no existence leak).
	Owner uuid.UUID
}

// Roster fixes, when a run of an all-clients mailing starts, which of the
// owner's clients it mails (saga.Roster).
type Roster interface {
	Fix(ctx context.Context, owner uuid.UUID) (domain.RunRecipients, error)
}

// Runs handles the commands about mailing runs: dispatch, skip, and the
// saga's completion and pause of a mailing.
type Runs struct {
	store  EventStore
	roster Roster
	queue  DispatchQueue
	now    func() time.Time
}

// NewRuns returns the handler. now is the clock (the saga injects its own).
func NewRuns(store EventStore, roster Roster, queue DispatchQueue, now func() time.Time) (*Runs, error) {
	if store == nil || roster == nil || queue == nil || now == nil {
		return nil, errors.New("commands: runs handler needs a store, a roster, a queue and a clock")
	}
	return &Runs{store: store, roster: roster, queue: queue, now: now}, nil
}

// eventID derives a stable event id from a run id, so a repeated step of
// the same run writes nothing new.
func eventID(runID uuid.UUID, what string) uuid.UUID {
	return uuid.NewSHA1(runID, []byte(what))
}

// StartedEventID is the id of a run's run.started event: the causation of
// everything the run records after it.
func StartedEventID(runID uuid.UUID) uuid.UUID { return eventID(runID, "run.started") }

// FinishedEventID is the id of a run's run.finished event. It is derived
// from the run id, so a retried finish is stored once and the end of a run
// is found by one index lookup however many deliveries the stream holds.
func FinishedEventID(runID uuid.UUID) uuid.UUID { return eventID(runID, "run.finished") }

// scheduleCause is the id of the mailing event that set the schedule a
// run of the saga stands for: the mailing's creation, last update or last
// enabling, whichever came last (nil if none is in recs).
func scheduleCause(recs []domain.RecordedEvent) uuid.UUID {
	for i := len(recs) - 1; i >= 0; i-- {
		switch recs[i].Event.(type) {
		case domain.MailingCreated, domain.MailingUpdated, domain.MailingEnabled:
			return recs[i].EventID
		}
	}
	return uuid.Nil
}

// causedBySchedule gives meta, when it names no cause, the schedule's.
func causedBySchedule(meta domain.Metadata, recs []domain.RecordedEvent) domain.Metadata {
	if meta.CausationID == uuid.Nil {
		meta.CausationID = scheduleCause(recs)
	}
	return meta
}

// Dispatch starts a run (run.started on the run stream and mailing.started
// on the mailing, in one transaction) and puts it on the command stream. A
// blocked owner's mailing does not start (domain.ErrOwnerBlocked); the saga
// records its scheduled run as skipped.
// Dispatching a run that already started only enqueues it again, which is
// how the saga recovers from a crash between the two steps. A scheduled run
// with no cause in meta is caused by the event that set the schedule.
func (h *Runs) Dispatch(ctx context.Context, cmd DispatchMailing, meta domain.Metadata) (eventstore.Result, uuid.UUID, error) {
	runID := cmd.RunID
	if runID == uuid.Nil {
		runID = uuid.Must(uuid.NewV7())
	}
	if cmd.Trigger == "" {
		cmd.Trigger = domain.TriggerManual
	}
	meta.Command = "DispatchMailing"
	res, err := retry(false, func() (eventstore.Result, error) {
		m, recs, err := h.mailing(ctx, cmd.MailingID, cmd.Owner)
		if err != nil {
			return eventstore.Result{}, err
		}
		meta := meta
		if cmd.Trigger == domain.TriggerSchedule {
			meta = causedBySchedule(meta, recs)
		}
		now := h.now()
		due := cmd.DueAt
		if due.IsZero() {
			due = now
		}
		owner, err := h.owner(ctx, m.Owner())
		if err != nil {
			return eventstore.Result{}, err
		}
		if owner != nil && owner.Blocked() {
			return eventstore.Result{}, domain.ErrOwnerBlocked
		}
		// An all-clients run's recipients are fixed now, as a snapshot the
		// run's start records, so a resumed run mails the same clients.
		var all domain.RunRecipients
		if m.AllClients() {
			if all, err = h.roster.Fix(ctx, m.Owner()); err != nil {
				return eventstore.Result{}, err
			}
		}
		run, err := domain.StartRun(runID, m, owner, cmd.Trigger, due, now, all)
		if err != nil {
			return eventstore.Result{}, err
		}
		if err := m.Start(runID, now); err != nil {
			return eventstore.Result{}, err
		}
		// The event ids derive from the run id: repeating the dispatch of a
		// run that started already writes nothing and succeeds.
		return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{
			{
				Stream:   domain.Stream{Type: domain.RunStreamType, ID: runID},
				Expected: eventstore.NoStream,
				Events:   []domain.NewEvent{{ID: StartedEventID(runID), Event: run.Changes()[0], Metadata: meta}},
			},
			{
				Stream:   domain.Stream{Type: domain.MailingStreamType, ID: m.ID()},
				Expected: m.Version(),
				Events:   []domain.NewEvent{{ID: eventID(runID, "mailing.started"), Event: m.Changes()[0], Metadata: meta}},
			},
		}})
	})
	if err != nil {
		// A run that started before the mailing changed (disabled, say)
		// still goes to the senders: its start is history.
		if started, lerr := h.runStarted(ctx, runID); lerr != nil || !started || cmd.RunID == uuid.Nil {
			return res, runID, err
		}
	}
	if err := h.queue.Enqueue(ctx, Dispatch{RunID: runID, MailingID: cmd.MailingID}); err != nil {
		return res, runID, fmt.Errorf("enqueue run %s: %w", runID, err)
	}
	return res, runID, nil
}

// SkipRun records that the scheduled run runID of a mailing, due at due,
// is not made, with the reason; with no cause in meta, the schedule's.
func (h *Runs) SkipRun(ctx context.Context, mailingID, runID uuid.UUID, due time.Time, reason string, meta domain.Metadata) (eventstore.Result, error) {
	meta.Command = "SkipRun"
	m, recs, err := h.mailing(ctx, mailingID, uuid.Nil)
	if err != nil {
		return eventstore.Result{}, err
	}
	meta = causedBySchedule(meta, recs)
	run := domain.SkipRun(runID, m, due, h.now(), reason)
	return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
		Stream:   domain.Stream{Type: domain.RunStreamType, ID: runID},
		Expected: eventstore.NoStream,
		Events:   []domain.NewEvent{{ID: eventID(runID, "run.skipped"), Event: run.Changes()[0], Metadata: meta}},
	}}})
}

// CompleteMailing records that a mailing will not send again. With no
// cause in meta (the end of its window passed), the schedule's is taken.
func (h *Runs) CompleteMailing(ctx context.Context, mailingID uuid.UUID, reason string, meta domain.Metadata) (eventstore.Result, error) {
	meta.Command = "CompleteMailing"
	return h.change(ctx, mailingID, meta, func(m *domain.Mailing) error { return m.Complete(h.now(), reason) })
}

// PauseMailing stops a mailing whose runs keep failing, saying why.
func (h *Runs) PauseMailing(ctx context.Context, mailingID uuid.UUID, reason string, meta domain.Metadata) (eventstore.Result, error) {
	meta.Command = "PauseMailing"
	return h.change(ctx, mailingID, meta, func(m *domain.Mailing) error { return m.Pause(reason) })
}

// AttemptBatch is delivery attempts of one run to record together, as one
// event whose id the caller fixes when it makes the batch: a RecordAttempts
// retried with the same batch after an append that did commit stores
// nothing the second time.
type AttemptBatch struct {
	ID       uuid.UUID
	Attempts []domain.DeliveryAttempted
}

// AttemptID is the id of the batch's i-th attempt, as the attempts read
// model and a bounce it causes know it.
func (b AttemptBatch) AttemptID(i int) uuid.UUID { return domain.AttemptID(b.ID, i) }

// RecordAttempts appends a batch of delivery attempts of run runID as one
// run.deliveries_attempted event. Only the sender holding the run's lock
// appends them, and attempts do not depend on one another, so the append
// expects no particular version.
func (h *Runs) RecordAttempts(ctx context.Context, runID uuid.UUID, batch AttemptBatch, meta domain.Metadata) (eventstore.Result, error) {
	meta.Command = "RecordAttempts"
	if len(batch.Attempts) == 0 {
		return eventstore.Result{}, nil
	}
	if batch.ID == uuid.Nil || len(batch.Attempts) > domain.MaxAttemptsPerEvent {
		return eventstore.Result{}, fmt.Errorf("record attempts of run %s: a batch needs an id and at most %d attempts",
			runID, domain.MaxAttemptsPerEvent)
	}
	return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
		Stream: domain.Stream{Type: domain.RunStreamType, ID: runID}, Expected: eventstore.Any,
		Events: []domain.NewEvent{{ID: batch.ID, Event: domain.BatchAttempts(batch.Attempts), Metadata: meta}},
	}}})
}

// FinishRun closes a run with its totals.
type FinishRun struct {
	RunID uuid.UUID
	// Head is the run's history without its deliveries, which is all
	// domain.LoadRun decides on: the caller has it at hand, and loading the
	// stream would read a delivery per client.
	Head                  []domain.Event
	Sent, Failed, Skipped int
	// Stopped says why the run ended before every delivery was final ("":
	// it did not); Unsent counts the deliveries it did not make.
	Stopped string
	Unsent  int
}

// FinishRun records run.finished under FinishedEventID, so a finish
// repeated after a crash is stored once; a run already finished records
// nothing.
func (h *Runs) FinishRun(ctx context.Context, cmd FinishRun, meta domain.Metadata) (eventstore.Result, error) {
	meta.Command = "FinishRun"
	r := domain.LoadRun(cmd.Head)
	if r.ID() != cmd.RunID {
		return eventstore.Result{}, domain.NotFound("run")
	}
	if err := r.Finish(cmd.Sent, cmd.Failed, cmd.Skipped, h.now(), cmd.Stopped, cmd.Unsent); err != nil {
		return eventstore.Result{}, fmt.Errorf("finish run %s: %w", cmd.RunID, err)
	}
	if len(r.Changes()) == 0 {
		return eventstore.Result{}, nil
	}
	return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
		Stream:   domain.Stream{Type: domain.RunStreamType, ID: cmd.RunID},
		Expected: eventstore.Any,
		Events:   []domain.NewEvent{{ID: FinishedEventID(cmd.RunID), Event: r.Changes()[0], Metadata: meta}},
	}}})
}

func (h *Runs) change(ctx context.Context, mailingID uuid.UUID, meta domain.Metadata, decide func(*domain.Mailing) error) (eventstore.Result, error) {
	return retry(false, func() (eventstore.Result, error) {
		m, recs, err := h.mailing(ctx, mailingID, uuid.Nil)
		if err != nil {
			return eventstore.Result{}, err
		}
		if err := decide(m); err != nil {
			return eventstore.Result{}, err
		}
		if len(m.Changes()) == 0 {
			return eventstore.Result{Version: m.Version()}, nil
		}
		return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
			Stream:   domain.Stream{Type: domain.MailingStreamType, ID: mailingID},
			Expected: m.Version(),
			Events:   newEvents(causedBySchedule(meta, recs), m.Changes()),
		}}})
	})
}

// mailing loads a mailing and its recorded history; with owner set,
// someone else's is not found.
func (h *Runs) mailing(ctx context.Context, id, owner uuid.UUID) (*domain.Mailing, []domain.RecordedEvent, error) {
	recs, err := h.store.Load(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("load mailing %s: %w", id, err)
	}
	evs := make([]domain.Event, len(recs))
	for i, r := range recs {
		evs[i] = r.Event
	}
	m := domain.LoadMailing(evs)
	if !m.Exists() || m.IsDeleted() || (owner != uuid.Nil && m.Owner() != owner) {
		return nil, nil, domain.NotFound("mailing")
	}
	return m, recs, nil
}

// owner loads the account of a mailing's owner, read from its stream so a
// block a moment old is seen.
func (h *Runs) owner(ctx context.Context, id uuid.UUID) (*domain.User, error) {
	recs, err := h.store.Load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load owner %s: %w", id, err)
	}
	evs := make([]domain.Event, len(recs))
	for i, r := range recs {
		evs[i] = r.Event
	}
	return domain.LoadUser(id, evs), nil
}

// runStarted reports whether run runID's stream exists (rare path: only a
// repeated dispatch of a run whose mailing changed since asks).
func (h *Runs) runStarted(ctx context.Context, runID uuid.UUID) (bool, error) {
	recs, err := h.store.Load(ctx, runID)
	if err != nil {
		return false, fmt.Errorf("load run %s: %w", runID, err)
	}
	return len(recs) > 0, nil
}
