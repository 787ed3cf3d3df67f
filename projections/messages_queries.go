package projections

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// MessageRow is a message as the API shows it.
type MessageRow struct {
	ID        uuid.UUID `json:"id"`
	OwnerID   uuid.UUID `json:"owner_id"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	BodyHTML  string    `json:"body_html"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const selectMessages = `SELECT id, owner_id, subject, body, body_html, version, created_at, updated_at FROM messages`

func scanMessage(row pgx.CollectableRow) (MessageRow, error) {
	var m MessageRow
	err := row.Scan(&m.ID, &m.OwnerID, &m.Subject, &m.Body, &m.BodyHTML, &m.Version, &m.CreatedAt, &m.UpdatedAt)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// ListMessages lists the messages in scope; the returned id is the next
// page's cursor (Nil on the last page).
func (q *ResourceQueries) ListMessages(ctx context.Context, s OwnerScope, p IDPage) ([]MessageRow, uuid.UUID, error) {
	var w where
	w.scope(s)
	return listRows(ctx, q, "messages", selectMessages, &w, p, scanMessage, func(m MessageRow) uuid.UUID { return m.ID })
}

// GetMessage returns one message in scope, or an ErrNotFound error.
func (q *ResourceQueries) GetMessage(ctx context.Context, s OwnerScope, id uuid.UUID) (MessageRow, error) {
	return getRow(ctx, q, "message", selectMessages, s, id, scanMessage)
}
