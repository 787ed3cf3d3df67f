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

// OptOutLookup finds the standing of an owner's address among all its
// clients, deleted ones included, so a re-added address inherits it.
type OptOutLookup interface {
	OptOutOf(ctx context.Context, owner uuid.UUID, emailKey string) (domain.OptOut, error)
}

// OptOuts handles what keeps mail from a client who must not get it:
// UnsubscribeClient (the client's own one-click or page), RecordBounce (the
// sender, after a permanent failure) and UnsuppressClient (the owner).
type OptOuts struct {
	store  EventStore
	signer *domain.UnsubscribeSigner
	limits domain.BounceLimits
	now    func() time.Time
}

// NewOptOuts returns the handler; now may be nil (time.Now). signer may be
// nil in a process that neither mails nor serves the unsubscribe page
// (UNSUBSCRIBE_SECRET unset): every token is then refused.
func NewOptOuts(store EventStore, signer *domain.UnsubscribeSigner, limits domain.BounceLimits, now func() time.Time) (*OptOuts, error) {
	if store == nil {
		return nil, errors.New("commands: opt-outs handler needs a store")
	}
	if now == nil {
		now = time.Now
	}
	return &OptOuts{store: store, signer: signer, limits: limits, now: now}, nil
}

// UnsubscribeClient is a client's request, carrying its link's token.
type UnsubscribeClient struct {
	Token string
}

// RecordBounce is a permanent failure of attempt AttemptID to a client.
type RecordBounce struct {
	ClientID  uuid.UUID
	AttemptID uuid.UUID // fixes the events' ids: a repeated bounce is stored once
	Reply     string
}

// UnsuppressClient is the owner's lifting of a client's suppression.
type UnsuppressClient struct {
	ID        uuid.UUID
	Authorize Authorizer
}

// ErrUnknownUnsubscribe answers a token that names no client of ours: it
// is malformed, forged, altered, or made for another owner's client.
var ErrUnknownUnsubscribe = fmt.Errorf("%w: this unsubscribe link is not valid", domain.ErrNotFound)

// Unsubscribe handles UnsubscribeClient: the token's MAC is checked against
// the owner the client's own history names. Unsubscribing twice succeeds
// and records nothing the second time. It returns the client.
func (h *OptOuts) Unsubscribe(ctx context.Context, meta domain.Metadata, cmd UnsubscribeClient) (*domain.Client, error) {
	meta = withCommand(meta, "UnsubscribeClient")
	if h.signer == nil {
		return nil, ErrUnknownUnsubscribe
	}
	id, err := h.signer.ClientOf(cmd.Token)
	if err != nil {
		return nil, ErrUnknownUnsubscribe
	}
	var out *domain.Client
	_, err = retry(false, func() (eventstore.Result, error) {
		l, err := loadResource(ctx, h.store, id)
		if err != nil {
			return eventstore.Result{}, err
		}
		c := domain.LoadClient(l.history)
		if !c.Exists() {
			return eventstore.Result{}, ErrUnknownUnsubscribe
		}
		if _, err := h.signer.Verify(cmd.Token, c.Owner()); err != nil {
			return eventstore.Result{}, ErrUnknownUnsubscribe
		}
		out = c
		if err := c.Unsubscribe(h.now()); err != nil || len(c.Changes()) == 0 {
			return eventstore.Result{}, err
		}
		return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
			Stream: clientStream(id), Expected: c.Version(), Events: newEvents(meta, c.Changes())}}})
	})
	return out, err
}

// CheckToken returns the client an unsubscribe token names, refusing it as
// Unsubscribe does, and changes nothing (the page's GET shows the question
// before the client answers it).
func (h *OptOuts) CheckToken(ctx context.Context, token string) (*domain.Client, error) {
	if h.signer == nil {
		return nil, ErrUnknownUnsubscribe
	}
	id, err := h.signer.ClientOf(token)
	if err != nil {
		return nil, ErrUnknownUnsubscribe
	}
	evs, err := history(ctx, h.store, id)
	if err != nil {
		return nil, err
	}
	c := domain.LoadClient(evs)
	if !c.Exists() {
		return nil, ErrUnknownUnsubscribe
	}
	if _, err := h.signer.Verify(token, c.Owner()); err != nil {
		return nil, ErrUnknownUnsubscribe
	}
	return c, nil
}

