package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// MailingsProjector keeps the mailings table: the setting, status and active
// flag of every mailing, with the run times the saga's events report.
type MailingsProjector struct{}

// Name implements Projector.
func (MailingsProjector) Name() string { return "mailings" }

// EventTypes implements Projector. Every mailing event moves the row's
// version, so the version a reader sees is the one If-Match expects.
func (MailingsProjector) EventTypes() []string {
	return []string{"mailing.created", "mailing.updated", "mailing.deleted", "mailing.enabled", "mailing.disabled",
		"mailing.client_removed", "mailing.started", "mailing.completed", "mailing.paused"}
}

// Tables implements Projector.
func (MailingsProjector) Tables() []string { return []string{"mailings"} }

// apply changes the row for one event; Apply (next_run.go) then sets next_run_at.
func (MailingsProjector) apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	const guard = ` WHERE id = $1 AND version < $2`
	switch ev := e.Event.(type) {
	case domain.MailingCreated:
		_, err := tx.Exec(ctx, `
INSERT INTO mailings (id, owner_id, message_id, client_ids, all_clients, start_at, end_at, periodicity, timezone, status, is_active,
                      version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $12, $5, $6, $7, $8, 'created', $9, $10, $11, $11)
ON CONFLICT (id) DO NOTHING`, e.StreamID, ev.OwnerID, ev.MessageID, nonNil(ev.ClientIDs), ev.StartAt, ev.EndAt,
			string(ev.Periodicity), ev.Timezone, ev.IsActive, e.Version, e.RecordedAt, ev.AllClients)
		return err
	case domain.MailingUpdated:
		return stepRow(ctx, tx, "mailings", e, `UPDATE mailings SET message_id = $3, client_ids = $4, start_at = $5, end_at = $6,
periodicity = $7, timezone = $8, version = $2, updated_at = $9, all_clients = $10`+guard,
			ev.MessageID, nonNil(ev.ClientIDs), ev.StartAt, ev.EndAt, string(ev.Periodicity), ev.Timezone, e.RecordedAt, ev.AllClients)
	case domain.MailingDeleted:
		return stepRow(ctx, tx, "mailings", e, `UPDATE mailings SET deleted = true, next_run_at = NULL, version = $2, updated_at = $3`+guard, e.RecordedAt)
	case domain.MailingEnabled:
		return stepRow(ctx, tx, "mailings", e, `UPDATE mailings SET is_active = true, version = $2, updated_at = $3`+guard, e.RecordedAt)
	case domain.MailingDisabled, domain.MailingPaused:
		return stepRow(ctx, tx, "mailings", e, `UPDATE mailings SET is_active = false, version = $2, updated_at = $3`+guard, e.RecordedAt)
	case domain.MailingClientRemoved:
		return stepRow(ctx, tx, "mailings", e, `UPDATE mailings SET client_ids = array_remove(client_ids, $3), version = $2, updated_at = $4`+guard,
			ev.ClientID, e.RecordedAt)
	case domain.MailingStarted:
		return stepRow(ctx, tx, "mailings", e, `UPDATE mailings SET status = 'started', last_run_at = $3, version = $2, updated_at = $4`+guard,
			ev.At, e.RecordedAt)
	case domain.MailingCompleted:
		return stepRow(ctx, tx, "mailings", e, `UPDATE mailings SET status = 'completed', next_run_at = NULL, version = $2, updated_at = $3`+guard,
			e.RecordedAt)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
