package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/encoding/json"

	"github.com/heraldmail/herald/domain"
)

// Expected versions for Append besides an exact version number.
const (
	// Any appends whatever the stream's current version is.
	Any int64 = -2
	// NoStream demands that the stream has no events yet.
	NoStream int64 = 0
)

var (
	// ErrConcurrency means the stream's version was not the expected one.
	ErrConcurrency = errors.New("eventstore: stream version conflict")
	// ErrClaimTaken means a uniqueness claim is held by another owner.
	ErrClaimTaken = errors.New("eventstore: unique key already claimed")
)

// ClaimTakenError names the claim that was refused; it matches ErrClaimTaken.
type ClaimTakenError struct {
	Scope, Key string
}

func (e *ClaimTakenError) Error() string {
	return fmt.Sprintf("eventstore: %s %q already claimed", e.Scope, e.Key)
}

func (e *ClaimTakenError) Unwrap() error { return ErrClaimTaken }

// Claim reserves Key within Scope for Owner, in the append's transaction.
// Claiming a key the same owner already holds succeeds.
type Claim struct {
	Scope string
	Key   string
	Owner uuid.UUID
}

// Release frees a key, in the append's transaction.
type Release struct {
	Scope string
	Key   string
}

// StreamAppend is the events for one stream with the version they expect.
type StreamAppend struct {
	Stream   domain.Stream
	Expected int64
	Events   []domain.NewEvent
}

// Commit is everything one transaction writes: events for one or more
// streams, uniqueness claims and releases.
type Commit struct {
	Appends  []StreamAppend
	Claims   []Claim
	Releases []Release
}

// Result tells where the appended events landed.
type Result struct {
	// LastPosition is the store position of the last event written (or, for
	// an idempotent retry, already stored).
	LastPosition int64
	// Version is the last stream's version after the append.
	Version int64
}

// Store is the PostgreSQL event store.
type Store struct {
	pool *pgxpool.Pool
	// appended wakes an in-process relay at once after a commit; relays in
	// other processes poll.
	appended chan struct{}
}

// New returns a store over pool.
func New(pool *pgxpool.Pool) (*Store, error) {
	if pool == nil {
		return nil, errors.New("eventstore: nil pool")
	}
	return &Store{pool: pool, appended: make(chan struct{}, 1)}, nil
}

// Pool exposes the pool for packages that share the database (projections).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// appendSQL inserts one stream's events when its version is as expected,
// and fails with HC002 (events_version_conflict) when it is not, so that the
// statements sent with it in one batch roll back too.
const appendSQL = `
WITH cur AS (
    SELECT coalesce(max(version), 0) AS v FROM events WHERE stream_id = $2
), ins AS (
    INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
    SELECT e.id, $1, $2, cur.v + e.n, e.type, e.data::jsonb, e.meta::jsonb
    FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS e(id, type, data, meta, n), cur
    WHERE $3::bigint < 0 OR cur.v = $3::bigint
    RETURNING position, version
)
SELECT position, version FROM ins
UNION ALL
SELECT NULL, events_version_conflict() WHERE NOT EXISTS (SELECT 1 FROM ins)`

// appendNewSQL is appendSQL for a NoStream append: the versions are 1..n,
// and the stream's first version is unique, so a stream that already exists
// fails on events_stream_id_version_key without being read first. ($3 is
// always 0; it keeps the arguments of appendSQL.)
const appendNewSQL = `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT e.id, $1, $2, e.n, e.type, e.data::jsonb, e.meta::jsonb
FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS e(id, type, data, meta, n)
WHERE $3::bigint = 0
RETURNING position, version`

// Append writes events to one stream in one transaction. expected is Any,
// NoStream or the exact current version; a mismatch is ErrConcurrency.
// Events whose IDs are already stored are not written again, so a retried
// append succeeds without duplicating anything.
func (s *Store) Append(ctx context.Context, stream domain.Stream, expected int64, events ...domain.NewEvent) (Result, error) {
	return s.Commit(ctx, Commit{Appends: []StreamAppend{{Stream: stream, Expected: expected, Events: events}}})
}

