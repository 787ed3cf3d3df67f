package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/heraldmail/herald/domain"
)

// ClientsProjector keeps the clients table: one row per client, its owner,
// fields and the stream version it reflects.
type ClientsProjector struct{}

// Name implements Projector.
func (ClientsProjector) Name() string { return "clients" }

// EventTypes implements Projector.
func (ClientsProjector) EventTypes() []string {
	return []string{"client.created", "client.updated", "client.deleted",
		"client.unsubscribed", "client.bounced", "client.suppressed", "client.unsuppressed"}
}

// Tables implements Projector.
func (ClientsProjector) Tables() []string { return []string{"clients"} }

// Apply implements Projector.
func (ClientsProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	switch ev := e.Event.(type) {
	case domain.ClientCreated:
		_, err := tx.Exec(ctx, `
INSERT INTO clients (id, owner_id, email, full_name, comment, version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (id) DO NOTHING`, [16]byte(e.StreamID), [16]byte(ev.OwnerID), ev.Email, ev.FullName, ev.Comment, e.Version, e.RecordedAt)
		return err
	case domain.ClientUpdated:
		return stepRow(ctx, tx, "clients", e, `UPDATE clients SET email = $3, full_name = $4, comment = $5, version = $2, updated_at = $6
WHERE id = $1 AND version < $2`, ev.Email, ev.FullName, ev.Comment, e.RecordedAt)
	case domain.ClientDeleted:
		return stepRow(ctx, tx, "clients", e, `UPDATE clients SET deleted = true, version = $2, updated_at = $3
WHERE id = $1 AND version < $2`, e.RecordedAt)
	case domain.ClientUnsubscribed:
		return stepRow(ctx, tx, "clients", e, `UPDATE clients SET unsubscribed_at = coalesce(unsubscribed_at, $3), version = $2, updated_at = $4
WHERE id = $1 AND version < $2`, ev.At, e.RecordedAt)
	case domain.ClientBounced:
		// The row's version follows the stream; bounces show in the reports.
		return stepRow(ctx, tx, "clients", e, `UPDATE clients SET version = $2, updated_at = $3 WHERE id = $1 AND version < $2`, e.RecordedAt)
	case domain.ClientSuppressed:
		return stepRow(ctx, tx, "clients", e, `UPDATE clients SET suppressed_at = $3, suppression_reason = $4, suppression_reply = $5,
    version = $2, updated_at = $6 WHERE id = $1 AND version < $2`, ev.At, ev.Reason, ev.Reply, e.RecordedAt)
	case domain.ClientUnsuppressed:
		return stepRow(ctx, tx, "clients", e, `UPDATE clients SET suppressed_at = NULL, suppression_reason = '', suppression_reply = '',
    version = $2, updated_at = $3 WHERE id = $1 AND version < $2`, e.RecordedAt)
	}
	return nil
}

// ApplyBatch implements BatchApplier: a run of consecutive creations (the
// bulk of a rebuild) is written with one multi-row INSERT; any other event
// first flushes the run, then goes through Apply, so the order, and the
// state left, is the same as Apply on each event.
func (p ClientsProjector) ApplyBatch(ctx context.Context, tx pgx.Tx, events []domain.RecordedEvent) error {
	var run clientRun
	flush := func() error {
		if len(run.ids) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `
INSERT INTO clients (id, owner_id, email, full_name, comment, version, created_at, updated_at)
SELECT id, owner_id, email, full_name, comment, version, at, at
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[])
    AS t (id, owner_id, email, full_name, comment, version, at)
ON CONFLICT (id) DO NOTHING`, run.ids, run.owners, run.emails, run.names, run.comments, run.versions, run.ats)
		if err != nil {
			return fmt.Errorf("clients: insert %d created clients: %w", len(run.ids), err)
		}
		run = clientRun{}
		return nil
	}
	for _, e := range events {
		ev, ok := e.Event.(domain.ClientCreated)
		if !ok {
			if err := flush(); err != nil {
				return err
			}
			if err := p.Apply(ctx, tx, e); err != nil {
				return fmt.Errorf("clients: apply %s at %d: %w", e.Type, e.Position, err)
			}
			continue
		}
		if !run.add(e) {
			continue
		}
		run.owners = append(run.owners, [16]byte(ev.OwnerID))
		run.emails = append(run.emails, ev.Email)
		run.names = append(run.names, ev.FullName)
		run.comments = append(run.comments, ev.Comment)
		run.ats = append(run.ats, e.RecordedAt)
	}
	return flush()
}

// clientRun gathers the columns of a run of creations, one row per stream.
type clientRun struct {
	seen                          map[[16]byte]bool
	ids, owners                   [][16]byte
	emails, names, comments, keys []string
	versions                      []int64
	ats                           []time.Time
}

// add records e's stream id and version and says whether e is the first
// creation of its stream in the run: a redelivered one is dropped here, as
// Apply would insert nothing for it, so the first one wins without relying
// on the order in which a statement inserts its rows.
func (r *clientRun) add(e domain.RecordedEvent) bool {
	id := [16]byte(e.StreamID)
	if r.seen[id] {
		return false
	}
	if r.seen == nil {
		r.seen = map[[16]byte]bool{}
	}
	r.seen[id] = true
	r.ids = append(r.ids, id)
	r.versions = append(r.versions, e.Version)
	return true
}

// errRowMissing says an event arrived for a row its creation has not made
// yet: the runtime retries it rather than skipping it.
var errRowMissing = errors.New("projections: row not created yet")

// stepRow runs an update guarded by "version < event version" with $1 the
// stream id and $2 the event's version. An event at or below the row's
// version is a redelivery and changes nothing; an event for a row that does
// not exist yet is an error, so it is retried and never skipped.
func stepRow(ctx context.Context, tx pgx.Tx, table string, e domain.RecordedEvent, sql string, args ...any) error {
	tag, err := tx.Exec(ctx, sql, append([]any{e.StreamID, e.Version}, args...)...)
	if err != nil {
		return err
	}
	return checkStep(ctx, tx, table, e, tag)
}

func checkStep(ctx context.Context, tx pgx.Tx, table string, e domain.RecordedEvent, tag pgconn.CommandTag) error {
	if tag.RowsAffected() > 0 {
		return nil
	}
	var exists bool
	// table is one of our constants, never input.
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, e.StreamID).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("%w: %s %s for %s", errRowMissing, e.Type, e.EventID, e.StreamID)
	}
	return nil
}
