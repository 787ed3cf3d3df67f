package saga

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/domain"
)

// Roster fixes and reads the recipients of all-clients runs. A run's start
// records a snapshot of the event store (domain.RunRecipients), not a list
// of ids: a run may have a million recipients. The set is the owner's
// clients whose client.created the snapshot sees, less those whose
// client.deleted or client.unsubscribed it sees and those its latest
// client.suppressed / client.unsuppressed leaves suppressed. The events
// table is append-only and a snapshot's visibility never changes, so every
// reading of the same snapshot, by any sender and after any restart, gives
// the same set; a client created after the run started is not in it.
type Roster struct {
	pool *pgxpool.Pool
}

// NewRoster returns a roster reading the store in pool.
func NewRoster(pool *pgxpool.Pool) (*Roster, error) {
	if pool == nil {
		return nil, errors.New("saga: roster needs a pool")
	}
	return &Roster{pool: pool}, nil
}

// recipientsSQL is the owner's ($1, as text) clients as snapshot $2 saw
// them, in the order they were created. The owner's client.created events
// are an index range (events_client_owner, migration 00090); each client's
// later events are found through its stream.
const recipientsSQL = `
SELECT c.stream_id, c.position FROM events c
WHERE c.type = 'client.created' AND c.data->>'owner_id' = $1
  AND pg_visible_in_snapshot(c.tx_id, $2::text::pg_snapshot)
  AND NOT EXISTS (SELECT 1 FROM events x WHERE x.stream_id = c.stream_id
      AND x.type IN ('client.deleted', 'client.unsubscribed') AND pg_visible_in_snapshot(x.tx_id, $2::text::pg_snapshot))
  AND NOT coalesce((SELECT s.type = 'client.suppressed' FROM events s WHERE s.stream_id = c.stream_id
      AND s.type IN ('client.suppressed', 'client.unsuppressed') AND pg_visible_in_snapshot(s.tx_id, $2::text::pg_snapshot)
      ORDER BY s.version DESC LIMIT 1), false)`

// Fix takes the snapshot that fixes the recipients of an owner's
// all-clients run starting now, and counts them. Clients committed before
// the call are in the set; a transaction still open is not.
func (r *Roster) Fix(ctx context.Context, owner uuid.UUID) (domain.RunRecipients, error) {
	var all domain.RunRecipients
	if err := r.pool.QueryRow(ctx, `SELECT pg_current_snapshot()::text`).Scan(&all.AsOf); err != nil {
		return all, fmt.Errorf("take the recipients snapshot of owner %s: %w", owner, err)
	}
	err := r.pool.QueryRow(ctx, `SELECT count(*) FROM (`+recipientsSQL+`) r`, owner.String(), all.AsOf).Scan(&all.Count)
	if err != nil {
		return all, fmt.Errorf("count the recipients of owner %s: %w", owner, err)
	}
	return all, nil
}

// Each calls yield with the client ids a run's recipients snapshot fixed,
// in the order the clients were created. It reads them from the store page
// ids at a time, each page a range of the owner's client.created events by
// position, so a run of a million recipients never holds them all. It
// stops early, with no error, when yield returns false.
func (r *Roster) Each(ctx context.Context, owner uuid.UUID, all domain.RunRecipients, page int, yield func(uuid.UUID) bool) error {
	type recipient struct {
		id       uuid.UUID
		position int64
	}
	if page <= 0 {
		return fmt.Errorf("saga: a page of recipients holds at least one, not %d", page)
	}
	var after int64
	for {
		rows, err := r.pool.Query(ctx, recipientsSQL+` AND c.position > $3 ORDER BY c.position LIMIT $4`,
			owner.String(), all.AsOf, after, page)
		if err != nil {
			return fmt.Errorf("read the recipients of owner %s: %w", owner, err)
		}
		got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (recipient, error) {
			var c recipient
			return c, row.Scan(&c.id, &c.position)
		})
		if err != nil {
			return fmt.Errorf("read the recipients of owner %s: %w", owner, err)
		}
		for _, c := range got {
			if !yield(c.id) {
				return nil
			}
		}
		if len(got) < page {
			return nil
		}
		after = got[len(got)-1].position
	}
}
