package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Mailing events. Created and updated carry the whole setting, so a reader
// never needs an earlier event to know what a mailing looks like.
type (
	MailingCreated struct {
		MailingID uuid.UUID   `json:"mailing_id"`
		OwnerID   uuid.UUID   `json:"owner_id"`
		MessageID uuid.UUID   `json:"message_id"`
		ClientIDs []uuid.UUID `json:"client_ids"`
		// AllClients sends to every client the owner has when a run starts
		// (ClientIDs is then empty).
		AllClients  bool        `json:"all_clients,omitempty"`
		StartAt     time.Time   `json:"start_at"`
		EndAt       time.Time   `json:"end_at"`
		Periodicity Periodicity `json:"periodicity"`
		Timezone    string      `json:"timezone"`
		IsActive    bool        `json:"is_active"`
	}
	MailingUpdated struct {
		MessageID   uuid.UUID   `json:"message_id"`
		ClientIDs   []uuid.UUID `json:"client_ids"`
		AllClients  bool        `json:"all_clients,omitempty"`
		StartAt     time.Time   `json:"start_at"`
		EndAt       time.Time   `json:"end_at"`
		Periodicity Periodicity `json:"periodicity"`
		Timezone    string      `json:"timezone"`
	}
	MailingDeleted  struct{}
	MailingEnabled  struct{}
	MailingDisabled struct{}
	// MailingClientRemoved says a client the mailing listed was deleted: later
	// runs skip it; runs already made keep their history.
	MailingClientRemoved struct {
		ClientID uuid.UUID `json:"client_id"`
	}
	// MailingStarted says a run began; the mailing's status becomes started.
	MailingStarted struct {
		RunID uuid.UUID `json:"run_id"`
		At    time.Time `json:"at"`
	}
	// MailingCompleted says the mailing will not send again (end passed, a
	// once mailing ran, or nothing is left to send).
	MailingCompleted struct {
		At     time.Time `json:"at"`
		Reason string    `json:"reason"`
	}
	// MailingPaused says the system (not a user) stopped the mailing, e.g.
	// because its runs kept failing; it sends nothing until enabled again.
	MailingPaused struct {
		Reason string `json:"reason"`
	}
)

func (MailingCreated) EventType() string       { return "mailing.created" }
func (MailingUpdated) EventType() string       { return "mailing.updated" }
func (MailingDeleted) EventType() string       { return "mailing.deleted" }
func (MailingEnabled) EventType() string       { return "mailing.enabled" }
func (MailingDisabled) EventType() string      { return "mailing.disabled" }
func (MailingClientRemoved) EventType() string { return "mailing.client_removed" }
func (MailingStarted) EventType() string       { return "mailing.started" }
func (MailingCompleted) EventType() string     { return "mailing.completed" }
func (MailingPaused) EventType() string        { return "mailing.paused" }

func init() {
	RegisterEvents(MailingCreated{}, MailingUpdated{}, MailingDeleted{}, MailingEnabled{}, MailingDisabled{},
		MailingClientRemoved{}, MailingStarted{}, MailingCompleted{}, MailingPaused{})
}

// MailingStreamType names mailing streams.
const MailingStreamType = "mailing"

// Periodicity is how often a mailing sends between its start and its end.
type Periodicity string

// The periodicities a mailing may have.
const (
	Once    Periodicity = "once"
	Daily   Periodicity = "daily"
	Weekly  Periodicity = "weekly"
	Monthly Periodicity = "monthly"
)

// Valid reports whether p is one of the four periodicities.
func (p Periodicity) Valid() bool {
	return p == Once || p == Daily || p == Weekly || p == Monthly
}

// ParsePeriodicity accepts the four periodicity names of the API.
func ParsePeriodicity(s string) (Periodicity, error) {
	if p := Periodicity(s); p.Valid() {
		return p, nil
	}
	return "", Invalid("periodicity", "must be one of once, daily, weekly, monthly")
}

// MailingStatus is where a mailing is in its life.
type MailingStatus string

