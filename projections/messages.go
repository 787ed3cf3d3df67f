package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// MessagesProjector keeps the messages table.
type MessagesProjector struct{}

// Name implements Projector.
func (MessagesProjector) Name() string { return "messages" }

// EventTypes implements Projector.
func (MessagesProjector) EventTypes() []string {
	return []string{"message.created", "message.updated", "message.deleted"}
}

// Tables implements Projector.
func (MessagesProjector) Tables() []string { return []string{"messages"} }

// Apply implements Projector.
func (MessagesProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	switch ev := e.Event.(type) {
	case domain.MessageCreated:
		_, err := tx.Exec(ctx, `
INSERT INTO messages (id, owner_id, subject, body, body_html, version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (id) DO NOTHING`, e.StreamID, ev.OwnerID, ev.Subject, ev.Body, ev.BodyHTML, e.Version, e.RecordedAt)
		return err
	case domain.MessageUpdated:
		return stepRow(ctx, tx, "messages", e, `UPDATE messages SET subject = $3, body = $4, body_html = $5, version = $2, updated_at = $6
WHERE id = $1 AND version < $2`, ev.Subject, ev.Body, ev.BodyHTML, e.RecordedAt)
	case domain.MessageDeleted:
		return stepRow(ctx, tx, "messages", e, `UPDATE messages SET deleted = true, version = $2, updated_at = $3
WHERE id = $1 AND version < $2`, e.RecordedAt)
	}
	return nil
}