// Commit writes c in one transaction: all of it or none of it.
func (s *Store) Commit(ctx context.Context, c Commit) (Result, error) {
	if len(c.Appends) == 0 {
		return Result{}, errors.New("eventstore: commit without events")
	}
	args := make([][]any, len(c.Appends))
	for i, a := range c.Appends {
		if len(a.Events) == 0 {
			return Result{}, fmt.Errorf("eventstore: append to %s %s without events", a.Stream.Type, a.Stream.ID)
		}
		var err error
		if args[i], err = appendArgs(a); err != nil {
			return Result{}, err
		}
	}
	// An Any append can lose a race for the next version; it simply retries.
	for attempt := 0; ; attempt++ {
		res, err := s.commitOnce(ctx, c, args)
		if err == nil {
			select {
			case s.appended <- struct{}{}:
			default:
			}
		}
		if errors.Is(err, errVersionTaken) {
			if onlyAny(c) && attempt < 100 {
				// Writers racing for one stream's next version: back off a
				// little, randomly, so they stop colliding.
				if attempt >= 2 {
					time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
				}
				continue
			}
			return Result{}, ErrConcurrency
		}
		return res, err
	}
}

var errVersionTaken = errors.New("version taken")

func onlyAny(c Commit) bool {
	for _, a := range c.Appends {
		if a.Expected != Any {
			return false
		}
	}
	return true
}

func appendArgs(a StreamAppend) ([]any, error) {
	n := len(a.Events)
	// [16]byte, not uuid.UUID: pgx encodes a uuid.UUID through its
	// driver.Valuer (text and back), many times the cost of raw bytes.
	ids := make([][16]byte, n)
	types := make([]string, n)
	datas := make([]string, n)
	metas := make([]string, n)
	var meta string
	for i, e := range a.Events {
		if e.ID == uuid.Nil {
			return nil, fmt.Errorf("eventstore: event %d of %s has no id", i, a.Stream.ID)
		}
		if e.Event == nil {
			return nil, fmt.Errorf("eventstore: event %s has no data", e.ID)
		}
		d, err := json.Marshal(e.Event)
		if err != nil {
			return nil, fmt.Errorf("eventstore: encode %s: %w", e.Event.EventType(), err)
		}
		// Events of one command share their metadata: encode it once.
		if i == 0 || e.Metadata != a.Events[i-1].Metadata {
			m, err := json.Marshal(e.Metadata)
			if err != nil {
				return nil, fmt.Errorf("eventstore: encode metadata: %w", err)
			}
			meta = string(m)
		}
		ids[i], types[i], datas[i], metas[i] = e.ID, e.Event.EventType(), string(d), meta
	}
	expected := a.Expected
	if expected < 0 {
		expected = -1
	}
	return []any{a.Stream.Type, [16]byte(a.Stream.ID), expected, ids, types, datas, metas}, nil
}

// querier is what both the pool and a transaction offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (s *Store) commitOnce(ctx context.Context, c Commit, args [][]any) (Result, error) {
	// Releases, claims and appends go out as one pipelined batch, which
	// PostgreSQL runs as one implicit transaction: one round trip for the
	// whole commit, and any failing statement (a taken claim, a version that
	// did not hold) rolls back all of it.
	b := &pgx.Batch{}
	for _, r := range c.Releases {
		b.Queue(`DELETE FROM unique_claims WHERE scope = $1 AND key = $2`, r.Scope, r.Key)
	}
	for _, cl := range c.Claims {
		b.Queue(`SELECT claim_unique($1, $2, $3)`, cl.Scope, cl.Key, [16]byte(cl.Owner))
	}
	for i, a := range c.Appends {
		if a.Expected == NoStream {
			b.Queue(appendNewSQL, args[i]...)
		} else {
			b.Queue(appendSQL, args[i]...)
		}
	}
	br := s.pool.SendBatch(ctx, b)
	res, err := readBatch(br, c)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		return res, nil
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "HC001":
		return Result{}, &ClaimTakenError{Scope: pgErr.Detail, Key: pgErr.Hint}
	case errors.As(err, &pgErr) && (pgErr.Code == "HC002" || pgErr.ConstraintName == "events_event_id_key" ||
		pgErr.ConstraintName == "events_stream_id_version_key"):
		// Nothing was written. If every event of the commit is already
		// stored, this is a retry of a commit that succeeded.
		return s.alreadyStored(ctx, c, args)
	default:
		return Result{}, fmt.Errorf("eventstore: commit: %w", err)
	}
}

