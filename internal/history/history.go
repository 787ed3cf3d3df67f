// Package history is the audit replay of a mailing: every event of its
// stream with actor, time, data, correlation (the request) and cause, the
// summaries of its runs, its state
// at a chosen instant rebuilt by replaying its events through the Mailing
// aggregate's own apply (domain.LoadMailing), and on request its delivery
// attempts page by page. The HTTP endpoint GET /mailings/{id}/history and
// the `herald history` command both build the same Document here; the
// terminal rendering of it lives here too.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// Entry is one event as the audit trail shows it.
type Entry struct {
	Position   int64      `json:"position"`
	Version    int64      `json:"version"`
	Type       string     `json:"type"`
	EventID    uuid.UUID  `json:"event_id"`
	RecordedAt time.Time  `json:"recorded_at"`
	ActorID    *uuid.UUID `json:"actor_id"` // null for the system (the saga)
	// CorrelationID is the request the event came from (its X-Request-ID),
	// or the scheduled run's id for the saga's own work.
	CorrelationID uuid.UUID `json:"correlation_id"`
	// CausationID is the event that caused this one (a run's start for its
	// deliveries and end, a run's end for the pause it led to); null for a
	// person's direct command.
	CausationID *uuid.UUID `json:"causation_id"`
	Command     string     `json:"command,omitempty"`
	RunID       *uuid.UUID `json:"run_id,omitempty"` // deliveries only: the run stream
	// AttemptID is, for a delivery, the attempt's id as the attempts list
	// shows it: the event's id for an attempt recorded alone, derived from
	// it for one of a batch recorded together (which share the event).
	AttemptID *uuid.UUID      `json:"attempt_id,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// State is a mailing as it stood at an instant.
type State struct {
	ID          uuid.UUID   `json:"id"`
	OwnerID     uuid.UUID   `json:"owner_id"`
	MessageID   uuid.UUID   `json:"message_id"`
	ClientIDs   []uuid.UUID `json:"client_ids"`
	AllClients  bool        `json:"all_clients"`
	StartAt     time.Time   `json:"start_at"`
	EndAt       time.Time   `json:"end_at"`
	Periodicity string      `json:"periodicity"`
	Timezone    string      `json:"timezone"`
	Status      string      `json:"status"`
	IsActive    bool        `json:"is_active"`
	Deleted     bool        `json:"deleted"`
	LastRunAt   *time.Time  `json:"last_run_at"`
	LastRunID   *uuid.UUID  `json:"last_run_id"`
	Version     int64       `json:"version"`
}

// Deliveries is one page of the delivery attempts of a mailing's runs, in
// store order.
type Deliveries struct {
	Items []Entry `json:"items"`
	// NextCursor is the cursor of the next page (null on the last page).
	NextCursor *string `json:"next_cursor"`
}

// Document is the audit replay of one mailing.
type Document struct {
	MailingID uuid.UUID `json:"mailing_id"`
	OwnerID   uuid.UUID `json:"owner_id"`
	// Events are every event of the mailing's stream, oldest first.
	Events []Entry `json:"events"`
	// Runs summarise the mailing's runs (at most those begun by At), oldest
	// first; their counts are as they stand now.
	Runs []projections.RunSummary `json:"runs"`
	// At and State are present when an instant was asked for; State is null
	// if the mailing did not exist yet then.
	At         *time.Time  `json:"at,omitempty"`
	State      *State      `json:"state,omitempty"`
	Deliveries *Deliveries `json:"deliveries,omitempty"`
	hasAt      bool
}

// HasAt says whether the document was asked for an instant.
func (d Document) HasAt() bool { return d.hasAt }

// MarshalJSON writes "state": null (not nothing) when an instant was asked
// for and the mailing did not exist yet.
func (d Document) MarshalJSON() ([]byte, error) {
	type plain Document
	if d.hasAt && d.State == nil {
		return json.Marshal(struct {
			plain
			State *State `json:"state"`
		}{plain: plain(d)})
	}
	return json.Marshal(plain(d))
}

// Options say what a Document holds beyond the events and run summaries.
type Options struct {
	At *time.Time // rebuild the state as of this instant
	// Deliveries adds one page of delivery attempts: Limit of them (default
	// 100), after Cursor (a NextCursor received; empty for the first page).
	Deliveries bool
	Cursor     string
	Limit      int
	// Visible, when set, is asked about the owner before anything else is
	// read or checked: false makes the mailing domain.ErrNotFound, as if it
	// did not exist, so no other answer tells that it does.
	Visible func(owner uuid.UUID) bool
}

// Reader builds documents from the event store (and the reports read
// model's run summaries).
type Reader struct {
	store *eventstore.Store
}

// NewReader returns a reader over store.
func NewReader(store *eventstore.Store) (*Reader, error) {
	if store == nil {
		return nil, errors.New("history: needs the event store")
	}
	return &Reader{store: store}, nil
}

// Mailing builds the audit replay of mailing id; a stream that is not a
// mailing's is domain.ErrNotFound. The caller checks who may read it (the
// document names the owner).
func (r *Reader) Mailing(ctx context.Context, id uuid.UUID, o Options) (Document, error) {
	evs, err := r.store.Load(ctx, id)
	if err != nil {
		return Document{}, fmt.Errorf("history of mailing %s: %w", id, err)
	}
	if len(evs) == 0 || evs[0].StreamType != domain.MailingStreamType {
		return Document{}, domain.NotFound("mailing")
	}
	owner := domain.LoadMailing(domainEvents(evs)).Owner()
	if o.Visible != nil && !o.Visible(owner) {
		return Document{}, domain.NotFound("mailing")
	}
	d := Document{MailingID: id, OwnerID: owner, Events: make([]Entry, 0, len(evs))}
	for _, e := range evs {
		d.Events = append(d.Events, entryOf(e, false))
	}

	d.Runs, err = projections.MailingRuns(ctx, r.store.Pool(), id)
	if err != nil {
		return Document{}, err
	}
	if d.Runs == nil {
		d.Runs = []projections.RunSummary{}
	}
	if o.At != nil {
		at := o.At.UTC()
		d.At, d.hasAt = &at, true
		upto, err := r.store.LoadUntil(ctx, id, at)
		if err != nil {
			return Document{}, fmt.Errorf("history of mailing %s at %s: %w", id, at.Format(time.RFC3339), err)
		}
		d.State = stateOf(domain.LoadMailing(domainEvents(upto)))
		runs := d.Runs[:0:0]
		for _, run := range d.Runs {
			if begun := run.StartedAt; (begun != nil && !begun.After(at)) || (run.SkippedAt != nil && !run.SkippedAt.After(at)) {
				runs = append(runs, run)
			}
		}
		d.Runs = runs
	}
	if o.Deliveries {
		if d.Deliveries, err = r.deliveries(ctx, d, evs, o); err != nil {
			return Document{}, err
		}
	}
	return d, nil
}

// deliveries reads one page of the attempts of the mailing's runs, straight
// from their run streams.
func (r *Reader) deliveries(ctx context.Context, d Document, evs []domain.RecordedEvent, o Options) (*Deliveries, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = 100
	}
	seen := map[uuid.UUID]bool{}
	var runs []uuid.UUID
	add := func(id uuid.UUID) {
		if !seen[id] {
			seen[id] = true
			runs = append(runs, id)
		}
	}
	for _, run := range d.Runs {
		add(run.RunID)
	}
	for _, e := range evs {
		if s, ok := e.Event.(domain.MailingStarted); ok {
			add(s.RunID)
		}
	}
	after, afterIndex, err := parseCursor(o.Cursor)
	if err != nil {
		return nil, err
	}
	// A batch event holds many attempts, and the page may end inside one:
	// the cursor is the last item's event position and index in it. limit+2
	// events hold at least limit+1 items past the cursor, if there are.
	rows, err := r.store.Pool().Query(ctx, `SELECT position, tx_id::text, event_id, stream_type, stream_id, version, type, data, metadata, recorded_at
FROM events WHERE stream_id = ANY($1) AND type IN ('run.delivery_attempted', 'run.deliveries_attempted') AND position >= $2
ORDER BY position LIMIT $3`,
		runs, after, limit+2)
	if err != nil {
		return nil, fmt.Errorf("deliveries of mailing %s: %w", d.MailingID, err)
	}
	got, err := eventstore.ScanEvents(rows, true)
	var cursor string
	if err != nil {
		return nil, fmt.Errorf("deliveries of mailing %s: %w", d.MailingID, err)
	}
	out := &Deliveries{Items: []Entry{}}
	for _, e := range got {
		_, batch := e.Event.(domain.DeliveriesAttempted)
		for _, a := range domain.AttemptsOf(e.EventID, e.Event) {
			if e.Position < after || (e.Position == after && a.Index <= afterIndex) {
				continue
			}
			if len(out.Items) == limit {
				out.NextCursor = &cursor
				return out, nil
			}
			en := entryOf(e, true)
			id := a.ID
			en.AttemptID = &id
			if batch {
				// An item per attempt, shaped as an attempt recorded alone.
				en.Type = domain.DeliveryAttempted{}.EventType()
				if en.Data, err = json.Marshal(a.DeliveryAttempted); err != nil {
					return nil, err
				}
			}
			out.Items = append(out.Items, en)
			cursor = strconv.FormatInt(e.Position, 10)
			if batch {
				cursor += "." + strconv.Itoa(a.Index)
			}
		}
	}
	return out, nil
}

// parseCursor reads a deliveries cursor: "P" is past every attempt of the
// event at position P, "P.I" past its attempt I.
func parseCursor(c string) (after int64, index int, err error) {
	if c == "" {
		return 0, math.MaxInt, nil
	}
	bad := domain.Invalid("cursor", "is not a cursor this server issued")
	p, i, found := strings.Cut(c, ".")
	if after, err = strconv.ParseInt(p, 10, 64); err != nil || after < 0 {
		return 0, 0, bad
	}
	if !found {
		return after, math.MaxInt, nil
	}
	if index, err = strconv.Atoi(i); err != nil || index < 0 {
		return 0, 0, bad
	}
	return after, index, nil
}

func entryOf(e domain.RecordedEvent, withRun bool) Entry {
	en := Entry{Position: e.Position, Version: e.Version, Type: e.Type, EventID: e.EventID, RecordedAt: e.RecordedAt.UTC(),
		CorrelationID: e.Metadata.CorrelationID, Command: e.Metadata.Command, Data: e.Data}
	if e.Metadata.ActorID != uuid.Nil {
		a := e.Metadata.ActorID
		en.ActorID = &a
	}
	if e.Metadata.CausationID != uuid.Nil {
		c := e.Metadata.CausationID
		en.CausationID = &c
	}
	if withRun {
		s := e.StreamID
		en.RunID = &s
	}
	return en
}

func domainEvents(evs []domain.RecordedEvent) []domain.Event {
	out := make([]domain.Event, len(evs))
	for i, e := range evs {
		out[i] = e.Event
	}
	return out
}

// stateOf reads a replayed mailing through its accessors; nil if it did not
// exist.
func stateOf(m *domain.Mailing) *State {
	if !m.Exists() {
		return nil
	}
	s := &State{ID: m.ID(), OwnerID: m.Owner(), MessageID: m.MessageID(), ClientIDs: m.ClientIDs(), AllClients: m.AllClients(),
		StartAt: m.StartAt().UTC(), EndAt: m.EndAt().UTC(), Periodicity: string(m.Periodicity()), Timezone: m.Timezone(),
		Status: string(m.Status()), IsActive: m.IsActive(), Deleted: m.IsDeleted(), Version: m.Version()}
	if s.ClientIDs == nil {
		s.ClientIDs = []uuid.UUID{}
	}
	if t := m.LastRunAt(); !t.IsZero() {
		t = t.UTC()
		s.LastRunAt = &t
	}
	if id := m.LastRunID(); id != uuid.Nil {
		s.LastRunID = &id
	}
	return s
}
