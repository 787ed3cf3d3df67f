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

// ClaimReader finds who holds a uniqueness claim. Claims are written in the
// append transaction, so unlike a read model they never lag: a just
// registered account is found by its email, a just issued token by its hash.
type ClaimReader interface {
	ClaimOwner(ctx context.Context, scope, key string) (uuid.UUID, bool, error)
}

// UserHandler handles the commands of user aggregates.
type UserHandler struct {
	store  EventStore
	claims ClaimReader
	groups *GroupHandler
	now    func() time.Time
}

// NewUserHandler returns a handler over store; claims finds accounts by email
// and tokens by hash; now is the clock.
func NewUserHandler(store EventStore, claims ClaimReader, now func() time.Time) (*UserHandler, error) {
	if store == nil || claims == nil || now == nil {
		return nil, errors.New("commands: NewUserHandler needs a store, a claim reader and a clock")
	}
	groups, err := NewGroupHandler(store)
	if err != nil {
		return nil, err
	}
	return &UserHandler{store: store, claims: claims, groups: groups, now: now}, nil
}

// NoIfMatch is the IfMatch of a command whose caller did not pin a version.
const NoIfMatch int64 = -1

func userStream(id uuid.UUID) domain.Stream {
	return domain.Stream{Type: domain.UserStreamType, ID: id}
}

// Load returns the account with id and the store position of its last event;
// ErrNotFound when there is none.
func (h *UserHandler) Load(ctx context.Context, id uuid.UUID) (*domain.User, int64, error) {
	recs, err := h.store.Load(ctx, id)
	if err != nil {
		return nil, 0, fmt.Errorf("load user %s: %w", id, err)
	}
	evs := make([]domain.Event, 0, len(recs))
	var last int64
	for _, r := range recs {
		if r.StreamType != domain.UserStreamType {
			return nil, 0, domain.NotFound("user")
		}
		evs = append(evs, r.Event)
		last = r.Position
	}
	u := domain.LoadUser(id, evs)
	if !u.Exists() {
		return nil, 0, domain.NotFound("user")
	}
	return u, last, nil
}

// FindByEmail returns the account registered with email (any case, spaces
// around it ignored); ErrNotFound when there is none.
func (h *UserHandler) FindByEmail(ctx context.Context, email string) (*domain.User, int64, error) {
	id, ok, err := h.claims.ClaimOwner(ctx, domain.EmailClaimScope, domain.NormalizeEmail(email))
	if err != nil {
		return nil, 0, fmt.Errorf("find user by email: %w", err)
	}
	if !ok {
		return nil, 0, domain.NotFound("user")
	}
	return h.Load(ctx, id)
}

// Register is the command of a registration; the identity service hashed
// the password and made the verification token.
type Register struct {
	Account       domain.NewAccount
	VerifyHash    string
	VerifyExpires time.Time
}

// Register creates the account and claims its email in the same commit:
// of two concurrent registrations of one address exactly one succeeds, the
// other gets domain.ErrEmailTaken. The account is put in group users.
func (h *UserHandler) Register(ctx context.Context, meta domain.Metadata, cmd Register) (*domain.User, eventstore.Result, error) {
	a := cmd.Account
	if a.ID == uuid.Nil {
		a.ID = uuid.Must(uuid.NewV7())
	}
	if len(a.Groups) == 0 {
		a.Groups = []string{domain.GroupUsers}
	}
	u, err := domain.Register(a, h.now(), cmd.VerifyHash, cmd.VerifyExpires)
	if err != nil {
		return nil, eventstore.Result{}, err
	}
	res, err := h.create(ctx, meta, u, eventstore.Claim{Scope: domain.VerifyTokenClaimScope, Key: cmd.VerifyHash, Owner: u.ID()})
	return u, res, err
}

// CreateSuperuser creates a verified superuser for `herald ccsu`. When the
// email already belongs to a superuser, that account is returned with
// created false and nothing is written; when it belongs to an ordinary
// account the answer is domain.ErrEmailTaken.
func (h *UserHandler) CreateSuperuser(ctx context.Context, meta domain.Metadata, a domain.NewAccount) (u *domain.User, created bool, err error) {
	if existing, _, err := h.FindByEmail(ctx, a.Email); err == nil {
		if existing.Superuser() {
			return existing, false, nil
		}
		return existing, false, fmt.Errorf("%w: %s belongs to an account that is not a superuser", domain.ErrEmailTaken, existing.Email())
	} else if !errors.Is(err, domain.ErrNotFound) {
		return nil, false, err
	}
	if a.ID == uuid.Nil {
		a.ID = uuid.Must(uuid.NewV7())
	}
	if len(a.Groups) == 0 {
		a.Groups = []string{domain.GroupUsers}
	}
	u, err = domain.CreateSuperuser(a, h.now())
	if err != nil {
		return nil, false, err
	}
	if _, err := h.create(ctx, meta, u); err != nil {
		if errors.Is(err, domain.ErrEmailTaken) {
			// Another ccsu won the race; report what it made.
			return h.CreateSuperuser(ctx, meta, a)
		}
		return nil, false, err
	}
	return u, true, nil
}

