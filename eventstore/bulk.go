package eventstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/segmentio/encoding/json"

	"github.com/heraldmail/herald/domain"
)

// NewStream is a stream CreateStreams creates: its events, at versions 1
// to n, and the uniqueness claims made with it.
type NewStream struct {
	Stream domain.Stream
	Events []domain.NewEvent
	Claims []Claim
}

// ClaimsTakenError names the claims of a CreateStreams that other owners
// hold, as they were asked for, in (scope, key) order; nothing of that
// call was written. It matches ErrClaimTaken.
type ClaimsTakenError struct {
	Claims []Claim
}

func (e *ClaimsTakenError) Error() string {
	if len(e.Claims) == 1 {
		return fmt.Sprintf("eventstore: %s %q already claimed", e.Claims[0].Scope, e.Claims[0].Key)
	}
	return fmt.Sprintf("eventstore: %d keys already claimed, %s %q the first", len(e.Claims), e.Claims[0].Scope, e.Claims[0].Key)
}

func (e *ClaimsTakenError) Unwrap() error { return ErrClaimTaken }

// CreateStreams writes many new streams in one transaction, all of them or
// none: each stream's events at versions 1 to n and its claims. It is
// Commit for a bulk writer (an import), set-based: the claims are one
// statement and the events one COPY, whatever the number of streams, where
// Commit sends a statement per claim and per stream. A stream that exists
// already is ErrConcurrency. Claims another owner holds are a
// *ClaimsTakenError naming every one of them, so the caller can leave them
// all out and call again once. A call whose events are all stored already
// (a retry of one that succeeded) succeeds without writing anything. Bulk
// writers claiming the same keys wait for each other; the first to claim a
// key has it.
//
// The transaction holds back every reader of the store while it runs (see
// ReadAll), so a caller keeps each call to a few thousand events.
func (s *Store) CreateStreams(ctx context.Context, streams []NewStream) (Result, error) {
	b, err := newBulk(streams)
	if err != nil {
		return Result{}, err
	}
	var (
		res     Result
		pgErr   *pgconn.PgError
		careful bool
	)
	for attempt := 0; ; attempt++ {
		res, err = s.createOnce(ctx, b, careful)
		if !errors.As(err, &pgErr) || attempt == 3 {
			break
		}
		if pgErr.ConstraintName == "unique_claims_pkey" && !careful {
			careful = true
			continue
		}
		// Claims are taken in order, but a Commit's are not: one that
		// releases a key and claims another can deadlock with this call.
		// The server then rolls one of them back, and this call starts
		// again.
		if pgErr.Code != "40P01" {
			break
		}
	}
	var taken *ClaimsTakenError
	switch {
	case err == nil:
		select {
		case s.appended <- struct{}{}:
		default:
		}
		return res, nil
	case errors.As(err, &pgErr) && (pgErr.ConstraintName == "events_event_id_key" ||
		pgErr.ConstraintName == "events_stream_id_version_key"),
		errors.As(err, &taken):
		// Nothing was written. If every event is stored already, this is
		// a retry of a call that succeeded (whose claims are held by its
		// streams, or were released and taken since).
		if res, ok, serr := s.allStored(ctx, b.ids, b.lastStream); serr != nil {
			return Result{}, serr
		} else if ok {
			return res, nil
		}
		if taken != nil {
			return Result{}, taken
		}
		return Result{}, ErrConcurrency
	default:
		return Result{}, fmt.Errorf("eventstore: create streams: %w", err)
	}
}

// bulk is CreateStreams' arguments as columns.
type bulk struct {
	claims []Claim
	// the claims' columns
	scopes, keys []string
	owners       [][16]byte
	// the events' columns ([16]byte for uuids: see appendArgs)
	ids, streamIDs     [][16]byte
	streamTypes, types []string
	versions           []int64
	datas, metas       []string
	lastStream         uuid.UUID
}

func newBulk(streams []NewStream) (*bulk, error) {
	if len(streams) == 0 {
		return nil, errors.New("eventstore: create streams without streams")
	}
	n, nc := 0, 0
	for _, st := range streams {
		if len(st.Events) == 0 {
			return nil, fmt.Errorf("eventstore: create %s %s without events", st.Stream.Type, st.Stream.ID)
		}
		n += len(st.Events)
		nc += len(st.Claims)
	}
	b := &bulk{claims: make([]Claim, 0, nc), scopes: make([]string, 0, nc), keys: make([]string, 0, nc),
		owners: make([][16]byte, 0, nc), ids: make([][16]byte, 0, n), streamIDs: make([][16]byte, 0, n),
		streamTypes: make([]string, 0, n), types: make([]string, 0, n), versions: make([]int64, 0, n),
		datas: make([]string, 0, n), metas: make([]string, 0, n), lastStream: streams[len(streams)-1].Stream.ID}
	claimed := make(map[[2]string]bool, nc)
	var (
		meta     string
		lastMeta domain.Metadata
	)
	for _, st := range streams {
		for _, c := range st.Claims {
			k := [2]string{c.Scope, c.Key}
			if claimed[k] {
				return nil, fmt.Errorf("eventstore: %s %q claimed twice in one call", c.Scope, c.Key)
			}
			claimed[k] = true
			b.claims = append(b.claims, c)
		}
		for i, e := range st.Events {
			if e.ID == uuid.Nil {
				return nil, fmt.Errorf("eventstore: event %d of %s has no id", i, st.Stream.ID)
			}
			if e.Event == nil {
				return nil, fmt.Errorf("eventstore: event %s has no data", e.ID)
			}
			d, err := json.Marshal(e.Event)
			if err != nil {
				return nil, fmt.Errorf("eventstore: encode %s: %w", e.Event.EventType(), err)
			}
			// A bulk writer's events share their metadata: encode it once.
			if len(b.metas) == 0 || e.Metadata != lastMeta {
				m, err := json.Marshal(e.Metadata)
				if err != nil {
					return nil, fmt.Errorf("eventstore: encode metadata: %w", err)
				}
				meta, lastMeta = string(m), e.Metadata
			}
			b.ids, b.streamIDs = append(b.ids, [16]byte(e.ID)), append(b.streamIDs, [16]byte(st.Stream.ID))
			b.streamTypes, b.types = append(b.streamTypes, st.Stream.Type), append(b.types, e.Event.EventType())
			b.versions = append(b.versions, int64(i+1))
			b.datas, b.metas = append(b.datas, string(d)), append(b.metas, meta)
		}
	}
	// Every bulk writer takes its claims in one order, so two of them
	// claiming the same keys wait for each other instead of deadlocking.
	slices.SortFunc(b.claims, func(x, y Claim) int {
		return cmp.Or(strings.Compare(x.Scope, y.Scope), strings.Compare(x.Key, y.Key))
	})
	for _, c := range b.claims {
		b.scopes, b.keys, b.owners = append(b.scopes, c.Scope), append(b.keys, c.Key), append(b.owners, [16]byte(c.Owner))
	}
	return b, nil
}

