package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// GroupHandler handles the commands of group aggregates.
type GroupHandler struct {
	store EventStore
}

// NewGroupHandler returns a handler over store.
func NewGroupHandler(store EventStore) (*GroupHandler, error) {
	if store == nil {
		return nil, errors.New("commands: nil event store")
	}
	return &GroupHandler{store: store}, nil
}

// GroupOutcome says what EnsureGroup did to one group.
type GroupOutcome string

const (
	GroupCreated   GroupOutcome = "created"
	GroupUpdated   GroupOutcome = "permissions updated"
	GroupUnchanged GroupOutcome = "unchanged"
)

// Load returns the group called name (Exists false when there is none).
func (h *GroupHandler) Load(ctx context.Context, name string) (*domain.Group, error) {
	evs, err := history(ctx, h.store, domain.GroupID(name))
	if err != nil {
		return nil, fmt.Errorf("load group %s: %w", name, err)
	}
	return domain.LoadGroup(evs), nil
}

// EnsureGroup makes the group called name exist with exactly perms. Group ids
// derive from names, so running it again, or in two processes at once,
// changes nothing the second time.
func (h *GroupHandler) EnsureGroup(ctx context.Context, meta domain.Metadata, name string, perms []string) (GroupOutcome, eventstore.Result, error) {
	outcome := GroupUnchanged
	res, err := retry(false, func() (eventstore.Result, error) {
		g, err := h.Load(ctx, name)
		if err != nil {
			return eventstore.Result{}, err
		}
		stream := domain.Stream{Type: domain.GroupStreamType, ID: domain.GroupID(name)}
		expected := g.Version()
		if !g.Exists() {
			if g, err = domain.NewGroup(name, perms); err != nil {
				return eventstore.Result{}, err
			}
			outcome, expected = GroupCreated, eventstore.NoStream
		} else {
			if err := g.SetPermissions(perms); err != nil {
				return eventstore.Result{}, err
			}
			if len(g.Changes()) == 0 {
				outcome = GroupUnchanged
				return eventstore.Result{Version: g.Version()}, nil
			}
			outcome = GroupUpdated
		}
		return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
			Stream: stream, Expected: expected, Events: newEvents(meta, g.Changes()),
		}}})
	})
	if err != nil {
		return "", eventstore.Result{}, fmt.Errorf("ensure group %s: %w", name, err)
	}
	return outcome, res, nil
}

// CreateDefaultGroups ensures the built-in groups (users, managers) with the
// permissions of the API contract; it returns what happened to each, by name.
func (h *GroupHandler) CreateDefaultGroups(ctx context.Context, meta domain.Metadata) (map[string]GroupOutcome, error) {
	defs := domain.DefaultGroups()
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]GroupOutcome, len(names))
	for _, n := range names {
		o, _, err := h.EnsureGroup(ctx, meta, n, defs[n])
		if err != nil {
			return out, err
		}
		out[n] = o
	}
	return out, nil
}

// CheckGroupsExist returns a validation error naming the first group that
// has not been created.
func (h *GroupHandler) CheckGroupsExist(ctx context.Context, names []string) error {
	for _, n := range names {
		g, err := h.Load(ctx, n)
		if err != nil {
			return err
		}
		if !g.Exists() {
			return domain.Invalid("groups", fmt.Sprintf("unknown group %q", n))
		}
	}
	return nil
}