func readBatch(br pgx.BatchResults, c Commit) (Result, error) {
	for range c.Releases {
		if _, err := br.Exec(); err != nil {
			return Result{}, err
		}
	}
	for range c.Claims {
		if _, err := br.Exec(); err != nil {
			return Result{}, err
		}
	}
	var res Result
	for range c.Appends {
		rows, err := br.Query()
		if err != nil {
			return Result{}, err
		}
		var last, version int64
		for rows.Next() {
			if err := rows.Scan(&last, &version); err != nil {
				rows.Close()
				return Result{}, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Result{}, err
		}
		res.Version = version
		res.LastPosition = max(res.LastPosition, last)
	}
	return res, nil
}

// alreadyStored succeeds when every event of c is stored (an idempotent
// retry) and reports a version conflict otherwise.
func (s *Store) alreadyStored(ctx context.Context, c Commit, args [][]any) (Result, error) {
	var ids [][16]byte
	for i := range c.Appends {
		ids = append(ids, args[i][3].([][16]byte)...)
	}
	var stored int
	var last int64
	err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(max(position), 0) FROM events WHERE event_id = ANY($1)`, ids).Scan(&stored, &last)
	if err != nil {
		return Result{}, fmt.Errorf("eventstore: commit: %w", err)
	}
	if stored != len(ids) {
		return Result{}, errVersionTaken
	}
	lastStream := c.Appends[len(c.Appends)-1].Stream.ID
	var version int64
	err = s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM events WHERE event_id = ANY($1) AND stream_id = $2`, ids, lastStream).Scan(&version)
	if err != nil {
		return Result{}, fmt.Errorf("eventstore: commit: %w", err)
	}
	return Result{LastPosition: last, Version: version}, nil
}

const selectEvent = `SELECT position, tx_id::text, event_id, stream_type, stream_id, version, type, data, metadata, recorded_at FROM events`

// SelectEventWithoutMetadata selects the columns ScanEvents reads with the
// metadata left out (NULL): ScanEvents leaves Metadata zero.
const SelectEventWithoutMetadata = `SELECT position, tx_id::text, event_id, stream_type, stream_id, version, type, data, NULL::jsonb, recorded_at FROM events`

// Load returns a stream's events in version order (none for a new stream).
func (s *Store) Load(ctx context.Context, streamID uuid.UUID) ([]domain.RecordedEvent, error) {
	return s.load(ctx, streamID, "")
}

// LoadUntil returns a stream's events recorded at or before at.
func (s *Store) LoadUntil(ctx context.Context, streamID uuid.UUID, at time.Time) ([]domain.RecordedEvent, error) {
	return s.load(ctx, streamID, ` AND recorded_at <= $2`, at)
}

