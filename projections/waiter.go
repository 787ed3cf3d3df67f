package projections

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/eventstore"
)

// ErrLagging means a projector had not applied the wanted position in time.
var ErrLagging = errors.New("projections: read model has not caught up")

// ErrPositionAhead means the position waited for is past the last event
// the store holds: no write returned it, and waiting would not help.
var ErrPositionAhead = errors.New("projections: the store has no event at this position yet")

// checkpointChannel is notified (migration 00080) whenever the relay's or a
// projector's checkpoint moves.
const checkpointChannel = "herald_checkpoints"

// Waiter answers "has projector P applied store position N", for the
// X-Min-Position read-your-writes header. It reads checkpoints from
// PostgreSQL, so it works in a process that runs no projector, and it is
// woken by the checkpoints' notifications rather than polling: while any
// wait is in progress, one connection LISTENs for every wait of the
// process.
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
	// recheck bounds how long a wait trusts the notifications alone: a
	// safety net for a listening connection that broke unnoticed.
	recheck time.Duration
	wake    *broadcast
}

// NewWaiter knows the topics of projectors fed by the relay of busPrefix.
func NewWaiter(pool *pgxpool.Pool, busPrefix string, projectors ...Projector) *Waiter {
	w := &Waiter{pool: pool, relay: eventstore.RelayName(busPrefix), topics: map[string][]string{},
		recheck: time.Second}
	w.wake = &broadcast{listen: w.listen, ch: make(chan struct{})}
	for _, p := range projectors {
		w.topics[p.Name()] = Topics(p)
	}
	return w
}

// WaitFor blocks until every named projector has applied position, or ctx
// ends (ErrLagging). No names means every projector. A position past the
// store's last event is ErrPositionAhead at once.
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
	var moved <-chan struct{}
	for joined := false; ; {
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
		if errors.Is(err, ErrPositionAhead) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		if !joined {
			// Most reads find their position applied at once; only a
			// read that must wait joins the listener, and checks again
			// after joining so that no move is missed.
			joined = true
			defer w.wake.join()()
			moved = w.wake.next()
			continue
		}
		recheck := time.NewTimer(w.recheck)
		select {
		case <-ctx.Done():
			recheck.Stop()
			return fmt.Errorf("%w: position %d", ErrLagging, position)
		case <-moved:
		case <-recheck.C:
		}
		recheck.Stop()
		// Taken before the check: a checkpoint moving during it closes
		// this channel, so the next wait cannot miss it.
		moved = w.wake.next()
	}
}

// listen holds one connection LISTENing on checkpointChannel until ctx
// ends, calling moved for every notification (and once listening starts,
// for what moved before). It reconnects after a failure.
func (w *Waiter) listen(ctx context.Context, moved func()) {
	for backoff := 50 * time.Millisecond; ctx.Err() == nil; backoff = min(2*backoff, 2*time.Second) {
		err := w.listenOnce(ctx, moved)
		if ctx.Err() != nil {
			return
		}
		_ = err // the waits recheck on their own meanwhile
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

func (w *Waiter) listenOnce(ctx context.Context, moved func()) error {
	pc, err := w.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool: its LISTEN must not follow it back,
	// and closing the pool must not wait for it.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+checkpointChannel); err != nil {
		return err
	}
	moved()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		moved()
	}
}

// broadcast wakes every wait in progress when a checkpoint moves; it runs
// its listener only while some wait is in progress.
type broadcast struct {
	listen func(ctx context.Context, moved func())

	mu      sync.Mutex
	ch      chan struct{} // closed at the next move
	waiters int
	stop    context.CancelFunc
}

// join counts a wait in; the first starts the listener, and the release of
// the last stops it.
func (b *broadcast) join() (release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiters++
	if b.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		b.stop = cancel
		go b.listen(ctx, b.moved)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.waiters--
			if b.waiters == 0 {
				// Kept a while for the next wait, then let go.
				time.AfterFunc(listenLinger, b.idle)
			}
		})
	}
}

// listenLinger is how long the listener outlives the last wait.
const listenLinger = 10 * time.Second

// idle stops the listener if no wait is in progress.
func (b *broadcast) idle() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waiters == 0 && b.stop != nil {
		b.stop()
		b.stop = nil
	}
}

// next is closed at the next move.
func (b *broadcast) next() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) moved() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}

// targets returns, per topic, the cursor each consumer must reach for
// position to count as applied; nil while the relay has not passed position.
func (w *Waiter) targets(ctx context.Context, position int64) (map[string]eventstore.Cursor, error) {
	var tx string
	err := w.pool.QueryRow(ctx, `SELECT tx_id::text FROM events WHERE position = $1`, position).Scan(&tx)
	if errors.Is(err, pgx.ErrNoRows) {
		var head int64
		if err := w.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM events`).Scan(&head); err != nil {
			return nil, err
		}
		if position > head {
			return nil, fmt.Errorf("%w: position %d, last %d", ErrPositionAhead, position, head)
		}
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