// claimNewSQL claims every key of $1..$3 in their order, and fails on
// unique_claims_pkey when one is held already, by anyone.
const claimNewSQL = `INSERT INTO unique_claims (scope, key, owner_id) SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])`

// claimAllSQL claims every key of $1..$3 in their order and returns the
// ordinals of those another owner holds: slower than claimNewSQL, for when
// a key is held. A key its owner holds already is claimed again (an update
// that changes nothing); one another owner holds is left alone and so not
// returned by the insert. ON CONFLICT waits for a concurrent writer's
// claim of the same key and sees its outcome.
const claimAllSQL = `
WITH c AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[]) WITH ORDINALITY AS c(scope, key, owner_id, n)
), ins AS (
    INSERT INTO unique_claims AS u (scope, key, owner_id)
    SELECT scope, key, owner_id FROM c
    ON CONFLICT (scope, key) DO UPDATE SET scope = EXCLUDED.scope WHERE u.owner_id = EXCLUDED.owner_id
    RETURNING u.scope, u.key
)
SELECT c.n FROM c WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.scope = c.scope AND ins.key = c.key)
ORDER BY c.n`

// eventColumns are the columns CreateStreams copies into events; the
// database fills in position, recorded_at and tx_id.
var eventColumns = []string{"event_id", "stream_type", "stream_id", "version", "type", "data", "metadata"}

// createOnce writes b in one transaction. Unless careful, its claims are
// a plain insert, which fails when a key is held; careful, they are
// claimAllSQL, which tells whether the holder is another owner.
func (s *Store) createOnce(ctx context.Context, b *bulk, careful bool) (Result, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Result{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it does nothing
	if len(b.claims) > 0 && !careful {
		if _, err := tx.Exec(ctx, claimNewSQL, b.scopes, b.keys, b.owners); err != nil {
			return Result{}, err
		}
	} else if len(b.claims) > 0 {
		rows, err := tx.Query(ctx, claimAllSQL, b.scopes, b.keys, b.owners)
		if err != nil {
			return Result{}, err
		}
		ns, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return Result{}, err
		}
		if len(ns) > 0 {
			taken := &ClaimsTakenError{Claims: make([]Claim, len(ns))}
			for i, n := range ns {
				taken.Claims[i] = b.claims[n-1]
			}
			return Result{}, taken
		}
	}
	// COPY rather than an INSERT from unnest: less work for the server per
	// row (docs/BENCHMARKS.md). Positions are drawn in row order, so the
	// transaction's last one is the last event's.
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns,
		pgx.CopyFromSlice(len(b.ids), func(i int) ([]any, error) {
			return []any{b.ids[i], b.streamTypes[i], b.streamIDs[i], b.versions[i], b.types[i], b.datas[i], b.metas[i]}, nil
		})); err != nil {
		return Result{}, err
	}
	var last int64
	if err := tx.QueryRow(ctx, `SELECT currval(pg_get_serial_sequence('events', 'position'))`).Scan(&last); err != nil {
		return Result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Result{}, err
	}
	return Result{LastPosition: last, Version: b.lastVersion()}, nil
}

// lastVersion is the last stream's version once created.
func (b *bulk) lastVersion() int64 { return b.versions[len(b.versions)-1] }

// allStored reports whether every event of ids is stored, and where: the
// last position among them and the version of stream last.
func (s *Store) allStored(ctx context.Context, ids [][16]byte, last uuid.UUID) (Result, bool, error) {
	var (
		stored int
		res    Result
	)
	err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(max(position), 0),
    coalesce(max(version) FILTER (WHERE stream_id = $2), 0) FROM events WHERE event_id = ANY($1)`, ids, last).
		Scan(&stored, &res.LastPosition, &res.Version)
	if err != nil {
		return Result{}, false, fmt.Errorf("eventstore: create streams: %w", err)
	}
	return res, stored == len(ids), nil
}
