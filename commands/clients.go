package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// Authorizer decides whether the caller may change a resource of owner; it
// returns an error of a domain class (ErrNotFound hides the resource). The
// HTTP layer builds it from its policy; nil means "the owner only".
type Authorizer func(owner uuid.UUID) error

func (a Authorizer) check(meta domain.Metadata, owner uuid.UUID) error {
	if a != nil {
		return a(owner)
	}
	if owner != meta.ActorID {
		return domain.NotFound("resource")
	}
	return nil
}

// Outcome is what a command left behind: the aggregate as it now stands,
// when it was created and last changed, and where its events landed
// (LastPosition answers X-Event-Position; Version is the new version).
type Outcome[T any] struct {
	State     T
	CreatedAt time.Time
	UpdatedAt time.Time
	eventstore.Result
}

// loaded is a stream read for a decision.
type loaded struct {
	history   []domain.Event
	createdAt time.Time
	updatedAt time.Time
	position  int64 // of the last event
}

func loadResource(ctx context.Context, store EventStore, id uuid.UUID) (loaded, error) {
	recs, err := store.Load(ctx, id)
	if err != nil {
		return loaded{}, err
	}
	l := loaded{history: make([]domain.Event, len(recs))}
	for i, r := range recs {
		l.history[i] = r.Event
	}
	if n := len(recs); n > 0 {
		l.createdAt, l.updatedAt, l.position = recs[0].RecordedAt.UTC(), recs[n-1].RecordedAt.UTC(), recs[n-1].Position
	}
	return l, nil
}

// checkIfMatch refuses a decision on a version the caller did not see.
func checkIfMatch(ifMatch *int64, version int64) error {
	if ifMatch != nil && *ifMatch != version {
		return fmt.Errorf("%w: version is %d, not %d; reload and try again", domain.ErrConflict, version, *ifMatch)
	}
	return nil
}

func withCommand(meta domain.Metadata, name string) domain.Metadata {
	meta.Command = name
	return meta
}

// ClientMailings finds the mailings a client deletion must update.
type ClientMailings interface {
	MailingsListingClient(ctx context.Context, clientID uuid.UUID) ([]uuid.UUID, error)
}

// ClientHandler handles CreateClient, UpdateClient and DeleteClient.
type ClientHandler struct {
	store    EventStore
	mailings ClientMailings
	now      func() time.Time
}

// NewClientHandler returns the handler; now may be nil (time.Now).
func NewClientHandler(store EventStore, mailings ClientMailings, now func() time.Time) (*ClientHandler, error) {
	if store == nil || mailings == nil {
		return nil, errors.New("commands: client handler needs a store and a mailings lookup")
	}
	if now == nil {
		now = time.Now
	}
	return &ClientHandler{store: store, mailings: mailings, now: now}, nil
}

func clientStream(id uuid.UUID) domain.Stream {
	return domain.Stream{Type: domain.ClientStreamType, ID: id}
}

// CreateClient adds a recipient to the owner's directory.
type CreateClient struct {
	Owner  uuid.UUID
	Fields domain.ClientFields
}

// UpdateClient changes a client; nil fields keep their value (PATCH), and
// IfMatch pins the version the caller saw.
type UpdateClient struct {
	ID        uuid.UUID
	Email     *string
	FullName  *string
	Comment   *string
	IfMatch   *int64
	Authorize Authorizer
}

// DeleteClient removes a client; mailings still to run that list it stop
// sending to it (mailing.client_removed), in the same transaction.
type DeleteClient struct {
	ID        uuid.UUID
	IfMatch   *int64
	Authorize Authorizer
}

func emailTaken(err error) error {
	if errors.Is(err, eventstore.ErrClaimTaken) {
		return fmt.Errorf("%w: you already have a client with this email", domain.ErrEmailTaken)
	}
	return err
}

// Create handles CreateClient. The email's uniqueness per owner is claimed
// in the append's transaction.
func (h *ClientHandler) Create(ctx context.Context, meta domain.Metadata, cmd CreateClient) (Outcome[*domain.Client], error) {
	id := uuid.Must(uuid.NewV7())
	c, err := domain.NewClient(id, cmd.Owner, cmd.Fields)
	if err != nil {
		return Outcome[*domain.Client]{}, err
	}
	if err := h.inherit(ctx, c); err != nil {
		return Outcome[*domain.Client]{}, err
	}
	res, err := h.store.Commit(ctx, eventstore.Commit{
		Appends: []eventstore.StreamAppend{{Stream: clientStream(id), Expected: eventstore.NoStream,
			Events: newEvents(withCommand(meta, "CreateClient"), c.Changes())}},
		Claims: []eventstore.Claim{{Scope: domain.ClientEmailScope(cmd.Owner), Key: domain.EmailKey(c.Email()), Owner: id}},
	})
	if err != nil {
		return Outcome[*domain.Client]{}, emailTaken(err)
	}
	now := h.now().UTC()
	return Outcome[*domain.Client]{State: c, CreatedAt: now, UpdatedAt: now, Result: res}, nil
}

