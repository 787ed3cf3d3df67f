package projections

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// BatchApplier is optional for a Projector: a rebuild hands it many events
// (in commit order, only the types it handles, decoded) in one call, so it
// can write them with COPY or multi-row statements instead of a round trip
// per event. It must leave the same state as Apply called on each event.
type BatchApplier interface {
	ApplyBatch(ctx context.Context, tx pgx.Tx, events []domain.RecordedEvent) error
}

// ErrRebuildRunning means another process is rebuilding the same projector.
var ErrRebuildRunning = errors.New("projections: a rebuild of this projection is already running")

// RebuildOptions tune Rebuild; the zero value is sensible.
type RebuildOptions struct {
	// BatchSize is how many events are read and applied per transaction
	// (default 20,000). Large batches are fast; each transaction stays short
	// so the relay, which reads below the oldest running transaction, does
	// not stall behind the rebuild.
	BatchSize int
	// SwapTail: once a read returns fewer events than this (default
	// BatchSize/4), the rebuild has caught up and the swap transaction applies
	// the rest while live applies wait.
	SwapTail int
	// LockTimeout bounds how long the swap waits for live applies and for
	// queries still reading the old tables (default 5 s); on timeout the swap
	// is retried, up to SwapAttempts times (default 10).
	LockTimeout  time.Duration
	SwapAttempts int
	// StartWait bounds the wait for transactions older than the rebuild
	// (default 30 s); see waitStarted.
	StartWait time.Duration
	// Progress, if set, is called after every batch and once at the end.
	Progress func(RebuildProgress)
	Log      zerolog.Logger
}

// RebuildProgress is where a rebuild stands.
type RebuildProgress struct {
	Projector string
	Phase     string // "copy", "logging" (tables written to the WAL), "swap", "done" (one per projector, named alone)
	Done      int64  // events read from the store so far
	Total     int64  // events in the store when the rebuild started (grows if it was passed)
	Applied   int64  // events the projector handled
	Elapsed   time.Duration
}

// RebuildResult sums up a finished rebuild.
type RebuildResult struct {
	Projector string
	Events    int64 // events read from the store
	Applied   int64 // events the projector handled
	Elapsed   time.Duration
	Swaps     int // swap attempts (1 unless it had to wait for readers)
}

// Rate is events read per second.
func (r RebuildResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Events) / r.Elapsed.Seconds()
}

// Rebuild replays the whole event store through p into fresh copies of its
// tables, then swaps them in for the live ones in one transaction:
//
//   - a session advisory lock "rebuild:<name>" refuses a second rebuild of
//     the same projector (ErrRebuildRunning);
//   - schema rebuild_<name> gets `CREATE UNLOGGED TABLE … (LIKE live
//     INCLUDING ALL)` for each of p.Tables(), indexes renamed to the live
//     names (made LOGGED once the copy has caught up, before the swap);
//   - events are read in commit order (without their metadata) in
//     batches of BatchSize, each applied in its own transaction with
//     search_path = rebuild_<name>, <the usual path> (projectors use
//     unqualified names), through BatchApplier when p offers it;
//   - when caught up, the swap transaction takes the projector's advisory
//     lock exclusively (live applies share it, so they wait), applies the
//     tail, drops the live tables, moves the new ones into their schema, sets
//     p's checkpoint per topic to the last event the rebuild saw on it (the
//     live consumer then skips what the rebuild applied and fills any gap
//     after it from the store), drops the schema, and commits.
//
// Events the live projector parked (projection_parked) are skipped, as live
// consumption skipped them, so the rebuilt model equals the live one.
//
// Until that commit every reader sees the old tables, complete. If anything
// fails, the transaction rolls back and the live tables stay as they were.
// Limits: foreign keys and views on p's tables, or serial columns, make the
// drop fail (the rebuild then reports it and changes nothing); grants on the
// live tables are not carried over.
func Rebuild(ctx context.Context, pool *pgxpool.Pool, p Projector, opts RebuildOptions) (RebuildResult, error) {
	res, err := RebuildAll(ctx, pool, []Projector{p}, opts)
	if len(res) == 0 {
		return RebuildResult{Projector: p.Name()}, err
	}
	return res[0], err
}

