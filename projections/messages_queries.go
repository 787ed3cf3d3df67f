package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// MessageRow is a message as the API shows it.
type MessageRow struct {
	ID        uuid.UUID `json:"id"`
	OwnerID   uuid.UUID `json:"owner_id"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const selectMessages = `SELECT id, owner_id, subject, body, version, created_at, updated_at FROM messages`

func scanMessage(row pgx.CollectableRow) (MessageRow, error) {
	var m MessageRow
	err := row.Scan(&m.ID, &m.OwnerID, &m.Subject, &m.Body, &m.Version, &m.CreatedAt, &m.UpdatedAt)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// ListMessages lists the messages in scope; the returned id is the next
// page's cursor (Nil on the last page).
func (q *ResourceQueries) ListMessages(ctx context.Context, s OwnerScope, p IDPage) ([]MessageRow, uuid.UUID, error) {
	var w where
	w.scope(s)
	w.page(p)
	rows, err := q.pool.Query(ctx, w.sql(selectMessages, p), w.args...)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("list messages: %w", err)
	}
	items, err := pgx.CollectRows(rows, scanMessage)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("list messages: %w", err)
	}
	items, next := pageOf(items, p, func(m MessageRow) uuid.UUID { return m.ID })
	return items, next, nil
}

// GetMessage returns one message in scope, or an ErrNotFound error.
func (q *ResourceQueries) GetMessage(ctx context.Context, s OwnerScope, id uuid.UUID) (MessageRow, error) {
	var w where
	w.add("id = ?", id)
	w.scope(s)
	rows, err := q.pool.Query(ctx, w.sql(selectMessages, IDPage{Limit: 1}), w.args...)
	if err != nil {
		return MessageRow{}, fmt.Errorf("get message: %w", err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanMessage)
	if errors.Is(err, pgx.ErrNoRows) {
		return MessageRow{}, domain.NotFound("message")
	}
	if err != nil {
		return MessageRow{}, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}
