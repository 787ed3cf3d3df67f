package domain

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Stream names one aggregate's history: its type ("mailing") and its id.
type Stream struct {
	Type string
	ID   uuid.UUID
}

// Metadata travels with every event and is the audit trail: who did it, as
// part of which request, caused by which earlier event, through which command.
type Metadata struct {
	ActorID       uuid.UUID `json:"actor_id"`
	CorrelationID uuid.UUID `json:"correlation_id"`
	CausationID   uuid.UUID `json:"causation_id"`
	Command       string    `json:"command,omitempty"`
}

// NewEvent is an event about to be appended. ID makes appends idempotent: an
// ID that is already stored is not written twice.
type NewEvent struct {
	ID       uuid.UUID
	Event    Event
	Metadata Metadata
}

// RecordedEvent is an event as the store keeps it.
type RecordedEvent struct {
	Position   int64           `json:"position"`
	TxID       uint64          `json:"tx_id"`
	EventID    uuid.UUID       `json:"event_id"`
	StreamType string          `json:"stream_type"`
	StreamID   uuid.UUID       `json:"stream_id"`
	Version    int64           `json:"version"`
	Type       string          `json:"type"`
	Event      Event           `json:"-"`
	Data       json.RawMessage `json:"data"` // the stored JSON of Event
	Metadata   Metadata        `json:"metadata"`
	RecordedAt time.Time       `json:"recorded_at"`
}
