package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// EventStore is what command handlers need from the event store.
type EventStore interface {
	Load(ctx context.Context, streamID uuid.UUID) ([]domain.RecordedEvent, error)
	Commit(ctx context.Context, c eventstore.Commit) (eventstore.Result, error)
}

// maxAttempts bounds the load-decide-append loop under concurrent changes.
const maxAttempts = 5

// history loads a stream and returns its events for an aggregate's Load.
func history(ctx context.Context, store EventStore, id uuid.UUID) ([]domain.Event, error) {
	recs, err := store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	evs := make([]domain.Event, len(recs))
	for i, r := range recs {
		evs[i] = r.Event
	}
	return evs, nil
}

// newEvents wraps recorded changes with fresh v7 ids and the command's metadata.
func newEvents(meta domain.Metadata, changes []domain.Event) []domain.NewEvent {
	out := make([]domain.NewEvent, len(changes))
	for i, e := range changes {
		out[i] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: e, Metadata: meta}
	}
	return out
}

// retry runs attempt until it does not fail with a concurrency conflict.
// When the caller pinned a version (If-Match), a conflict is the caller's
// stale read and is returned at once as domain.ErrConflict.
func retry(pinned bool, attempt func() (eventstore.Result, error)) (eventstore.Result, error) {
	for i := 0; ; i++ {
		res, err := attempt()
		if !errors.Is(err, eventstore.ErrConcurrency) {
			return res, err
		}
		if pinned || i+1 >= maxAttempts {
			return eventstore.Result{}, fmt.Errorf("%w: the resource was changed by someone else; reload and try again", domain.ErrConflict)
		}
	}
}
