package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrLagging means a projector had not applied the wanted position in time.
var ErrLagging = errors.New("projections: read model has not caught up")

// Waiter answers "has projector P applied store position N", for the
// X-Min-Position read-your-writes header. It reads checkpoints from
// PostgreSQL, so it works in a process that runs no projector.
type Waiter struct {
	pool   *pgxpool.Pool
	topics map[string]map[string]bool // projector → topics it consumes
	poll   time.Duration
}

// NewWaiter knows the topics of projectors.
func NewWaiter(pool *pgxpool.Pool, projectors ...Projector) *Waiter {
	w := &Waiter{pool: pool, topics: map[string]map[string]bool{}, poll: 5 * time.Millisecond}
	for _, p := range projectors {
		set := map[string]bool{}
		for _, t := range Topics(p) {
			set[t] = true
		}
		w.topics[p.Name()] = set
	}
	return w
}

// WaitFor blocks until every named projector has applied position (or does
// not consume its topic), or ctx ends (ErrLagging). No names means every
// projector.
func (w *Waiter) WaitFor(ctx context.Context, projectors []string, position int64) error {
	if len(projectors) == 0 {
		for name := range w.topics {
			projectors = append(projectors, name)
		}
	}
	for _, name := range projectors {
		if _, ok := w.topics[name]; !ok {
			return fmt.Errorf("projections: no projector %q", name)
		}
	}
	for {
		done, err := w.applied(ctx, projectors, position)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: position %d", ErrLagging, position)
		case <-time.After(w.poll):
		}
	}
}

func (w *Waiter) applied(ctx context.Context, projectors []string, position int64) (bool, error) {
	var tx, streamType string
	err := w.pool.QueryRow(ctx, `SELECT tx_id::text, stream_type FROM events WHERE position = $1`, position).Scan(&tx, &streamType)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // not committed (yet)
	}
	if err != nil {
		return false, err
	}
	topic := "events." + streamType
	var names []string
	for _, name := range projectors {
		if w.topics[name][topic] {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return true, nil
	}
	var behind int
	err = w.pool.QueryRow(ctx, `
SELECT count(*) FROM unnest($1::text[]) AS p(name)
WHERE NOT EXISTS (
    SELECT 1 FROM projection_checkpoints c
    WHERE c.projector = p.name AND c.topic = $2
      AND (c.tx_id, c.position) >= ($3::text::xid8, $4::bigint))`, names, topic, tx, position).Scan(&behind)
	if err != nil {
		return false, err
	}
	return behind == 0, nil
}
