package projections

import (
	"context"
	"fmt"
	"time"

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

// ApplyBatch implements BatchApplier: a run of delivery attempts (nearly
// all of a sending run's events) is written with one INSERT over arrays,
// joined to attempt_runs as Apply's is; a run's start first flushes what
// came before it. An attempt whose run has not started yet fails the batch
// with errRowMissing, as it fails Apply, so the runtime applies the events
// one by one and names it.
func (p AttemptsProjector) ApplyBatch(ctx context.Context, tx pgx.Tx, events []domain.RecordedEvent) error {
	var b attemptRows
	flush := func() error {
		if len(b.ids) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `
INSERT INTO attempts (id, mailing_id, owner_id, run_id, client_id, email, attempted_at, success, server_response, attempt, position,
    final, retry_at, skipped)
SELECT a.id, r.mailing_id, r.owner_id, r.run_id, a.client_id, a.email, a.attempted_at, a.success, a.server_response, a.attempt,
    a.position, a.final, a.retry_at, a.skipped
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::boolean[], $7::text[], $8::int[], $9::bigint[],
    $10::boolean[], $11::timestamptz[], $12::text[])
    AS a (id, run_id, client_id, email, attempted_at, success, server_response, attempt, position, final, retry_at, skipped)
JOIN attempt_runs r ON r.run_id = a.run_id
ON CONFLICT (id) DO NOTHING`, b.ids, b.runs, b.clients, b.emails, b.ats, b.successes, b.responses, b.attempts, b.positions,
			b.finals, b.retries, b.skipped)
		if err != nil {
			return fmt.Errorf("attempts: insert %d attempts: %w", len(b.ids), err)
		}
		if int(tag.RowsAffected()) < len(b.ids) {
			// Fewer rows than attempts: redelivered ones (already there), or
			// attempts of a run not started yet, which is an error to retry.
			var missing int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM unnest($1::uuid[]) AS a (run_id)
WHERE NOT EXISTS (SELECT 1 FROM attempt_runs r WHERE r.run_id = a.run_id)`, b.runs).Scan(&missing); err != nil {
				return err
			}
			if missing > 0 {
				return fmt.Errorf("%w: %d attempts of a run before its start", errRowMissing, missing)
			}
		}
		b = attemptRows{}
		return nil
	}
	for _, e := range events {
		ev, ok := e.Event.(domain.DeliveryAttempted)
		if !ok {
			if err := flush(); err != nil {
				return err
			}
			if err := p.Apply(ctx, tx, e); err != nil {
				return fmt.Errorf("attempts: apply %s at %d: %w", e.Type, e.Position, err)
			}
			continue
		}
		b.ids = append(b.ids, [16]byte(e.EventID))
		b.runs = append(b.runs, [16]byte(e.StreamID))
		b.clients = append(b.clients, [16]byte(ev.ClientID))
		b.emails = append(b.emails, ev.Email)
		b.ats = append(b.ats, ev.AttemptedAt)
		b.successes = append(b.successes, ev.Success)
		b.responses = append(b.responses, ev.ServerResponse)
		b.attempts = append(b.attempts, int32(ev.Attempt))
		b.positions = append(b.positions, e.Position)
		b.finals = append(b.finals, ev.Final())
		b.retries = append(b.retries, ev.RetryAt)
		b.skipped = append(b.skipped, ev.Skipped)
	}
	return flush()
}

// attemptRows gathers the columns of a run of attempts, one row each.
type attemptRows struct {
	ids, runs, clients [][16]byte
	emails, responses  []string
	ats                []time.Time
	successes, finals  []bool
	attempts           []int32
	positions          []int64
	retries            []*time.Time
	skipped            []string
}
