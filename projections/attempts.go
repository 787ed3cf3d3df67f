package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// AttemptsProjector keeps the attempts read model: one row per
// run.delivery_attempted, with the mailing's owner for scoping (learnt from
// run.started, which comes first on the run topic).
type AttemptsProjector struct{}

// Name implements Projector.
func (AttemptsProjector) Name() string { return "attempts" }

// EventTypes implements Projector.
func (AttemptsProjector) EventTypes() []string {
	return []string{"run.started", "run.delivery_attempted"}
}

// Tables implements Projector.
func (AttemptsProjector) Tables() []string { return []string{"attempt_runs", "attempts"} }

// Apply implements Projector. Rows are keyed by run id and event id, so a
// redelivered event inserts nothing.
func (AttemptsProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	switch ev := e.Event.(type) {
	case domain.RunStarted:
		_, err := tx.Exec(ctx, `INSERT INTO attempt_runs (run_id, mailing_id, owner_id) VALUES ($1, $2, $3)
ON CONFLICT (run_id) DO NOTHING`, e.StreamID, ev.MailingID, ev.OwnerID)
		return err
	case domain.DeliveryAttempted:
		tag, err := tx.Exec(ctx, `
INSERT INTO attempts (id, mailing_id, owner_id, run_id, client_id, email, attempted_at, success, server_response, attempt, position,
    final, retry_at, skipped)
SELECT $1, r.mailing_id, r.owner_id, r.run_id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM attempt_runs r WHERE r.run_id = $2
ON CONFLICT (id) DO NOTHING`, e.EventID, e.StreamID, ev.ClientID, ev.Email, ev.AttemptedAt, ev.Success, ev.ServerResponse, ev.Attempt,
			e.Position, ev.Final(), ev.RetryAt, ev.Skipped)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var known bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM attempt_runs WHERE run_id = $1)`, e.StreamID).Scan(&known); err != nil {
				return err
			}
			if !known {
				return fmt.Errorf("%w: attempt %s of run %s before its start", errRowMissing, e.EventID, e.StreamID)
			}
		}
	}
	return nil
}