// load reads a stream's events in version order, narrowed by and (a
// condition on $2 onwards, given by args).
func (s *Store) load(ctx context.Context, streamID uuid.UUID, and string, args ...any) ([]domain.RecordedEvent, error) {
	rows, err := s.pool.Query(ctx, selectEvent+` WHERE stream_id = $1`+and+` ORDER BY version`, append([]any{streamID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("eventstore: load %s: %w", streamID, err)
	}
	evs, err := ScanEvents(rows, true)
	if err != nil {
		return nil, fmt.Errorf("eventstore: load %s: %w", streamID, err)
	}
	return evs, nil
}

// Cursor is a place in commit order: the writing transaction and position of
// the last event read. The zero Cursor is the beginning.
type Cursor struct {
	TxID     uint64 `json:"tx_id"`
	Position int64  `json:"position"`
}

// Less reports whether c comes before d in commit order.
func (c Cursor) Less(d Cursor) bool {
	return c.TxID < d.TxID || (c.TxID == d.TxID && c.Position < d.Position)
}

// CursorOf is the cursor just after e.
func CursorOf(e domain.RecordedEvent) Cursor { return Cursor{TxID: e.TxID, Position: e.Position} }

// ReadAll returns up to limit events after from, in commit order. It never
// returns an event while an older transaction is still running, so an event
// whose transaction commits late is read after, never skipped.
func (s *Store) ReadAll(ctx context.Context, from Cursor, limit int) ([]domain.RecordedEvent, error) {
	return ReadAllFrom(ctx, s.pool, from, limit, true)
}

// ReadAllFrom is ReadAll on any querier (a pool or a transaction);
// decode=false leaves Event nil, for callers that only move the stored JSON.
func ReadAllFrom(ctx context.Context, q querier, from Cursor, limit int, decode bool) ([]domain.RecordedEvent, error) {
	rows, err := q.Query(ctx, readAllSQL, readAllArgs(from, limit)...)
	return scanReadAll(rows, err, decode)
}

// ReadAllFromWithoutMetadata is ReadAllFrom leaving each event's metadata
// in the table (Metadata is zero), for readers that do not use it: the
// projectors build read models from what happened, not from who asked.
func ReadAllFromWithoutMetadata(ctx context.Context, q querier, from Cursor, limit int) ([]domain.RecordedEvent, error) {
	rows, err := q.Query(ctx, SelectEventWithoutMetadata+readAllFromSQL, readAllArgs(from, limit)...)
	return scanReadAll(rows, err, false)
}

// readAllSQL reads up to $3 events past the cursor ($1, $2) in commit
// order, below the store's read bound.
const readAllSQL = selectEvent + readAllFromSQL

// readAllFromSQL is readAllSQL after its column list, for the readers that
// select fewer columns.
const readAllFromSQL = `
WHERE (tx_id, position) > ($1::text::xid8, $2::bigint)
  AND tx_id < events_read_bound()
ORDER BY events.tx_id, events.position
LIMIT $3`

func readAllArgs(from Cursor, limit int) []any {
	return []any{strconv.FormatUint(from.TxID, 10), from.Position, limit}
}

func scanReadAll(rows pgx.Rows, err error, decode bool) ([]domain.RecordedEvent, error) {
	if err != nil {
		return nil, fmt.Errorf("eventstore: read all: %w", err)
	}
	evs, err := ScanEvents(rows, decode)
	if err != nil {
		return nil, fmt.Errorf("eventstore: read all: %w", err)
	}
	return evs, nil
}

// ScanEvents reads rows selected with the events table's columns in the
// order position, tx_id::text, event_id, stream_type, stream_id, version,
// type, data, metadata, recorded_at; a NULL metadata leaves Metadata zero.
func ScanEvents(rows pgx.Rows, decode bool) ([]domain.RecordedEvent, error) {
	defer rows.Close()
	var (
		out      []domain.RecordedEvent
		tx       string
		data     []byte // pgx scans a fresh slice each row, which the event keeps
		metadata []byte
	)
	for rows.Next() {
		// Scanned in place: the destinations escape to pgx, and a row's own
		// would be a heap allocation per event.
		out = append(out, domain.RecordedEvent{})
		e := &out[len(out)-1]
		if err := rows.Scan(&e.Position, &tx, &e.EventID, &e.StreamType, &e.StreamID, &e.Version, &e.Type, &data, &metadata, &e.RecordedAt); err != nil {
			return nil, err
		}
		var err error
		if e.TxID, err = strconv.ParseUint(tx, 10, 64); err != nil {
			return nil, fmt.Errorf("tx id %q: %w", tx, err)
		}
		if metadata != nil {
			if err := json.Unmarshal(metadata, &e.Metadata); err != nil {
				return nil, fmt.Errorf("metadata of %d: %w", e.Position, err)
			}
		}
		e.Data = data
		if decode {
			if e.Event, err = domain.DecodeEvent(e.Type, data); err != nil {
				return nil, fmt.Errorf("event %d: %w", e.Position, err)
			}
		}
	}
	return out, rows.Err()
}