func (h *UserHandler) create(ctx context.Context, meta domain.Metadata, u *domain.User, extra ...eventstore.Claim) (eventstore.Result, error) {
	c := eventstore.Commit{
		Appends: []eventstore.StreamAppend{{Stream: userStream(u.ID()), Expected: eventstore.NoStream, Events: newEvents(meta, u.Changes())}},
		Claims:  append([]eventstore.Claim{{Scope: domain.EmailClaimScope, Key: u.Email(), Owner: u.ID()}}, extra...),
	}
	res, err := h.store.Commit(ctx, c)
	if err != nil {
		var taken *eventstore.ClaimTakenError
		if errors.As(err, &taken) && taken.Scope == domain.EmailClaimScope {
			return eventstore.Result{}, domain.ErrEmailTaken
		}
		return eventstore.Result{}, fmt.Errorf("create user: %w", err)
	}
	return res, nil
}

// update loads the account, lets decide record changes and commits them with
// the claims and releases decide returns. A decision that records nothing
// answers the stream's current state without writing. authorize, when not
// nil, may refuse the actor against the loaded account before the If-Match
// check, as the resource handlers do: who may act is answered first.
func (h *UserHandler) update(ctx context.Context, id uuid.UUID, ifMatch int64, meta domain.Metadata,
	authorize func(u *domain.User) error,
	decide func(u *domain.User) ([]eventstore.Claim, []eventstore.Release, error),
) (*domain.User, eventstore.Result, error) {
	var u *domain.User
	res, err := retry(ifMatch >= 0, func() (eventstore.Result, error) {
		var last int64
		var err error
		if u, last, err = h.Load(ctx, id); err != nil {
			return eventstore.Result{}, err
		}
		if authorize != nil {
			if err := authorize(u); err != nil {
				return eventstore.Result{}, err
			}
		}
		if ifMatch >= 0 && u.Version() != ifMatch {
			return eventstore.Result{}, eventstore.ErrConcurrency
		}
		claims, releases, err := decide(u)
		if err != nil {
			return eventstore.Result{}, err
		}
		if len(u.Changes()) == 0 {
			return eventstore.Result{LastPosition: last, Version: u.Version()}, nil
		}
		return h.store.Commit(ctx, eventstore.Commit{
			Appends:  []eventstore.StreamAppend{{Stream: userStream(id), Expected: u.Version(), Events: newEvents(meta, u.Changes())}},
			Claims:   claims,
			Releases: releases,
		})
	})
	if err != nil {
		return nil, eventstore.Result{}, err
	}
	// u has applied its changes: it is the state after the command.
	return u, res, nil
}

// tokenOwner finds the account a verification or reset token was issued to.
func (h *UserHandler) tokenOwner(ctx context.Context, scope, tokenHash string) (uuid.UUID, error) {
	if tokenHash == "" {
		return uuid.Nil, domain.ErrTokenInvalid
	}
	id, ok, err := h.claims.ClaimOwner(ctx, scope, tokenHash)
	if err != nil {
		return uuid.Nil, fmt.Errorf("find token: %w", err)
	}
	if !ok {
		return uuid.Nil, domain.ErrTokenInvalid
	}
	return id, nil
}

// VerifyEmail consumes a verification token (by its hash) and releases its
// claim in the same commit, so the token works once.
func (h *UserHandler) VerifyEmail(ctx context.Context, meta domain.Metadata, tokenHash string) (*domain.User, eventstore.Result, error) {
	id, err := h.tokenOwner(ctx, domain.VerifyTokenClaimScope, tokenHash)
	if err != nil {
		return nil, eventstore.Result{}, err
	}
	return h.update(ctx, id, NoIfMatch, meta, nil, func(u *domain.User) ([]eventstore.Claim, []eventstore.Release, error) {
		if err := u.VerifyEmail(tokenHash, h.now()); err != nil {
			return nil, nil, err
		}
		return nil, []eventstore.Release{{Scope: domain.VerifyTokenClaimScope, Key: tokenHash}}, nil
	})
}