// RebuildAll rebuilds several projectors in one pass over the store (each
// batch is read once and applied to every one of them, in one transaction),
// then swaps them in one after the other, each as Rebuild describes. It
// returns the results of the projectors swapped in before any error.
// Progress reports name them all, comma-separated.
func RebuildAll(ctx context.Context, pool *pgxpool.Pool, ps []Projector, opts RebuildOptions) ([]RebuildResult, error) {
	opts = opts.withDefaults()
	g := &group{pool: pool, opts: opts}
	var names []string
	for _, p := range ps {
		if len(p.Tables()) == 0 {
			return nil, fmt.Errorf("projections: %s owns no tables, nothing to rebuild", p.Name())
		}
		r := &rebuild{g: g, p: p, log: opts.Log.With().Str("projector", p.Name()).Logger(),
			res: RebuildResult{Projector: p.Name()}, topics: map[string]eventstore.Cursor{}, handled: handledTypes(p)}
		r.myTopics = append(r.myTopics, Topics(p)...)
		g.members = append(g.members, r)
		names = append(names, p.Name())
	}
	g.label = strings.Join(names, ",")
	g.start = time.Now()
	lock, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	var held []int64
	defer func() {
		// The locks die with the session anyway; release them so the pooled
		// connection can be reused.
		for _, key := range held {
			_, _ = lock.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
		}
	}()
	for _, r := range g.members {
		key := eventstore.LockKey("rebuild:" + r.p.Name())
		var got bool
		if err := lock.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
			return nil, fmt.Errorf("rebuild %s: lock: %w", r.p.Name(), err)
		}
		if !got {
			return nil, fmt.Errorf("%w: %s (another `herald rebuild-projections` holds it; wait for it to finish)", ErrRebuildRunning, r.p.Name())
		}
		held = append(held, key)
	}
	var out []RebuildResult
	err = g.run(ctx, func(r *rebuild) {
		r.res.Elapsed = time.Since(g.start)
		out = append(out, r.res)
	})
	if err != nil {
		for _, r := range g.members {
			r.cleanup()
		}
	}
	return out, err
}

// run copies, then swaps the members in one by one; a member leaves the
// group once swapped in.
func (g *group) run(ctx context.Context, done func(*rebuild)) error {
	if err := g.prepare(ctx); err != nil {
		return err
	}
	for _, r := range g.members {
		if err := r.prepare(ctx); err != nil {
			return err
		}
	}
	if err := g.copyAll(ctx); err != nil {
		return err
	}
	if err := g.waitStarted(ctx); err != nil {
		return err
	}
	for _, r := range g.members {
		if err := r.setLogged(ctx); err != nil {
			return err
		}
	}
	for len(g.members) > 0 {
		// Catch up (writing the WAL and earlier swaps took a while), so the
		// swap, which holds up live applies, has only a short tail left.
		if err := g.copyAll(ctx); err != nil {
			return err
		}
		r := g.members[0]
		if err := g.swapWithRetry(ctx, r); err != nil {
			return err
		}
		g.members = g.members[1:]
		done(r)
		if g.opts.Progress != nil {
			g.opts.Progress(RebuildProgress{Projector: r.p.Name(), Phase: "done", Done: r.res.Events,
				Total: max(g.total, r.res.Events), Applied: r.res.Applied, Elapsed: r.res.Elapsed})
		}
	}
	return nil
}

func (o RebuildOptions) withDefaults() RebuildOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = 20000
	}
	if o.SwapTail <= 0 {
		o.SwapTail = max(1, o.BatchSize/4)
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
	if o.SwapAttempts <= 0 {
		o.SwapAttempts = 10
	}
	if o.StartWait <= 0 {
		o.StartWait = 30 * time.Second
	}
	return o
}

