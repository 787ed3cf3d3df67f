package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/domain"
)

// Relay publishes the store, in commit order, to the bus: the events table is
// the outbox. One relay is active at a time (an advisory lock elects it; a
// second process waits and takes over when the first dies). Its checkpoint
// moves only after Redis accepted a batch, so delivery is at-least-once.
type Relay struct {
	store *Store
	pub   message.Publisher
	bus   bus.Config
	log   zerolog.Logger
	// Name is the checkpoint and lock name; one per deployment.
	name  string
	batch int
	// A relay that read nothing waits for an append of this process or
	// idle, which doubles over empty reads up to maxIdle: appends of
	// other processes are seen within maxIdle of a quiet spell, and a
	// quiet store is read 1/maxIdle times a second instead of 1/idle.
	idle, maxIdle time.Duration
}

// NewRelay returns a relay publishing store's events through pub.
func NewRelay(store *Store, pub message.Publisher, cfg bus.Config, log zerolog.Logger) (*Relay, error) {
	if store == nil || pub == nil {
		return nil, errors.New("eventstore: relay needs a store and a publisher")
	}
	return &Relay{store: store, pub: pub, bus: cfg, log: log.With().Str("component", "relay").Logger(),
		name: RelayName(cfg.Prefix), batch: 500, idle: 5 * time.Millisecond, maxIdle: 50 * time.Millisecond}, nil
}

// Run relays until ctx ends, taking part in the leader election.
func (r *Relay) Run(ctx context.Context) error {
	for {
		err := RunExclusive(ctx, r.store.pool.Config().ConnConfig, r.name, time.Second, func(ctx context.Context) error {
			r.log.Info().Msg("relay elected; publishing events")
			return r.publishLoop(ctx)
		})
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn().Err(err).Msg("relay stopped leading; standing for election again")
	}
}

// RelayName is the checkpoint and lock name of the relay of a deployment.
func RelayName(busPrefix string) string { return "relay:" + busPrefix }

// RelayState is the relay's checkpoint: the last cursor published and, per
// topic, the last cursor published on it.
type RelayState struct {
	At     Cursor
	Topics map[string]Cursor
}

type relayState = RelayState

func (r *Relay) loadState(ctx context.Context) (relayState, error) {
	return LoadRelayState(ctx, r.store.pool, r.name)
}

// LoadRelayState reads the checkpoint of the relay named name (the zero
// state if it never published).
func LoadRelayState(ctx context.Context, q querier, name string) (RelayState, error) {
	st := relayState{Topics: map[string]Cursor{}}
	var tx string
	var topics []byte
	err := q.QueryRow(ctx, `SELECT tx_id::text, position, topics FROM store_checkpoints WHERE name = $1`, name).
		Scan(&tx, &st.At.Position, &topics)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("relay: load checkpoint: %w", err)
	}
	if st.At.TxID, err = strconv.ParseUint(tx, 10, 64); err != nil {
		return st, fmt.Errorf("relay: checkpoint tx id: %w", err)
	}
	if err := json.Unmarshal(topics, &st.Topics); err != nil {
		return st, fmt.Errorf("relay: checkpoint topics: %w", err)
	}
	return st, nil
}

// checkpointSQL stores the relay's state. The checkpoint does not wait for
// the disk: one lost in a crash only makes the next relay publish a batch
// again, which consumers drop, while waiting for a flush on every batch
// would hold each event's delivery back by the disk's latency. It never moves
// back: a relay that lost its lock and stores its state on the way out
// must not undo the new leader's progress (X-Min-Position reads it).
const checkpointSQL = `
INSERT INTO store_checkpoints (name, tx_id, position, topics, updated_at)
VALUES ($1, $2::text::xid8, $3, $4, now())
ON CONFLICT (name) DO UPDATE SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position,
    topics = EXCLUDED.topics, updated_at = now()
WHERE (store_checkpoints.tx_id, store_checkpoints.position) <= (EXCLUDED.tx_id, EXCLUDED.position)`

// queueCheckpoint adds saving st to b, which then runs without waiting for
// the disk.
func (r *Relay) queueCheckpoint(b *pgx.Batch, st relayState) error {
	topics, err := json.Marshal(st.Topics)
	if err != nil {
		return err
	}
	b.Queue(`SET LOCAL synchronous_commit = off`)
	b.Queue(checkpointSQL, r.name, strconv.FormatUint(st.At.TxID, 10), st.At.Position, topics)
	return nil
}

