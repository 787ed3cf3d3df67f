package projections

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/eventstore"
)

// ErrLagging means a projector had not applied the wanted position in time.
var ErrLagging = errors.New("projections: read model has not caught up")

// Waiter answers "has projector P applied store position N", for the
// X-Min-Position read-your-writes header. It reads checkpoints from
// PostgreSQL, so it works in a process that runs no projector.
//
// A projector keeps one checkpoint per topic, and topics move independently,
// so "applied N" means: on every topic P consumes, P has applied the last
// event of that topic at or before N. The relay's checkpoint knows, per
// topic, the last event it published; once the relay has passed N those are
// the targets (they may lie a little after N, which only makes the wait a
// little longer, never too short).
type Waiter struct {
	pool   *pgxpool.Pool
	relay  string
	topics map[string][]string // projector → topics it consumes
	poll   time.Duration
}

// NewWaiter knows the topics of projectors fed by the relay of busPrefix.
func NewWaiter(pool *pgxpool.Pool, busPrefix string, projectors ...Projector) *Waiter {
	w := &Waiter{pool: pool, relay: eventstore.RelayName(busPrefix), topics: map[string][]string{}, poll: 5 * time.Millisecond}
	for _, p := range projectors {
		w.topics[p.Name()] = Topics(p)
	}
	return w
}

// WaitFor blocks until every named projector has applied position, or ctx
// ends (ErrLagging). No names means every projector.
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
	var targets map[string]eventstore.Cursor
	for {
		var err error
		if targets == nil {
			targets, err = w.targets(ctx, position)
		}
		if err == nil && targets != nil {
			var done bool
			if done, err = w.applied(ctx, projectors, targets); err == nil && done {
				return nil
			}
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: position %d", ErrLagging, position)
		case <-time.After(w.poll):
		}
	}
}

// targets returns, per topic, the cursor each consumer must reach for
// position to count as applied; nil while the relay has not passed position.
func (w *Waiter) targets(ctx context.Context, position int64) (map[string]eventstore.Cursor, error) {
	var tx string
	err := w.pool.QueryRow(ctx, `SELECT tx_id::text FROM events WHERE position = $1`, position).Scan(&tx)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil // not committed (yet)
	}
	if err != nil {
		return nil, err
	}
	txID, err := strconv.ParseUint(tx, 10, 64)
	if err != nil {
		return nil, err
	}
	st, err := eventstore.LoadRelayState(ctx, w.pool, w.relay)
	if err != nil {
		return nil, err
	}
	if st.At.Less(eventstore.Cursor{TxID: txID, Position: position}) {
		return nil, nil // the relay has not published it yet
	}
	return st.Topics, nil
}

func (w *Waiter) applied(ctx context.Context, projectors []string, targets map[string]eventstore.Cursor) (bool, error) {
	var names, topics, txs []string
	var positions []int64
	for _, p := range projectors {
		for _, t := range w.topics[p] {
			target, ok := targets[t]
			if !ok {
				continue // nothing was ever published on t
			}
			names, topics = append(names, p), append(topics, t)
			txs, positions = append(txs, strconv.FormatUint(target.TxID, 10)), append(positions, target.Position)
		}
	}
	if len(names) == 0 {
		return true, nil
	}
	var behind int
	err := w.pool.QueryRow(ctx, `
SELECT count(*) FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS t(projector, topic, tx, pos)
WHERE NOT EXISTS (
    SELECT 1 FROM projection_checkpoints c
    WHERE c.projector = t.projector AND c.topic = t.topic
      AND (c.tx_id, c.position) >= (t.tx::xid8, t.pos))`, names, topics, txs, positions).Scan(&behind)
	if err != nil {
		return false, err
	}
	return behind == 0, nil
}
