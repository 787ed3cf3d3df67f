package projections

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/eventstore"
)

// SetRecheck lets a test turn the waiter's safety recheck off, so only a
// checkpoint's notification can wake it.
func SetRecheck(w *Waiter, d time.Duration) { w.recheck = d }

// ApplyLate runs applyLate for p on topic in a transaction of its own, as
// if the messages of the delivered events came in past the read-ahead that
// reached cp, and returns the checkpoint it reached.
func ApplyLate(ctx context.Context, pool *pgxpool.Pool, p Projector, topic string, cp eventstore.Cursor, delivered ...eventstore.Cursor) (eventstore.Cursor, error) {
	f := &feed{rt: &Runtime{pool: pool, retry: DefaultRetry}, p: p, handled: handledTypes(p), topic: topic, log: zerolog.Nop()}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return cp, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	cp, _, err = f.applyLate(ctx, tx, cp, delivered, map[uuid.UUID]string{})
	if err != nil {
		return cp, err
	}
	return cp, tx.Commit(ctx)
}