// group is what the projectors rebuilt in one pass share: the read
// position and the figures.
type group struct {
	pool      *pgxpool.Pool
	opts      RebuildOptions
	members   []*rebuild // not swapped in yet
	label     string
	start     time.Time
	total     int64             // events in the store at the start
	startXmax string            // first transaction id not yet started when the rebuild began
	cursor    eventstore.Cursor // last event applied to every member (committed)
	events    int64             // events read and applied so far
}

// rebuild is one projector's part.
type rebuild struct {
	g        *group
	p        Projector
	log      zerolog.Logger
	res      RebuildResult
	schema   string                       // rebuild_<name>
	live     map[string]string            // table → the schema it lives in
	path     string                       // search_path for applies
	topics   map[string]eventstore.Cursor // p's topics → last event applied on it
	myTopics []string
	handled  map[string]bool
	parked   map[uuid.UUID]bool // events the live projector parked: skipped here too
}

var unsafeIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// SchemaFor is the schema a rebuild of the projector named name builds in.
func SchemaFor(name string) string {
	s := "rebuild_" + unsafeIdent.ReplaceAllString(strings.ToLower(name), "_")
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// prepare creates the rebuild schema with empty copies of p's tables whose
// indexes carry the live names.
func (g *group) prepare(ctx context.Context) error {
	if err := g.pool.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text`).Scan(&g.startXmax); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	if err := g.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&g.total); err != nil {
		return fmt.Errorf("rebuild: count events: %w", err)
	}
	return nil
}

func (r *rebuild) prepare(ctx context.Context) error {
	r.schema = SchemaFor(r.p.Name())
	var path string
	if err := r.g.pool.QueryRow(ctx, `SELECT current_setting('search_path')`).Scan(&path); err != nil {
		return err
	}
	r.path = pgx.Identifier{r.schema}.Sanitize() + ", " + path
	r.live = map[string]string{}
	rows, err := r.g.pool.Query(ctx, `SELECT event_id FROM projection_parked WHERE projector = $1`, r.p.Name())
	if err != nil {
		return fmt.Errorf("rebuild %s: parked events: %w", r.p.Name(), err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("rebuild %s: parked events: %w", r.p.Name(), err)
	}
	r.parked = map[uuid.UUID]bool{}
	for _, id := range ids {
		r.parked[id] = true
	}
	tx, err := r.g.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	schema := pgx.Identifier{r.schema}.Sanitize()
	// A schema left by a rebuild that died: we hold the lock, it is ours.
	if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
		return fmt.Errorf("rebuild %s: %w", r.p.Name(), err)
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return fmt.Errorf("rebuild %s: %w", r.p.Name(), err)
	}
	for _, t := range r.p.Tables() {
		var ns string
		err := tx.QueryRow(ctx, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, t).Scan(&ns)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("rebuild %s: table %q does not exist (migrations applied?)", r.p.Name(), t)
		}
		if err != nil {
			return err
		}
		r.live[t] = ns
		liveT := pgx.Identifier{ns, t}.Sanitize()
		newT := pgx.Identifier{r.schema, t}.Sanitize()
		// Unlogged while copying (no WAL for a million rows nobody could
		// recover anyway); made logged before the swap.
		if _, err := tx.Exec(ctx, `CREATE UNLOGGED TABLE `+newT+` (LIKE `+liveT+` INCLUDING ALL)`); err != nil {
			return fmt.Errorf("rebuild %s: copy table %s: %w", r.p.Name(), t, err)
		}
		if err := renameIndexes(ctx, tx, liveT, newT, r.schema); err != nil {
			return fmt.Errorf("rebuild %s: table %s: %w", r.p.Name(), t, err)
		}
	}
	return tx.Commit(ctx)
}

// renameIndexes gives the new table's indexes (and so its primary key and
// unique constraints) the names they have on the live table: LIKE makes up
// new names, and migrations and ON CONFLICT ON CONSTRAINT rely on the old.
func renameIndexes(ctx context.Context, tx pgx.Tx, liveT, newT, schema string) error {
	const q = `
SELECT i.relname, regexp_replace(pg_get_indexdef(x.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ', 'CREATE \1INDEX ON ')
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = $1::regclass ORDER BY i.relname`
	type idx struct{ name, def string }
	read := func(table string) ([]idx, error) {
		rows, err := tx.Query(ctx, q, table)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(row pgx.CollectableRow) (idx, error) {
			var i idx
			err := row.Scan(&i.name, &i.def)
			return i, err
		})
	}
	old, err := read(liveT)
	if err != nil {
		return err
	}
	fresh, err := read(newT)
	if err != nil {
		return err
	}
	if len(old) != len(fresh) {
		return fmt.Errorf("the copy has %d indexes, the live table %d", len(fresh), len(old))
	}
	// Two steps so a new name never collides with another index's old name.
	target := make([]string, len(fresh))
	used := make([]bool, len(old))
	for i, f := range fresh {
		for j, o := range old {
			if !used[j] && o.def == f.def {
				used[j], target[i] = true, o.name
				break
			}
		}
		if target[i] == "" {
			return fmt.Errorf("no live index matches %s (%s)", f.name, f.def)
		}
	}
	for i, f := range fresh {
		tmp := fmt.Sprintf("rebuild_tmp_%d", i)
		if _, err := tx.Exec(ctx, `ALTER INDEX `+pgx.Identifier{schema, f.name}.Sanitize()+` RENAME TO `+pgx.Identifier{tmp}.Sanitize()); err != nil {
			return err
		}
	}
	for i := range fresh {
		tmp := fmt.Sprintf("rebuild_tmp_%d", i)
		if _, err := tx.Exec(ctx, `ALTER INDEX `+pgx.Identifier{schema, tmp}.Sanitize()+` RENAME TO `+pgx.Identifier{target[i]}.Sanitize()); err != nil {
			return err
		}
	}
	return nil
}

// copyAll applies the store to every member, batch by batch, until a read
// comes back short. The next batch is read while the current one is applied.
func (g *group) copyAll(ctx context.Context) error {
	type read struct {
		evs []domain.RecordedEvent
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reads := make(chan read, 1)
	go func() {
		defer close(reads)
		from := g.cursor
		for {
			evs, err := eventstore.ReadAllFromWithoutMetadata(ctx, g.pool, from, g.opts.BatchSize)
			select {
			case reads <- read{evs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(evs) < g.opts.SwapTail {
				return
			}
			from = eventstore.CursorOf(evs[len(evs)-1])
		}
	}()
	for rd := range reads {
		if rd.err != nil {
			return fmt.Errorf("rebuild %s: %w", g.label, rd.err)
		}
		if len(rd.evs) == 0 {
			continue
		}
		applied := make([]int64, len(g.members))
		err := pgx.BeginFunc(ctx, g.pool, func(tx pgx.Tx) error {
			// The store is the truth and a rebuild can be run again: no need
			// to wait for the disk at each batch.
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
			for i, r := range g.members {
				var err error
				if applied[i], err = r.apply(ctx, tx, rd.evs); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, r := range g.members {
			r.res.Applied += applied[i]
			r.seen(r.topics, rd.evs)
		}
		g.cursor = eventstore.CursorOf(rd.evs[len(rd.evs)-1])
		g.events += int64(len(rd.evs))
		g.report("copy")
	}
	return ctx.Err()
}

// apply runs p over evs inside tx (search_path pointing at the copies).
func (r *rebuild) apply(ctx context.Context, tx pgx.Tx, evs []domain.RecordedEvent) (int64, error) {
	if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, r.path); err != nil {
		return 0, err
	}
	mine, err := handledEvents(evs, r.handled, func(id uuid.UUID) bool { return r.parked[id] })
	if err != nil {
		return 0, fmt.Errorf("rebuild %s: %w", r.p.Name(), err)
	}
	if len(mine) == 0 {
		return 0, nil
	}
	if b, ok := r.p.(BatchApplier); ok {
		if err := b.ApplyBatch(ctx, tx, mine); err != nil {
			return 0, fmt.Errorf("rebuild %s: apply batch at %d: %w", r.p.Name(), mine[0].Position, err)
		}
		return int64(len(mine)), nil
	}
	for _, e := range mine {
		if err := r.p.Apply(ctx, tx, e); err != nil {
			return 0, fmt.Errorf("rebuild %s: apply %s at %d: %w", r.p.Name(), e.Type, e.Position, err)
		}
	}
	return int64(len(mine)), nil
}

// seen moves topics to the last event of each of p's topics in evs.
func (r *rebuild) seen(topics map[string]eventstore.Cursor, evs []domain.RecordedEvent) {
	for _, e := range evs {
		if t := TopicOf(e.Type); r.isMine(t) {
			topics[t] = eventstore.CursorOf(e)
		}
	}
}

func (r *rebuild) isMine(topic string) bool {
	for _, t := range r.myTopics {
		if t == topic {
			return true
		}
	}
	return false
}

func (g *group) report(phase string) {
	if g.opts.Progress == nil {
		return
	}
	var applied int64
	for _, r := range g.members {
		applied += r.res.Applied
	}
	g.opts.Progress(RebuildProgress{Projector: g.label, Phase: phase, Done: g.events, Total: max(g.total, g.events),
		Applied: applied, Elapsed: time.Since(g.start)})
}

// waitStarted waits (up to StartWait) until every transaction that was
// running when the rebuild started has ended, so the rebuild includes every
// event committed before it began even if `herald serve` is not running to
// apply the rest. events_read_bound() ignores other databases' transactions,
// but a long one in ours still holds it back, hence the time limit; what the
// rebuild misses then is applied by the live projector from the checkpoint
// the swap sets.
func (g *group) waitStarted(ctx context.Context) error {
	deadline := time.Now().Add(g.opts.StartWait)
	for {
		var passed bool
		if err := g.pool.QueryRow(ctx, `SELECT events_read_bound() >= $1::text::xid8`, g.startXmax).Scan(&passed); err != nil {
			return fmt.Errorf("rebuild %s: %w", g.label, err)
		}
		if passed {
			return g.copyPastStart(ctx)
		}
		if time.Now().After(deadline) {
			g.opts.Log.Warn().Str("projectors", g.label).Dur("waited", g.opts.StartWait).Msg("a transaction older than the rebuild is still running; the live projector will apply what it writes")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if err := g.copyAll(ctx); err != nil {
			return err
		}
	}
}

// copyPastStart copies until every event of a transaction that began
// before the rebuild is applied. A read may still stop short of them after
// the bound passed the start: the bound cannot tell every transaction that
// just ended in another database from a running one, and holds back for it.
func (g *group) copyPastStart(ctx context.Context) error {
	for {
		if err := g.copyAll(ctx); err != nil {
			return err
		}
		var left bool
		err := g.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events
WHERE (tx_id, position) > ($1::text::xid8, $2::bigint) AND tx_id < $3::text::xid8)`,
			strconv.FormatUint(g.cursor.TxID, 10), g.cursor.Position, g.startXmax).Scan(&left)
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", g.label, err)
		}
		if !left {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// setLogged turns the copies into ordinary, crash-safe tables.
func (r *rebuild) setLogged(ctx context.Context) error {
	r.g.report("logging")
	for _, t := range r.p.Tables() {
		if _, err := r.g.pool.Exec(ctx, `ALTER TABLE `+pgx.Identifier{r.schema, t}.Sanitize()+` SET LOGGED`); err != nil {
			return fmt.Errorf("rebuild %s: %s: %w", r.p.Name(), t, err)
		}
	}
	return nil
}

func (g *group) swapWithRetry(ctx context.Context, r *rebuild) error {
	for attempt := 1; ; attempt++ {
		r.res.Swaps = attempt
		err := r.swap(ctx)
		var pgErr *pgconn.PgError
		if err == nil {
			return nil
		}
		if !errors.As(err, &pgErr) || pgErr.Code != "55P03" || attempt >= g.opts.SwapAttempts || ctx.Err() != nil {
			return err
		}
		// lock_not_available: a long query still reads the old tables, or a
		// live apply is slow. Catch up again, then try once more.
		r.log.Warn().Int("attempt", attempt).Msg("rebuild swap waited too long for a lock; retrying")
		if err := g.copyAll(ctx); err != nil {
			return err
		}
	}
}

// swap applies the tail and replaces the live tables, in one transaction.
func (r *rebuild) swap(ctx context.Context) error {
	g := r.g
	g.report("swap")
	tx, err := g.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, strconv.FormatInt(g.opts.LockTimeout.Milliseconds(), 10)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, eventstore.LockKey(LockName(r.p.Name()))); err != nil {
		return fmt.Errorf("rebuild %s: wait for live applies: %w", r.p.Name(), err)
	}
	// Live applies now wait for us: apply the rest. Progress is kept aside
	// until commit; a rolled-back swap must not move anything.
	cursor, topics := g.cursor, cloneCursors(r.topics)
	var events, applied int64
	for {
		evs, err := eventstore.ReadAllFromWithoutMetadata(ctx, tx, cursor, g.opts.BatchSize)
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", r.p.Name(), err)
		}
		if len(evs) == 0 {
			break
		}
		n, err := r.apply(ctx, tx, evs)
		if err != nil {
			return err
		}
		r.seen(topics, evs)
		cursor = eventstore.CursorOf(evs[len(evs)-1])
		events += int64(len(evs))
		applied += n
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, r.path); err != nil {
		return err
	}
	for _, t := range r.p.Tables() {
		liveT := pgx.Identifier{r.live[t], t}.Sanitize()
		if _, err := tx.Exec(ctx, `DROP TABLE `+liveT); err != nil {
			return fmt.Errorf("rebuild %s: drop live %s: %w", r.p.Name(), t, err)
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+pgx.Identifier{r.schema, t}.Sanitize()+` SET SCHEMA `+pgx.Identifier{r.live[t]}.Sanitize()); err != nil {
			return fmt.Errorf("rebuild %s: move %s into place: %w", r.p.Name(), t, err)
		}
	}
	for topic, c := range topics {
		if _, err := tx.Exec(ctx, `
INSERT INTO public.projection_checkpoints (projector, topic, tx_id, position, updated_at)
VALUES ($1, $2, $3::text::xid8, $4, now())
ON CONFLICT (projector, topic) DO UPDATE SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position, updated_at = now()`,
			r.p.Name(), topic, strconv.FormatUint(c.TxID, 10), c.Position); err != nil {
			return fmt.Errorf("rebuild %s: checkpoint %s: %w", r.p.Name(), topic, err)
		}
	}
	if _, err := tx.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{r.schema}.Sanitize()); err != nil {
		return fmt.Errorf("rebuild %s: drop %s: %w", r.p.Name(), r.schema, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("rebuild %s: swap: %w", r.p.Name(), err)
	}
	r.topics = topics
	r.res.Events = g.events + events
	r.res.Applied += applied
	return nil
}

func cloneCursors(m map[string]eventstore.Cursor) map[string]eventstore.Cursor {
	out := make(map[string]eventstore.Cursor, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// cleanup drops the rebuild schema after a failure; the live tables were
// never touched.
func (r *rebuild) cleanup() {
	if r.schema == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.g.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{r.schema}.Sanitize()+` CASCADE`); err != nil {
		r.log.Warn().Err(err).Str("schema", r.schema).Msg("could not drop the rebuild schema")
	}
}