// RequestPasswordReset issues a reset token to the account of email, which
// replaces (and releases) an earlier one. An unknown email is not an error:
// the answer is nil, so the caller answers the same either way.
func (h *UserHandler) RequestPasswordReset(ctx context.Context, meta domain.Metadata, email, tokenHash string, expires time.Time) (*domain.User, error) {
	found, _, err := h.FindByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u, _, err := h.update(ctx, found.ID(), NoIfMatch, meta, nil, func(u *domain.User) ([]eventstore.Claim, []eventstore.Release, error) {
		var rel []eventstore.Release
		if old := u.PendingReset(); old != "" {
			rel = append(rel, eventstore.Release{Scope: domain.ResetTokenClaimScope, Key: old})
		}
		if err := u.RequestPasswordReset(tokenHash, expires); err != nil {
			return nil, nil, err
		}
		return []eventstore.Claim{{Scope: domain.ResetTokenClaimScope, Key: tokenHash, Owner: u.ID()}}, rel, nil
	})
	return u, err
}

// ResetPassword consumes a reset token and sets the new password hash.
func (h *UserHandler) ResetPassword(ctx context.Context, meta domain.Metadata, tokenHash, newHash string) (*domain.User, eventstore.Result, error) {
	id, err := h.tokenOwner(ctx, domain.ResetTokenClaimScope, tokenHash)
	if err != nil {
		return nil, eventstore.Result{}, err
	}
	return h.update(ctx, id, NoIfMatch, meta, nil, func(u *domain.User) ([]eventstore.Claim, []eventstore.Release, error) {
		pendingVerify := u.PendingVerify()
		if err := u.ResetPassword(tokenHash, newHash, h.now()); err != nil {
			return nil, nil, err
		}
		rel := []eventstore.Release{{Scope: domain.ResetTokenClaimScope, Key: tokenHash}}
		if pendingVerify != "" && u.PendingVerify() == "" {
			rel = append(rel, eventstore.Release{Scope: domain.VerifyTokenClaimScope, Key: pendingVerify})
		}
		return nil, rel, nil
	})
}

// Block stops the account from logging in. ifMatch is the version the
// caller read, or NoIfMatch. meta.ActorID is who blocks: nobody blocks
// themselves (the last superuser could lock everyone out), and only a
// superuser blocks a superuser. Both are decided on the accounts as loaded
// for this attempt, so no change between a check and the append slips
// through. Ending its sessions is the caller's next step.
func (h *UserHandler) Block(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (*domain.User, eventstore.Result, error) {
	return h.update(ctx, id, ifMatch, meta, h.mayToggle(ctx, meta.ActorID, true),
		func(u *domain.User) ([]eventstore.Claim, []eventstore.Release, error) {
			return nil, nil, u.Block()
		})
}

// Activate lets a blocked account log in again; only a superuser activates
// a superuser.
func (h *UserHandler) Activate(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (*domain.User, eventstore.Result, error) {
	return h.update(ctx, id, ifMatch, meta, h.mayToggle(ctx, meta.ActorID, false),
		func(u *domain.User) ([]eventstore.Claim, []eventstore.Release, error) {
			return nil, nil, u.Activate()
		})
}

// mayToggle is the rule of Block (block true) and Activate for actor. The
// actor's superuser status comes from the actor's own events, not from what
// the caller believed: an actor that is no account is no superuser.
func (h *UserHandler) mayToggle(ctx context.Context, actor uuid.UUID, block bool) func(target *domain.User) error {
	return func(target *domain.User) error {
		if target.Superuser() {
			a, _, err := h.Load(ctx, actor)
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				return err
			}
			if err != nil || !a.Superuser() {
				return domain.ErrSuperuserToggle
			}
		}
		if block && target.ID() == actor {
			return domain.ErrBlockSelf
		}
		return nil
	}
}

// SetGroups replaces the account's groups; every group must exist.
func (h *UserHandler) SetGroups(ctx context.Context, meta domain.Metadata, id uuid.UUID, groups []string, ifMatch int64) (*domain.User, eventstore.Result, error) {
	if err := h.groups.CheckGroupsExist(ctx, groups); err != nil {
		return nil, eventstore.Result{}, err
	}
	return h.update(ctx, id, ifMatch, meta, nil, func(u *domain.User) ([]eventstore.Claim, []eventstore.Release, error) {
		return nil, nil, u.SetGroups(groups)
	})
}