// RecordBounce handles RecordBounce: it counts the bounce on the client and
// suppresses the address once the limits are reached. A deleted client, or
// a bounce already recorded, records nothing.
func (h *OptOuts) RecordBounce(ctx context.Context, meta domain.Metadata, cmd RecordBounce) (eventstore.Result, error) {
	meta = withCommand(meta, "RecordBounce")
	bounceID := uuid.NewSHA1(cmd.AttemptID, []byte("client.bounced"))
	return retry(false, func() (eventstore.Result, error) {
		recs, err := h.store.Load(ctx, cmd.ClientID)
		if err != nil {
			return eventstore.Result{}, err
		}
		evs := make([]domain.Event, len(recs))
		for i, r := range recs {
			if r.EventID == bounceID {
				return eventstore.Result{}, nil
			}
			evs[i] = r.Event
		}
		c := domain.LoadClient(evs)
		if !c.Exists() || c.IsDeleted() {
			return eventstore.Result{}, nil
		}
		if err := c.Bounce(cmd.Reply, h.limits, h.now()); err != nil || len(c.Changes()) == 0 {
			return eventstore.Result{}, err
		}
		news := make([]domain.NewEvent, len(c.Changes()))
		for i, e := range c.Changes() {
			news[i] = domain.NewEvent{ID: uuid.NewSHA1(cmd.AttemptID, []byte(e.EventType())), Event: e, Metadata: meta}
		}
		return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
			Stream: clientStream(cmd.ClientID), Expected: c.Version(), Events: news}}})
	})
}

// Unsuppress handles UnsuppressClient; who may is who may change the
// client. The client's bounce count starts again from zero.
func (h *OptOuts) Unsuppress(ctx context.Context, meta domain.Metadata, cmd UnsuppressClient) (Outcome[*domain.Client], error) {
	meta = withCommand(meta, "UnsuppressClient")
	var out Outcome[*domain.Client]
	_, err := retry(false, func() (eventstore.Result, error) {
		l, err := loadResource(ctx, h.store, cmd.ID)
		if err != nil {
			return eventstore.Result{}, err
		}
		c := domain.LoadClient(l.history)
		if !c.Exists() || c.IsDeleted() {
			return eventstore.Result{}, domain.NotFound("client")
		}
		if err := cmd.Authorize.check(meta, c.Owner()); err != nil {
			return eventstore.Result{}, err
		}
		if err := c.Unsuppress(h.now()); err != nil {
			return eventstore.Result{}, err
		}
		res, err := h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
			Stream: clientStream(cmd.ID), Expected: c.Version(), Events: newEvents(meta, c.Changes())}}})
		out = Outcome[*domain.Client]{State: c, CreatedAt: l.createdAt, UpdatedAt: h.now().UTC(), Result: res}
		return res, err
	})
	return out, err
}

// DecoratedOptOuts is OptOuts behind the decorator.
type DecoratedOptOuts struct {
	h *OptOuts
	d *Decorator
}

// OptOuts wraps h.
func (d *Decorator) OptOuts(h *OptOuts) *DecoratedOptOuts { return &DecoratedOptOuts{h: h, d: d} }

// Unsubscribe is OptOuts.Unsubscribe, decorated.
func (o *DecoratedOptOuts) Unsubscribe(ctx context.Context, meta domain.Metadata, cmd UnsubscribeClient) (*domain.Client, error) {
	return call(ctx, o.d, "UnsubscribeClient", meta, cmd, o.h.Unsubscribe)
}

// RecordBounce is OptOuts.RecordBounce, decorated.
func (o *DecoratedOptOuts) RecordBounce(ctx context.Context, meta domain.Metadata, cmd RecordBounce) (eventstore.Result, error) {
	return call(ctx, o.d, "RecordBounce", meta, cmd, o.h.RecordBounce)
}

// CheckToken is OptOuts.CheckToken (a read: not logged as a command).
func (o *DecoratedOptOuts) CheckToken(ctx context.Context, token string) (*domain.Client, error) {
	return o.h.CheckToken(ctx, token)
}

// Unsuppress is OptOuts.Unsuppress, decorated.
func (o *DecoratedOptOuts) Unsuppress(ctx context.Context, meta domain.Metadata, cmd UnsuppressClient) (Outcome[*domain.Client], error) {
	return call(ctx, o.d, "UnsuppressClient", meta, cmd, o.h.Unsuppress)
}
