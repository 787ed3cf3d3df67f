package projections

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// RetryPolicy says how often a failing event is retried before it is parked.
type RetryPolicy struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

// DefaultRetry retries for about ten seconds before parking an event.
var DefaultRetry = RetryPolicy{Attempts: 8, Base: 50 * time.Millisecond, Max: 3 * time.Second}

// Runtime feeds projectors from the bus.
type Runtime struct {
	pool       *pgxpool.Pool
	bus        bus.Config
	log        zerolog.Logger
	projectors []Projector
	retry      RetryPolicy
	silence    time.Duration
}

// NewRuntime returns a runtime for projectors.
func NewRuntime(pool *pgxpool.Pool, cfg bus.Config, log zerolog.Logger, projectors ...Projector) (*Runtime, error) {
	if pool == nil || cfg.Client == nil {
		return nil, errors.New("projections: runtime needs a pool and a redis client")
	}
	seen := map[string]bool{}
	for _, p := range projectors {
		if seen[p.Name()] {
			return nil, fmt.Errorf("projections: two projectors named %q", p.Name())
		}
		seen[p.Name()] = true
		// Served at 0 from the start, so a rate over them has a beginning.
		for _, c := range []*prometheus.CounterVec{appliedEvents, duplicateEvents, gapFilled, parkedEvents} {
			c.WithLabelValues(p.Name())
		}
	}
	return &Runtime{pool: pool, bus: cfg, log: log.With().Str("component", "projections").Logger(),
		projectors: projectors, retry: DefaultRetry, silence: busSilence}, nil
}

// WithRetry replaces the retry policy (tests park poison events quickly).
func (rt *Runtime) WithRetry(p RetryPolicy) *Runtime { rt.retry = p; return rt }

// WithSilence replaces how long an applier waits for a message before it
// reads the store anyway (busSilence): a test that must tell what a message
// caused from what a poll did sets it beyond its own length.
func (rt *Runtime) WithSilence(d time.Duration) *Runtime { rt.silence = d; return rt }

// Run consumes until ctx ends. Each projector runs in at most one process at
// a time (an advisory lock elects it), which keeps each topic in order.
func (rt *Runtime) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, p := range rt.projectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.runProjector(ctx, p)
		}()
	}
	wg.Wait()
	return nil
}

// LockName is the advisory lock a projector's applies share and a rebuild's
// swap takes exclusively.
func LockName(projector string) string { return "projection:" + projector }

// Topics lists the topics (without the deployment prefix) p consumes.
func Topics(p Projector) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range p.EventTypes() {
		topic := TopicOf(t)
		if !seen[topic] {
			seen[topic] = true
			out = append(out, topic)
		}
	}
	return out
}