// Update handles UpdateClient; a changed email moves the uniqueness claim.
func (h *ClientHandler) Update(ctx context.Context, meta domain.Metadata, cmd UpdateClient) (Outcome[*domain.Client], error) {
	var out Outcome[*domain.Client]
	_, err := retry(false, func() (eventstore.Result, error) {
		l, c, err := h.load(ctx, meta, cmd.ID, cmd.IfMatch, cmd.Authorize)
		if err != nil {
			return eventstore.Result{}, err
		}
		f := c.Fields()
		oldKey := domain.EmailKey(f.Email)
		if cmd.Email != nil {
			f.Email = *cmd.Email
		}
		if cmd.FullName != nil {
			f.FullName = *cmd.FullName
		}
		if cmd.Comment != nil {
			f.Comment = *cmd.Comment
		}
		if err := c.Update(f); err != nil {
			return eventstore.Result{}, err
		}
		out = Outcome[*domain.Client]{State: c, CreatedAt: l.createdAt, UpdatedAt: l.updatedAt,
			Result: eventstore.Result{LastPosition: l.position, Version: c.Version()}}
		if len(c.Changes()) == 0 {
			return out.Result, nil
		}
		commit := eventstore.Commit{Appends: []eventstore.StreamAppend{{Stream: clientStream(cmd.ID), Expected: c.Version(),
			Events: newEvents(withCommand(meta, "UpdateClient"), c.Changes())}}}
		if newKey := domain.EmailKey(c.Email()); newKey != oldKey {
			if err := h.inherit(ctx, c); err != nil {
				return eventstore.Result{}, err
			}
			commit.Appends[0].Events = newEvents(withCommand(meta, "UpdateClient"), c.Changes())
			scope := domain.ClientEmailScope(c.Owner())
			commit.Releases = []eventstore.Release{{Scope: scope, Key: oldKey}}
			commit.Claims = []eventstore.Claim{{Scope: scope, Key: newKey, Owner: cmd.ID}}
		}
		res, err := h.store.Commit(ctx, commit)
		if err != nil {
			return res, emailTaken(err)
		}
		out.Result, out.UpdatedAt = res, h.now().UTC()
		return res, nil
	})
	return out, err
}

// Delete handles DeleteClient. The mailings to update are found through the
// read model: a mailing created in the instant before this deletion and not
// yet projected keeps listing the client, and the sender skips a deleted
// client anyway, so the window costs nothing but a stale id in a list.
func (h *ClientHandler) Delete(ctx context.Context, meta domain.Metadata, cmd DeleteClient) (eventstore.Result, error) {
	meta = withCommand(meta, "DeleteClient")
	return retry(false, func() (eventstore.Result, error) {
		_, c, err := h.load(ctx, meta, cmd.ID, cmd.IfMatch, cmd.Authorize)
		if err != nil {
			return eventstore.Result{}, err
		}
		if err := c.Delete(); err != nil {
			return eventstore.Result{}, err
		}
		commit := eventstore.Commit{
			Appends:  []eventstore.StreamAppend{{Stream: clientStream(cmd.ID), Expected: c.Version(), Events: newEvents(meta, c.Changes())}},
			Releases: []eventstore.Release{{Scope: domain.ClientEmailScope(c.Owner()), Key: domain.EmailKey(c.Email())}},
		}
		ids, err := h.mailings.MailingsListingClient(ctx, cmd.ID)
		if err != nil {
			return eventstore.Result{}, err
		}
		for _, mid := range ids {
			ml, err := loadResource(ctx, h.store, mid)
			if err != nil {
				return eventstore.Result{}, err
			}
			m := domain.LoadMailing(ml.history)
			if m.Owner() != c.Owner() || !m.RemoveClient(cmd.ID) {
				continue
			}
			commit.Appends = append(commit.Appends, eventstore.StreamAppend{
				Stream: domain.Stream{Type: domain.MailingStreamType, ID: mid}, Expected: m.Version(),
				Events: newEvents(meta, m.Changes())})
		}
		// The client's own append goes last, so the result's version is its.
		commit.Appends = append(commit.Appends[1:], commit.Appends[0])
		return h.store.Commit(ctx, commit)
	})
}

// inherit gives a client created with an address, or changed to it, the
// address's standing (unsubscribed, suppressed) among the owner's clients,
// deleted ones included: the owner cannot undo either by re-adding the
// address. The standing is read from the clients read model when the
// mailings lookup also implements OptOutLookup; an opt-out recorded in the
// instant before and not yet projected is missed.
func (h *ClientHandler) inherit(ctx context.Context, c *domain.Client) error {
	lookup, ok := h.mailings.(OptOutLookup)
	if !ok {
		return nil
	}
	o, err := lookup.OptOutOf(ctx, c.Owner(), domain.EmailKey(c.Email()))
	if err != nil {
		return fmt.Errorf("look up the standing of a client's address: %w", err)
	}
	c.Inherit(o, h.now())
	return nil
}

func (h *ClientHandler) load(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch *int64, auth Authorizer) (loaded, *domain.Client, error) {
	l, err := loadResource(ctx, h.store, id)
	if err != nil {
		return l, nil, err
	}
	c := domain.LoadClient(l.history)
	if !c.Exists() || c.IsDeleted() {
		return l, nil, domain.NotFound("client")
	}
	if err := auth.check(meta, c.Owner()); err != nil {
		return l, nil, err
	}
	return l, c, checkIfMatch(ifMatch, c.Version())
}