// read returns the next events after st, without their data and metadata
// (a message does not carry them). With save, the same round trip
// first stores st as the checkpoint: PostgreSQL runs the pipeline as one
// implicit transaction, so the relay pays no round trip of its own for its
// checkpoint, which trails what Redis accepted by one read.
func (r *Relay) read(ctx context.Context, st relayState, save bool) ([]domain.RecordedEvent, error) {
	if !save {
		rows, err := r.store.pool.Query(ctx, readHeadsSQL, readAllArgs(st.At, r.batch)...)
		return scanHeads(rows, err)
	}
	b := &pgx.Batch{}
	if err := r.queueCheckpoint(b, st); err != nil {
		return nil, err
	}
	b.Queue(readHeadsSQL, readAllArgs(st.At, r.batch)...)
	br := r.store.pool.SendBatch(ctx, b)
	defer br.Close()
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("relay: save checkpoint: %w", err)
		}
	}
	rows, err := br.Query()
	return scanHeads(rows, err)
}

// readHeadsSQL is readAllSQL for what a message names of an event (see
// bus.EventMessage): its data and metadata stay in the table.
const readHeadsSQL = `SELECT position, tx_id::text, event_id, stream_type, type FROM events` + readAllFromSQL

// scanHeads reads the rows of readHeadsSQL.
func scanHeads(rows pgx.Rows, err error) ([]domain.RecordedEvent, error) {
	if err != nil {
		return nil, fmt.Errorf("relay: read the store: %w", err)
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.RecordedEvent, error) {
		var (
			e  domain.RecordedEvent
			tx string
		)
		if err := row.Scan(&e.Position, &tx, &e.EventID, &e.StreamType, &e.Type); err != nil {
			return e, err
		}
		e.TxID, err = strconv.ParseUint(tx, 10, 64)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("relay: read the store: %w", err)
	}
	return evs, nil
}

// saveState stores st on its own (on the way out).
func (r *Relay) saveState(ctx context.Context, st relayState) error {
	b := &pgx.Batch{}
	if err := r.queueCheckpoint(b, st); err != nil {
		return err
	}
	if err := r.store.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("relay: save checkpoint: %w", err)
	}
	return nil
}

func (r *Relay) publishLoop(ctx context.Context) error {
	cur, err := r.loadState(ctx)
	if err != nil {
		return err
	}
	// cur is what Redis accepted; dirty says the store's checkpoint is
	// behind it. Leaving (the lock lost, shutdown) stores it.
	dirty := false
	defer func() {
		if dirty {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := r.saveState(sctx, cur); err != nil {
				r.log.Warn().Err(err).Msg("relay: checkpoint on the way out; the next relay publishes a batch again")
			}
		}
	}()
	backoff := time.Duration(0)
	idle := r.idle
	for {
		if backoff > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
		}
		evs, err := r.read(ctx, cur, dirty)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Error().Err(err).Msg("relay: read store")
			backoff = nextBackoff(backoff)
			continue
		}
		dirty = false
		if len(evs) == 0 {
			backoff = 0
			select {
			case <-ctx.Done():
				return nil
			case <-r.store.appended:
				idle = r.idle
			case <-time.After(idle):
				idle = min(2*idle, r.maxIdle)
			}
			continue
		}
		idle = r.idle
		next, err := r.publish(ctx, cur, evs)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Nothing is lost: the checkpoint did not move, the batch is
			// published again (consumers drop what they already have).
			r.log.Error().Err(err).Int("events", len(evs)).Msg("relay: publish failed; will retry")
			backoff = nextBackoff(backoff)
			continue
		}
		cur, dirty, backoff = next, true, 0
		relayedEvents.Add(float64(len(evs)))
	}
}

func nextBackoff(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return 100 * time.Millisecond
	case d >= 5*time.Second:
		return 5 * time.Second
	default:
		return d * 2
	}
}

// publish sends evs in order, grouping runs of one topic into one call, and
// returns the state after them. st is not modified.
func (r *Relay) publish(ctx context.Context, st relayState, evs []domain.RecordedEvent) (relayState, error) {
	next := relayState{At: st.At, Topics: make(map[string]Cursor, len(st.Topics)+1)}
	for k, v := range st.Topics {
		next.Topics[k] = v
	}
	var (
		topic string
		msgs  []*message.Message
	)
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		err := r.pub.Publish(r.bus.Topic(topic), msgs...)
		msgs = msgs[:0]
		return err
	}
	for _, e := range evs {
		t := TopicOfStream(e.StreamType)
		if t != topic {
			if err := flush(); err != nil {
				return st, err
			}
			topic = t
		}
		m := bus.EventMessage(e)
		m.SetContext(ctx)
		msgs = append(msgs, m)
		next.Topics[t] = CursorOf(e)
		next.At = CursorOf(e)
	}
	if err := flush(); err != nil {
		return st, err
	}
	return next, nil
}

// TopicOfStream is the topic (without the deployment prefix) carrying the
// events of a stream type.
func TopicOfStream(streamType string) string { return "events." + streamType }