const (
	StatusCreated   MailingStatus = "created"   // never sent yet
	StatusStarted   MailingStatus = "started"   // sent at least once, may send again
	StatusCompleted MailingStatus = "completed" // will not send again
)

// MaxMailingClients bounds the clients one mailing lists.
const MaxMailingClients = 100_000

var (
	// ErrMailingCompleted refuses edits and re-enabling of a completed mailing.
	ErrMailingCompleted = fmt.Errorf("%w: the mailing is completed", ErrConflict)
	// ErrMailingDeleted is returned by commands on a deleted mailing.
	ErrMailingDeleted = fmt.Errorf("%w: mailing was deleted", ErrNotFound)
)

// MailingFields are what a user sets on a mailing.
type MailingFields struct {
	MessageID uuid.UUID
	ClientIDs []uuid.UUID
	// AllClients sends to the owner's clients as they are when each run
	// starts, instead of to ClientIDs; exactly one of the two is given.
	AllClients  bool
	StartAt     time.Time
	EndAt       time.Time
	Periodicity Periodicity
	Timezone    string // IANA name; empty means UTC
}

func (f MailingFields) normalize() (MailingFields, error) {
	var v ValidationError
	bad := func(field, msg string) { v.Fields = append(v.Fields, FieldError{Field: field, Message: msg}) }
	if f.MessageID == uuid.Nil {
		bad("message_id", "is required")
	}
	ids := make([]uuid.UUID, 0, len(f.ClientIDs))
	seen := make(map[uuid.UUID]bool, len(f.ClientIDs))
	for _, id := range f.ClientIDs {
		if id == uuid.Nil {
			bad("client_ids", "must not hold the nil id")
			break
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	switch {
	case f.AllClients && len(f.ClientIDs) > 0:
		bad("all_clients", "must not be true when client_ids names clients: give one of client_ids and all_clients")
	case f.AllClients:
	case len(f.ClientIDs) == 0:
		bad("client_ids", "must name at least one client, or all_clients must be true")
	case len(ids) > MaxMailingClients:
		bad("client_ids", fmt.Sprintf("must name at most %d clients", MaxMailingClients))
	}
	f.ClientIDs = ids
	if f.StartAt.IsZero() {
		bad("start_at", "is required")
	}
	if f.EndAt.IsZero() {
		bad("end_at", "is required")
	}
	// Stored with microsecond precision, so what the read model keeps equals
	// what the event says.
	f.StartAt = f.StartAt.UTC().Truncate(time.Microsecond)
	f.EndAt = f.EndAt.UTC().Truncate(time.Microsecond)
	if !f.StartAt.IsZero() && !f.EndAt.IsZero() && !f.StartAt.Before(f.EndAt) {
		bad("end_at", "must be after start_at")
	}
	if !f.Periodicity.Valid() {
		bad("periodicity", "must be one of once, daily, weekly, monthly")
	}
	f.Timezone = strings.TrimSpace(f.Timezone)
	if f.Timezone == "" {
		f.Timezone = "UTC"
	}
	if _, err := LoadTimezone(f.Timezone); err != nil {
		bad("timezone", "must be an IANA time zone name")
	}
	if len(v.Fields) > 0 {
		return f, &v
	}
	return f, nil
}

// LoadTimezone loads an IANA zone by name. "Local" is refused: it would mean
// whatever zone the server happens to run in.
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || len(name) > 64 || CheckText(name) != "" {
		return nil, fmt.Errorf("time zone %q", name)
	}
	return time.LoadLocation(name)
}

// Mailing sends one message to chosen clients between a start and an end.
type Mailing struct {
	Root
	id          uuid.UUID
	owner       uuid.UUID
	messageID   uuid.UUID
	clientIDs   []uuid.UUID
	allClients  bool
	startAt     time.Time
	endAt       time.Time
	periodicity Periodicity
	timezone    string
	status      MailingStatus
	active      bool
	deleted     bool
	lastRunAt   time.Time
	lastRunID   uuid.UUID
}

// NewMailing decides the creation of a mailing. Whether the message and the
// clients exist and belong to owner is checked by the command handler.
func NewMailing(id, owner uuid.UUID, f MailingFields, active bool) (*Mailing, error) {
	if id == uuid.Nil || owner == uuid.Nil {
		return nil, errors.New("domain: mailing needs an id and an owner")
	}
	f, err := f.normalize()
	if err != nil {
		return nil, err
	}
	m := &Mailing{}
	m.record(m.apply, MailingCreated{
		MailingID: id, OwnerID: owner, MessageID: f.MessageID, ClientIDs: f.ClientIDs, AllClients: f.AllClients,
		StartAt: f.StartAt, EndAt: f.EndAt, Periodicity: f.Periodicity, Timezone: f.Timezone, IsActive: active,
	})
	return m, nil
}

// LoadMailing rebuilds a mailing from its history.
func LoadMailing(history []Event) *Mailing {
	m := &Mailing{}
	m.replay(m.apply, history)
	return m
}

// Update decides a change of the setting; a completed mailing cannot change.
func (m *Mailing) Update(f MailingFields) error {
	if err := m.live(); err != nil {
		return err
	}
	if m.status == StatusCompleted {
		return ErrMailingCompleted
	}
	f, err := f.normalize()
	if err != nil {
		return err
	}
	if f.MessageID == m.messageID && slices.Equal(f.ClientIDs, m.clientIDs) && f.AllClients == m.allClients && f.StartAt.Equal(m.startAt) &&
		f.EndAt.Equal(m.endAt) && f.Periodicity == m.periodicity && f.Timezone == m.timezone {
		return nil
	}
	m.record(m.apply, MailingUpdated(f))
	return nil
}

// Delete decides the deletion; runs already made keep their history.
func (m *Mailing) Delete() error {
	if err := m.live(); err != nil {
		return err
	}
	m.record(m.apply, MailingDeleted{})
	return nil
}

// Enable makes the mailing send again; enabling an enabled one changes
// nothing, and a completed one cannot be re-enabled.
func (m *Mailing) Enable() error {
	if err := m.live(); err != nil {
		return err
	}
	if m.status == StatusCompleted {
		return ErrMailingCompleted
	}
	if !m.active {
		m.record(m.apply, MailingEnabled{})
	}
	return nil
}

// Disable stops the mailing from sending; disabling a disabled one changes
// nothing.
func (m *Mailing) Disable() error {
	if err := m.live(); err != nil {
		return err
	}
	if m.active {
		m.record(m.apply, MailingDisabled{})
	}
	return nil
}

// RemoveClient takes a deleted client off the mailing's future runs. It
// records nothing (and reports false) when the mailing does not list the
// client, is completed or is deleted: there is nothing left to protect.
func (m *Mailing) RemoveClient(clientID uuid.UUID) bool {
	if m.id == uuid.Nil || m.deleted || m.status == StatusCompleted || !slices.Contains(m.clientIDs, clientID) {
		return false
	}
	m.record(m.apply, MailingClientRemoved{ClientID: clientID})
	return true
}

// Start records that run runID began at now (the saga's dispatch). The
// status becomes started; a completed or deleted mailing cannot start.
func (m *Mailing) Start(runID uuid.UUID, now time.Time) error {
	if err := m.live(); err != nil {
		return err
	}
	if m.status == StatusCompleted {
		return ErrMailingCompleted
	}
	if runID == uuid.Nil {
		return errors.New("domain: start needs a run id")
	}
	m.record(m.apply, MailingStarted{RunID: runID, At: now.UTC()})
	return nil
}

// Complete records that the mailing will not send again. Completing a
// completed mailing changes nothing, so the saga may repeat itself.
func (m *Mailing) Complete(now time.Time, reason string) error {
	if err := m.live(); err != nil {
		return err
	}
	if m.status != StatusCompleted {
		m.record(m.apply, MailingCompleted{At: now.UTC(), Reason: reason})
	}
	return nil
}

// Pause is the system disabling the mailing, with a reason for its owner;
// an inactive mailing is left as it is.
func (m *Mailing) Pause(reason string) error {
	if err := m.live(); err != nil {
		return err
	}
	if m.active {
		m.record(m.apply, MailingPaused{Reason: reason})
	}
	return nil
}

func (m *Mailing) live() error {
	if m.id == uuid.Nil {
		return NotFound("mailing")
	}
	if m.deleted {
		return ErrMailingDeleted
	}
	return nil
}

func (m *Mailing) apply(e Event) {
	switch e := e.(type) {
	case MailingCreated:
		m.id, m.owner, m.messageID, m.clientIDs = e.MailingID, e.OwnerID, e.MessageID, slices.Clone(e.ClientIDs)
		m.allClients = e.AllClients
		m.startAt, m.endAt, m.periodicity, m.timezone = e.StartAt, e.EndAt, e.Periodicity, e.Timezone
		m.active, m.status = e.IsActive, StatusCreated
	case MailingUpdated:
		m.messageID, m.clientIDs, m.allClients = e.MessageID, slices.Clone(e.ClientIDs), e.AllClients
		m.startAt, m.endAt, m.periodicity, m.timezone = e.StartAt, e.EndAt, e.Periodicity, e.Timezone
	case MailingDeleted:
		m.deleted = true
	case MailingEnabled:
		m.active = true
	case MailingDisabled, MailingPaused:
		m.active = false
	case MailingClientRemoved:
		m.clientIDs = slices.DeleteFunc(m.clientIDs, func(id uuid.UUID) bool { return id == e.ClientID })
	case MailingStarted:
		m.status, m.lastRunAt, m.lastRunID = StatusStarted, e.At, e.RunID
	case MailingCompleted:
		m.status = StatusCompleted
	}
}

// Read accessors (the saga and the handlers use them).
func (m *Mailing) ID() uuid.UUID            { return m.id }
func (m *Mailing) Owner() uuid.UUID         { return m.owner }
func (m *Mailing) MessageID() uuid.UUID     { return m.messageID }
func (m *Mailing) ClientIDs() []uuid.UUID   { return slices.Clone(m.clientIDs) }
func (m *Mailing) AllClients() bool         { return m.allClients }
func (m *Mailing) StartAt() time.Time       { return m.startAt }
func (m *Mailing) EndAt() time.Time         { return m.endAt }
func (m *Mailing) Periodicity() Periodicity { return m.periodicity }
func (m *Mailing) Timezone() string         { return m.timezone }
func (m *Mailing) Status() MailingStatus    { return m.status }
func (m *Mailing) IsActive() bool           { return m.active }
func (m *Mailing) IsDeleted() bool          { return m.deleted }
func (m *Mailing) Exists() bool             { return m.id != uuid.Nil }
func (m *Mailing) LastRunAt() time.Time     { return m.lastRunAt }
func (m *Mailing) LastRunID() uuid.UUID     { return m.lastRunID }
func (m *Mailing) IsCompleted() bool        { return m.status == StatusCompleted }
func (m *Mailing) Fields() MailingFields {
	return MailingFields{MessageID: m.messageID, ClientIDs: slices.Clone(m.clientIDs), AllClients: m.allClients, StartAt: m.startAt,
		EndAt: m.endAt, Periodicity: m.periodicity, Timezone: m.timezone}
}

// Schedule is the arithmetic of the mailing's runs.
func (m *Mailing) Schedule() Schedule {
	return Schedule{Start: m.startAt, End: m.endAt, Periodicity: m.periodicity, Location: m.Location()}
}

// RunsLeft reports whether the mailing may still run on its schedule at or
// after t: not for a completed or deleted mailing, nor once its last
// scheduled run is past.
func (m *Mailing) RunsLeft(t time.Time) bool {
	if m.deleted || m.status == StatusCompleted {
		return false
	}
	_, _, ok := m.Schedule().Next(t)
	return ok
}

// Location is the mailing's time zone (UTC if its name no longer loads).
func (m *Mailing) Location() *time.Location {
	if loc, err := LoadTimezone(m.timezone); err == nil {
		return loc
	}
	return time.UTC
}