func (rt *Runtime) runProjector(ctx context.Context, p Projector) {
	log := rt.log.With().Str("projector", p.Name()).Logger()
	for ctx.Err() == nil {
		err := eventstore.RunExclusive(ctx, rt.pool.Config().ConnConfig, "consumer:"+rt.bus.Prefix+p.Name(), time.Second,
			func(ctx context.Context) error { return rt.consume(ctx, p, log) })
		if ctx.Err() == nil {
			log.Error().Err(err).Msg("projector stopped; restarting")
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// Batching: an applier takes the messages that are waiting, up to
// maxBatch, without waiting for more: its transaction reads ahead whatever
// the store holds on the topic anyway, so a burst costs a few transactions
// and a trickle no added latency.
//
// A batch of messages that were all applied already (the read-ahead of an
// earlier transaction took their events) still reads the store when the
// last read is readAheadEvery old: a backlog of such messages in Redis
// must not delay events that are already in the store.
const (
	maxBatch       = 500
	readAheadEvery = 10 * time.Millisecond
	busSilence     = time.Second
	busMisses      = 3
)

// feed applies one topic's events to one projector.
type feed struct {
	rt      *Runtime
	p       Projector
	handled map[string]bool // the event types p applies
	topic   string
	log     zerolog.Logger
}

// handledTypes is the set of event types p applies.
func handledTypes(p Projector) map[string]bool {
	handled := map[string]bool{}
	for _, t := range p.EventTypes() {
		handled[t] = true
	}
	return handled
}

// consume catches p up from the store, then follows the bus until ctx ends
// or a topic fails.
func (rt *Runtime) consume(ctx context.Context, p Projector, log zerolog.Logger) error {
	handled := handledTypes(p)
	var feeds []*feed
	for _, topic := range Topics(p) {
		feeds = append(feeds, &feed{rt: rt, p: p, handled: handled, topic: topic, log: log})
	}
	// Events a previous run acknowledged but never committed (or that Redis
	// lost) are applied before anything new.
	for _, f := range feeds {
		if err := f.catchUp(ctx); err != nil {
			return fmt.Errorf("catch up %s: %w", f.topic, err)
		}
	}
	return rt.follow(ctx, p, feeds, log)
}

// follow subscribes to every feed's topic and runs, per topic, a receiver
// and an applier, until ctx ends or one of them fails.
func (rt *Runtime) follow(ctx context.Context, p Projector, feeds []*feed, log zerolog.Logger) error {
	// One consumer per group (the advisory lock elects it), and the store
	// fills every gap, so a projector needs no claiming: it reads and
	// acknowledges in batches.
	sub, err := bus.NewBatchSubscriber(rt.bus, "projector."+p.Name(), p.Name(), maxBatch)
	if err != nil {
		return err
	}
	defer sub.Close()
	// Ending cctx stops this subscription's goroutines, including an
	// acknowledgement watermill would otherwise retry for ever (a Redis
	// restarted empty answers NOGROUP to it).
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(feeds)) // each goroutine sends at most once
	for _, f := range feeds {
		msgs, err := sub.Subscribe(cctx, rt.bus.Topic(f.topic))
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", f.topic, err)
		}
		items := make(chan eventstore.Cursor, maxBatch)
		wg.Add(2)
		go func() {
			defer wg.Done()
			f.receive(cctx, msgs, items, errs)
		}()
		go func() {
			defer wg.Done()
			f.applyMessages(cctx, items, errs)
		}()
	}
	log.Info().Strs("topics", Topics(p)).Msg("projector consuming")
	var failure error
	select {
	case <-ctx.Done():
	case failure = <-errs:
	}
	cancel()
	_ = sub.Close()
	wg.Wait()
	return failure
}

// receive hands the applier where each message's event stands, until the
// subscription ends. Messages are acknowledged once handed over, which lets
// watermill deliver the next one at once. An acknowledged event that never
// got applied (a crash) is not lost: the next run's catch-up, or the next
// transaction's read of the store, applies it.
func (f *feed) receive(ctx context.Context, msgs <-chan *message.Message, items chan<- eventstore.Cursor, errs chan<- error) {
	defer close(items)
	for m := range msgs {
		at, err := bus.MessageCursor(m)
		m.Ack()
		if err != nil {
			f.log.Error().Err(err).Str("message", m.UUID).Msg("undecodable message dropped; the store fills the gap")
			continue
		}
		select {
		case items <- eventstore.Cursor(at):
		case <-ctx.Done():
			return
		}
	}
	if ctx.Err() == nil {
		errs <- fmt.Errorf("subscription to %s ended", f.topic)
	}
}

// applier is the state of one topic's applier goroutine.
//
// Messages wake the applier; the events come from the store. Each
// transaction applies the delivered events and then reads ahead whatever
// else the topic holds, so under load one transaction covers many events
// and the messages of events already applied are dropped without a
// transaction.
//
// When no message comes for busSilence, the store is read anyway, so the
// read model stays complete whatever happens to the bus; busMisses such
// reads in a row that found events mean the subscription is wedged: consume
// ends, and the projector subscribes again.
type applier struct {
	*feed
	applied  eventstore.Cursor // this process's last commit
	lastRead time.Time
	silence  *time.Timer
	misses   int
}

// applyMessages applies what items brings until it closes or an apply
// fails.
func (f *feed) applyMessages(ctx context.Context, items <-chan eventstore.Cursor, errs chan<- error) {
	a := &applier{feed: f, silence: time.NewTimer(f.rt.silence)}
	defer a.silence.Stop()
	for {
		batch, polled, open := a.next(items)
		if !open {
			return
		}
		if err := a.drain(ctx, batch, polled); err != nil {
			if ctx.Err() == nil {
				errs <- err
			}
			return
		}
	}
}

// next waits for delivered messages and returns those not applied yet, or
// polled when busSilence passed without any; open is false once the
// receiver has stopped. A batch whose events are all applied already is
// dropped, unless the store was last read readAheadEvery ago.
func (a *applier) next(items <-chan eventstore.Cursor) (batch []eventstore.Cursor, polled, open bool) {
	for {
		select {
		case first, ok := <-items:
			if !ok {
				return nil, false, false
			}
			a.misses = 0
			batch = fresh(collect(first, items), a.applied)
			if len(batch) > 0 || time.Since(a.lastRead) >= readAheadEvery {
				return batch, false, true
			}
			duplicateEvents.WithLabelValues(a.p.Name()).Inc()
		case <-a.silence.C:
			return nil, true, true
		}
	}
}

// drain applies batch, then reads the store until the topic is drained. A
// poll that found events counts as a miss of the bus.
func (a *applier) drain(ctx context.Context, batch []eventstore.Cursor, polled bool) error {
	fromStore := 0
	for more := true; more; batch = nil {
		var read int
		var err error
		if a.applied, read, more, err = a.handle(ctx, batch); err != nil {
			return err
		}
		fromStore += read
	}
	a.lastRead = time.Now()
	a.silence.Reset(a.rt.silence)
	if polled && fromStore > 0 {
		if a.misses++; a.misses >= busMisses {
			return fmt.Errorf("the bus delivered nothing on %s for %s while the store had events; subscribing again", a.topic, a.rt.silence*busMisses)
		}
	}
	return nil
}

// collect gathers first and the cursors already waiting, up to maxBatch.
func collect(first eventstore.Cursor, items <-chan eventstore.Cursor) []eventstore.Cursor {
	batch := []eventstore.Cursor{first}
	for len(batch) < maxBatch {
		select {
		case it, ok := <-items:
			if !ok {
				return batch
			}
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

// fresh returns the cursors of batch past applied, in place.
func fresh(batch []eventstore.Cursor, applied eventstore.Cursor) []eventstore.Cursor {
	out := batch[:0]
	for _, it := range batch {
		if applied.Less(it) {
			out = append(out, it)
		}
	}
	return out
}

// catchUp applies what the store holds on the topic past the checkpoint,
// one read-ahead of up to maxBatch events per transaction.
func (f *feed) catchUp(ctx context.Context) error {
	for {
		cp, _, more, err := f.handle(ctx, nil)
		if err != nil || !more {
			return err
		}
		f.log.Debug().Str("topic", f.topic).Uint64("tx_id", cp.TxID).Int64("position", cp.Position).Msg("caught up from the store")
	}
}

func streamTypeOf(topic string) string { return strings.TrimPrefix(topic, "events.") }

// handle applies a batch and reads ahead, retrying with backoff; an event
// that keeps failing is parked so the topic moves on. It returns the
// checkpoint after the transaction, how many of the topic's events the
// read-ahead found in the store, and whether it was cut short by maxBatch
// (more is waiting in the store); an error only when ctx ends.
func (f *feed) handle(ctx context.Context, batch []eventstore.Cursor) (eventstore.Cursor, int, bool, error) {
	retry := f.rt.retry
	parked := map[uuid.UUID]string{}
	delay := retry.Base
	for attempt := 1; ; attempt++ {
		cp, read, more, failed, err := f.applyOnce(ctx, batch, parked)
		if err == nil {
			return cp, read, more, nil
		}
		if ctx.Err() != nil {
			return cp, 0, false, ctx.Err()
		}
		if failed == nil || attempt < retry.Attempts {
			f.log.Warn().Err(err).Int("attempt", attempt).Int("batch", len(batch)).Msg("apply failed; retrying")
			select {
			case <-ctx.Done():
				return cp, 0, false, ctx.Err()
			case <-time.After(delay):
			}
			delay = min(delay*2, retry.Max)
			if failed == nil {
				attempt-- // infrastructure trouble, not an event's fault: retry without parking
			}
			continue
		}
		f.log.Error().Err(err).Str("event_id", failed.EventID.String()).Int64("position", failed.Position).
			Str("type", failed.Type).Int("attempts", attempt).Msg("event parked: the projector could not apply it")
		parked[failed.EventID] = err.Error()
		parkedEvents.WithLabelValues(f.p.Name()).Inc()
		attempt, delay = 0, retry.Base
	}
}

// applyOnce runs one transaction: read ahead what the store holds on the
// topic past the checkpoint, apply those events, then the delivered events
// beyond them, and move the checkpoint. read is how many events the
// read-ahead found; more says it stopped at maxBatch. On an Apply error it
// returns the event that failed.
//
// A read-ahead that found fewer than maxBatch events found all of the
// topic's events below the store's read bound B, so the checkpoint moves to
// (B, 0) even past the last event applied: every transaction below B has
// ended, and a later event of the topic lies beyond. Otherwise a projector
// of a quiet topic would read the whole store written since its last event
// on every poll.
func (f *feed) applyOnce(ctx context.Context, batch []eventstore.Cursor, parked map[uuid.UUID]string) (cp eventstore.Cursor, read int, more bool, failed *domain.RecordedEvent, err error) {
	tx, err := f.rt.pool.Begin(ctx)
	if err != nil {
		return cp, 0, false, nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	start, bound, ahead, err := f.readAhead(ctx, tx)
	if err != nil {
		return start, 0, false, nil, err
	}
	cp = start
	if len(ahead) > 0 {
		if failed, err := f.applyAhead(ctx, tx, ahead, parked); err != nil {
			return start, 0, false, failed, err
		}
		cp = eventstore.CursorOf(ahead[len(ahead)-1])
	}
	more = len(ahead) == maxBatch
	if more {
		batch = nil // the next transaction goes on reading; the messages wait
	} else if below := (eventstore.Cursor{TxID: bound}); cp.Less(below) {
		cp = below
	}
	if cp, failed, err = f.applyLate(ctx, tx, cp, batch, parked); err != nil {
		return start, 0, false, failed, err
	}
	if err := f.commit(ctx, tx, start, cp); err != nil {
		return start, 0, false, nil, err
	}
	return cp, len(ahead), more, nil, nil
}

// readAhead takes the store's read bound and the checkpoint and reads up to
// maxBatch events of the topic past the checkpoint below that bound, in one
// round trip.
func (f *feed) readAhead(ctx context.Context, tx pgx.Tx) (cp eventstore.Cursor, bound uint64, ahead []domain.RecordedEvent, err error) {
	br := tx.SendBatch(ctx, f.readAheadBatch())
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	var boundText string
	if err := br.QueryRow().Scan(nil, nil, &boundText); err != nil {
		return cp, 0, nil, err
	}
	if bound, err = strconv.ParseUint(boundText, 10, 64); err != nil {
		return cp, 0, nil, fmt.Errorf("read bound %q: %w", boundText, err)
	}
	if cp, err = scanCheckpoint(br.QueryRow(), f.p.Name(), f.topic); err != nil {
		return cp, 0, nil, err
	}
	if _, err := br.Exec(); err != nil { // the planner settings
		return cp, 0, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return cp, 0, nil, fmt.Errorf("read ahead: %w", err)
	}
	if ahead, err = eventstore.ScanEvents(rows, false); err != nil {
		return cp, 0, nil, fmt.Errorf("read ahead: %w", err)
	}
	for range 2 { // the RESETs
		if _, err := br.Exec(); err != nil {
			return cp, 0, nil, err
		}
	}
	return cp, bound, ahead, nil
}

// readAheadBatch is the statements readAhead sends.
func (f *feed) readAheadBatch() *pgx.Batch {
	b := &pgx.Batch{}
	// Read models are rebuilt from the store at will, and a lost tail is
	// applied again from the store (catch-up at start, gap checks): no need
	// to wait for the disk on every transaction.
	//
	// The store's read bound is taken once, kept for the transaction and
	// read back: the read-ahead reads below it, and the checkpoint may move
	// up to it. A bound stays true once taken (every transaction below it
	// has ended), so a later statement may use it.
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock_shared($1),
    set_config('herald.read_bound', events_read_bound()::text, true)`,
		eventstore.LockKey(LockName(f.p.Name())))
	b.Queue(selectCheckpoint+` FOR UPDATE`, f.p.Name(), f.topic)
	// The read-ahead must walk the topic's index in order and stop at
	// maxBatch. A cached generic plan, or statistics a bulk load made
	// stale, can lead the planner to a bitmap scan and a sort of the whole
	// backlog instead; these settings hold for this statement only.
	b.Queue(`SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('enable_bitmapscan', 'off', true)`)
	b.Queue(readAheadSQL, streamTypeOf(f.topic), f.p.Name(), f.topic, maxBatch)
	b.Queue(`RESET plan_cache_mode`)
	b.Queue(`RESET enable_bitmapscan`)
	return b
}

// applyLate applies the delivered events past cp, those of transactions
// that committed after the store's read bound was taken, and returns the
// checkpoint after them. The relay publishes an event only once every
// transaction before it has ended, so the store holds every event of the
// topic up to the last one delivered, and they are read from there in one
// statement, with those no message named (a gap the bus left) among them.
// Redelivered messages change nothing.
func (f *feed) applyLate(ctx context.Context, tx pgx.Tx, cp eventstore.Cursor, batch []eventstore.Cursor, parked map[uuid.UUID]string) (eventstore.Cursor, *domain.RecordedEvent, error) {
	last, delivered := cp, 0
	for _, it := range batch {
		if !last.Less(it) { // applied already, or earlier in the batch
			duplicateEvents.WithLabelValues(f.p.Name()).Inc()
			continue
		}
		delivered++
		last = it
	}
	if delivered == 0 {
		return cp, nil, nil
	}
	evs, err := readTopic(ctx, tx, streamTypeOf(f.topic), cp, eventstore.Cursor{TxID: last.TxID, Position: last.Position + 1})
	if err != nil {
		return cp, nil, err
	}
	if n := len(evs) - delivered; n > 0 {
		gapFilled.WithLabelValues(f.p.Name()).Add(float64(n))
	}
	if failed, err := f.applyEach(ctx, tx, evs, parked); err != nil {
		return cp, failed, err
	}
	return last, nil, nil
}

// commit moves the checkpoint from start to cp, when it moved, and commits.
func (f *feed) commit(ctx context.Context, tx pgx.Tx, start, cp eventstore.Cursor) error {
	if cp != start {
		if err := setCheckpoint(ctx, tx, f.p.Name(), f.topic, cp); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// applyAhead applies the events read ahead. A projector that offers
// ApplyBatch (BatchApplier) gets them in one call, as a rebuild does, inside
// a savepoint; if that fails, the events are applied one by one, which names
// the event to retry or park.
func (f *feed) applyAhead(ctx context.Context, tx pgx.Tx, evs []domain.RecordedEvent, parked map[uuid.UUID]string) (*domain.RecordedEvent, error) {
	if b, ok := f.p.(BatchApplier); ok && len(evs) > 1 && len(parked) == 0 {
		// An undecodable event is reported (and parked) by applyEvent below.
		if mine, err := handledEvents(evs, f.handled, nil); err == nil && len(mine) > 0 {
			sp, err := tx.Begin(ctx)
			if err != nil {
				return nil, err
			}
			if err := b.ApplyBatch(ctx, sp, mine); err == nil {
				if err := sp.Commit(ctx); err != nil {
					return nil, err
				}
				appliedEvents.WithLabelValues(f.p.Name()).Add(float64(len(mine)))
				return nil, nil
			}
			if err := sp.Rollback(ctx); err != nil {
				return nil, err
			}
		}
	}
	return f.applyEach(ctx, tx, evs, parked)
}

// applyEach applies evs one by one and returns the event that failed.
func (f *feed) applyEach(ctx context.Context, tx pgx.Tx, evs []domain.RecordedEvent, parked map[uuid.UUID]string) (*domain.RecordedEvent, error) {
	for i := range evs {
		if failed, err := f.applyEvent(ctx, tx, &evs[i], parked); err != nil {
			return failed, err
		}
	}
	return nil, nil
}

// handledEvents returns, decoded, the events of evs a projector handles,
// leaving out those skip says (parked ones). Live read-ahead and rebuilds
// hand these to ApplyBatch.
func handledEvents(evs []domain.RecordedEvent, handled map[string]bool, skip func(uuid.UUID) bool) ([]domain.RecordedEvent, error) {
	mine := make([]domain.RecordedEvent, 0, len(evs))
	for _, e := range evs {
		if !handled[e.Type] || (skip != nil && skip(e.EventID)) {
			continue
		}
		if e.Event == nil {
			ev, err := domain.DecodeEvent(e.Type, e.Data)
			if err != nil {
				return nil, fmt.Errorf("event %d: %w", e.Position, err)
			}
			e.Event = ev
		}
		mine = append(mine, e)
	}
	return mine, nil
}

// applyEvent applies one event, or records it as parked; an event of a
// type the projector does not handle only moves the checkpoint.
func (f *feed) applyEvent(ctx context.Context, tx pgx.Tx, ev *domain.RecordedEvent, parked map[uuid.UUID]string) (*domain.RecordedEvent, error) {
	if reason, ok := parked[ev.EventID]; ok {
		_, err := tx.Exec(ctx, `
INSERT INTO projection_parked (projector, event_id, position, type, error, attempts)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, f.p.Name(), ev.EventID, ev.Position, ev.Type, reason, f.rt.retry.Attempts)
		return nil, err
	}
	if !f.handled[ev.Type] {
		return nil, nil
	}
	if ev.Event == nil {
		var err error
		if ev.Event, err = domain.DecodeEvent(ev.Type, ev.Data); err != nil {
			return ev, err
		}
	}
	if err := f.p.Apply(ctx, tx, *ev); err != nil {
		return ev, fmt.Errorf("%s: apply %s at %d: %w", f.p.Name(), ev.Type, ev.Position, err)
	}
	appliedEvents.WithLabelValues(f.p.Name()).Inc()
	return nil, nil
}

const selectCheckpoint = `SELECT tx_id::text, position FROM projection_checkpoints WHERE projector = $1 AND topic = $2`

func scanCheckpoint(row pgx.Row, projector, topic string) (eventstore.Cursor, error) {
	var c eventstore.Cursor
	var txid string
	err := row.Scan(&txid, &c.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("checkpoint %s/%s: %w", projector, topic, err)
	}
	c.TxID, err = strconv.ParseUint(txid, 10, 64)
	return c, err
}

func setCheckpoint(ctx context.Context, tx pgx.Tx, projector, topic string, c eventstore.Cursor) error {
	_, err := tx.Exec(ctx, `
INSERT INTO projection_checkpoints (projector, topic, tx_id, position, updated_at)
VALUES ($1, $2, $3::text::xid8, $4, now())
ON CONFLICT (projector, topic) DO UPDATE SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position, updated_at = now()`,
		projector, topic, strconv.FormatUint(c.TxID, 10), c.Position)
	if err != nil {
		return fmt.Errorf("checkpoint %s/%s: %w", projector, topic, err)
	}
	return nil
}

// readTopic returns the events of one stream type strictly between from and
// to in commit order, undecoded.
const selectTopic = eventstore.SelectEventWithoutMetadata + `
WHERE stream_type = $1
  AND (tx_id, position) > ($2::text::xid8, $3::bigint)`

// readAheadSQL reads up to $4 events of stream type $1 past the checkpoint
// of projector $2 on topic $3, below the store's read bound as the
// transaction took it (herald.read_bound).
const readAheadSQL = eventstore.SelectEventWithoutMetadata + `
WHERE stream_type = $1
  AND (tx_id, position) > (
      coalesce((SELECT tx_id FROM projection_checkpoints WHERE projector = $2 AND topic = $3), '0'::xid8),
      coalesce((SELECT position FROM projection_checkpoints WHERE projector = $2 AND topic = $3), 0))
  AND tx_id < current_setting('herald.read_bound')::xid8
ORDER BY events.tx_id, events.position
LIMIT $4`

func readTopic(ctx context.Context, tx pgx.Tx, streamType string, from, to eventstore.Cursor) ([]domain.RecordedEvent, error) {
	rows, err := tx.Query(ctx, selectTopic+`
  AND (tx_id, position) < ($4::text::xid8, $5::bigint)
ORDER BY events.tx_id, events.position`,
		streamType, strconv.FormatUint(from.TxID, 10), from.Position, strconv.FormatUint(to.TxID, 10), to.Position)
	if err != nil {
		return nil, fmt.Errorf("gap fill: %w", err)
	}
	return eventstore.ScanEvents(rows, false)
}
