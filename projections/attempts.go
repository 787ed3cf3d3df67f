package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// AttemptsProjector keeps the attempts read model: one row per delivery
// attempt (a run.delivery_attempted, or each attempt of a
// run.deliveries_attempted), with the mailing's owner for scoping (learnt
// from run.started, which comes first on the run topic).
type AttemptsProjector struct{}

// Name implements Projector.
func (AttemptsProjector) Name() string { return "attempts" }

// EventTypes implements Projector.
func (AttemptsProjector) EventTypes() []string {
	return []string{"run.started", "run.delivery_attempted", "run.deliveries_attempted"}
}

// Tables implements Projector.
func (AttemptsProjector) Tables() []string {
	return []string{"attempt_runs", "attempts", "attempt_quarters"}
}

// Apply implements Projector. Rows are keyed by run id and by the
// attempt's place in store order (its event's position and its index in
// the event), so a redelivered event inserts nothing.
func (AttemptsProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	if ev, ok := e.Event.(domain.RunStarted); ok {
		_, err := tx.Exec(ctx, `INSERT INTO attempt_runs (run_id, mailing_id, owner_id) VALUES ($1, $2, $3)
ON CONFLICT (run_id) DO NOTHING`, e.StreamID, ev.MailingID, ev.OwnerID)
		return err
	}
	var b attemptRows
	b.add(e)
	return b.insert(ctx, tx)
}

// ApplyBatch implements BatchApplier: a run of delivery attempts (nearly
// all of a sending run's events) is written with one INSERT over arrays,
// joined to attempt_runs as Apply's is; a run's start first flushes what
// came before it. An attempt whose run has not started yet fails the batch
// with errRowMissing, as it fails Apply, so the runtime applies the events
// one by one and names it.
func (p AttemptsProjector) ApplyBatch(ctx context.Context, tx pgx.Tx, events []domain.RecordedEvent) error {
	var b attemptRows
	for _, e := range events {
		if b.add(e) {
			continue
		}
		if err := b.insert(ctx, tx); err != nil {
			return err
		}
		b = attemptRows{}
		if err := p.Apply(ctx, tx, e); err != nil {
			return fmt.Errorf("attempts: apply %s at %d: %w", e.Type, e.Position, err)
		}
	}
	return b.insert(ctx, tx)
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

// add gathers the attempts event e records; false if e records none.
func (b *attemptRows) add(e domain.RecordedEvent) bool {
	as := domain.AttemptsOf(e.EventID, e.Event)
	if as == nil {
		return false
	}
	for _, a := range as {
		b.ids = append(b.ids, [16]byte(a.ID))
		b.runs = append(b.runs, [16]byte(e.StreamID))
		b.clients = append(b.clients, [16]byte(a.ClientID))
		b.emails = append(b.emails, a.Email)
		b.ats = append(b.ats, a.AttemptedAt)
		b.successes = append(b.successes, a.Success)
		b.responses = append(b.responses, a.ServerResponse)
		b.attempts = append(b.attempts, int32(a.Attempt))
		b.positions = append(b.positions, domain.AttemptKey(e.Position, a.Index))
		b.finals = append(b.finals, a.Final())
		b.retries = append(b.retries, a.RetryAt)
		b.skipped = append(b.skipped, a.Skipped)
	}
	return true
}

// insert writes the gathered rows with one statement, and counts the
// ones it inserted into attempt_quarters. Fewer rows than attempts are
// redelivered ones (already there, and counted), or attempts of a run not
// started yet: errRowMissing, retried later.
func (b *attemptRows) insert(ctx context.Context, tx pgx.Tx) error {
	if len(b.ids) == 0 {
		return nil
	}
	var inserted int
	err := tx.QueryRow(ctx, insertAttemptsSQL, b.ids, b.runs, b.clients, b.emails, b.ats, b.successes, b.responses, b.attempts,
		b.positions, b.finals, b.retries, b.skipped).Scan(&inserted)
	if err != nil {
		return fmt.Errorf("attempts: insert %d attempts: %w", len(b.ids), err)
	}
	if inserted == len(b.ids) {
		return nil
	}
	var missing int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM unnest($1::uuid[]) AS a (run_id)
WHERE NOT EXISTS (SELECT 1 FROM attempt_runs r WHERE r.run_id = a.run_id)`, b.runs).Scan(&missing); err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("%w: %d attempts of a run before its start", errRowMissing, missing)
	}
	return nil
}

// insertAttemptsSQL inserts the attempts of $1..$12 whose run has started
// and adds those it inserted to their owner's quarter hour (date_bin from
// a midnight UTC), returning how many it inserted.
const insertAttemptsSQL = `
WITH ins AS (
    INSERT INTO attempts (id, mailing_id, owner_id, run_id, client_id, email, attempted_at, success, server_response, attempt,
        position, final, retry_at, skipped)
    SELECT a.id, r.mailing_id, r.owner_id, r.run_id, a.client_id, a.email, a.attempted_at, a.success, a.server_response, a.attempt,
        a.position, a.final, a.retry_at, a.skipped
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::boolean[], $7::text[], $8::int[],
        $9::bigint[], $10::boolean[], $11::timestamptz[], $12::text[])
        AS a (id, run_id, client_id, email, attempted_at, success, server_response, attempt, position, final, retry_at, skipped)
    JOIN attempt_runs r ON r.run_id = a.run_id
    ON CONFLICT (mailing_id, position) DO NOTHING
    RETURNING owner_id, attempted_at, success, final
), quarters AS (
    INSERT INTO attempt_quarters AS q (owner_id, quarter, sent, failed)
    SELECT owner_id, date_bin('15 minutes', attempted_at, timestamptz '2000-01-01 00:00:00+00'),
        count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success AND final)
    FROM ins GROUP BY 1, 2
    HAVING count(*) FILTER (WHERE success OR final) > 0
    ON CONFLICT (owner_id, quarter) DO UPDATE SET sent = q.sent + EXCLUDED.sent, failed = q.failed + EXCLUDED.failed
)
SELECT count(*) FROM ins`
