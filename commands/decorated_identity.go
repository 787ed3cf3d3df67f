package commands

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// DecoratedUsers is UserHandler behind the decorator: every command is
// logged and counted; the reads (Load, FindByEmail) pass through.
type DecoratedUsers struct {
	h *UserHandler
	d *Decorator
}

// Users wraps h.
func (d *Decorator) Users(h *UserHandler) *DecoratedUsers { return &DecoratedUsers{h: h, d: d} }

// changedUser is what most user commands return, as one value for decorate.
type changedUser struct {
	u   *domain.User
	res eventstore.Result
}

// changeUser runs one user command through the decorator.
func (u *DecoratedUsers) changeUser(name string, meta domain.Metadata,
	run func(domain.Metadata) (*domain.User, eventstore.Result, error)) (*domain.User, eventstore.Result, error) {
	out, err := decorate(u.d, name, meta, func(meta domain.Metadata) (changedUser, error) {
		user, res, err := run(meta)
		return changedUser{user, res}, err
	})
	return out.u, out.res, err
}

// Load is UserHandler.Load.
func (u *DecoratedUsers) Load(ctx context.Context, id uuid.UUID) (*domain.User, int64, error) {
	return u.h.Load(ctx, id)
}

// FindByEmail is UserHandler.FindByEmail.
func (u *DecoratedUsers) FindByEmail(ctx context.Context, email string) (*domain.User, int64, error) {
	return u.h.FindByEmail(ctx, email)
}

// Register is UserHandler.Register, decorated.
func (u *DecoratedUsers) Register(ctx context.Context, meta domain.Metadata, cmd Register) (*domain.User, eventstore.Result, error) {
	return u.changeUser("RegisterUser", meta, func(meta domain.Metadata) (*domain.User, eventstore.Result, error) {
		return u.h.Register(ctx, meta, cmd)
	})
}

// CreateSuperuser is UserHandler.CreateSuperuser, decorated.
func (u *DecoratedUsers) CreateSuperuser(ctx context.Context, meta domain.Metadata, a domain.NewAccount) (*domain.User, bool, error) {
	type created struct {
		u     *domain.User
		isNew bool
	}
	out, err := decorate(u.d, "CreateSuperuser", meta, func(meta domain.Metadata) (created, error) {
		user, isNew, err := u.h.CreateSuperuser(ctx, meta, a)
		return created{user, isNew}, err
	})
	return out.u, out.isNew, err
}

// VerifyEmail is UserHandler.VerifyEmail, decorated.
func (u *DecoratedUsers) VerifyEmail(ctx context.Context, meta domain.Metadata, tokenHash string) (*domain.User, eventstore.Result, error) {
	return u.changeUser("VerifyEmail", meta, func(meta domain.Metadata) (*domain.User, eventstore.Result, error) {
		return u.h.VerifyEmail(ctx, meta, tokenHash)
	})
}

// RequestPasswordReset is UserHandler.RequestPasswordReset, decorated.
func (u *DecoratedUsers) RequestPasswordReset(ctx context.Context, meta domain.Metadata, email, tokenHash string, expires time.Time) (*domain.User, error) {
	return decorate(u.d, "RequestPasswordReset", meta, func(meta domain.Metadata) (*domain.User, error) {
		return u.h.RequestPasswordReset(ctx, meta, email, tokenHash, expires)
	})
}

// ResetPassword is UserHandler.ResetPassword, decorated.
func (u *DecoratedUsers) ResetPassword(ctx context.Context, meta domain.Metadata, tokenHash, newHash string) (*domain.User, eventstore.Result, error) {
	return u.changeUser("ResetPassword", meta, func(meta domain.Metadata) (*domain.User, eventstore.Result, error) {
		return u.h.ResetPassword(ctx, meta, tokenHash, newHash)
	})
}

// Block is UserHandler.Block, decorated.
func (u *DecoratedUsers) Block(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (*domain.User, eventstore.Result, error) {
	return u.changeUser("BlockUser", meta, func(meta domain.Metadata) (*domain.User, eventstore.Result, error) {
		return u.h.Block(ctx, meta, id, ifMatch)
	})
}

// Activate is UserHandler.Activate, decorated.
func (u *DecoratedUsers) Activate(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (*domain.User, eventstore.Result, error) {
	return u.changeUser("ActivateUser", meta, func(meta domain.Metadata) (*domain.User, eventstore.Result, error) {
		return u.h.Activate(ctx, meta, id, ifMatch)
	})
}

// SetGroups is UserHandler.SetGroups, decorated.
func (u *DecoratedUsers) SetGroups(ctx context.Context, meta domain.Metadata, id uuid.UUID, groups []string, ifMatch int64) (*domain.User, eventstore.Result, error) {
	return u.changeUser("SetUserGroups", meta, func(meta domain.Metadata) (*domain.User, eventstore.Result, error) {
		return u.h.SetGroups(ctx, meta, id, groups, ifMatch)
	})
}

// DecoratedGroups is GroupHandler behind the decorator: every command is
// logged and counted; the reads (Load, CheckGroupsExist) pass through.
type DecoratedGroups struct {
	h *GroupHandler
	d *Decorator
}

// Groups wraps h.
func (d *Decorator) Groups(h *GroupHandler) *DecoratedGroups { return &DecoratedGroups{h: h, d: d} }

// Load is GroupHandler.Load.
func (g *DecoratedGroups) Load(ctx context.Context, name string) (*domain.Group, error) {
	return g.h.Load(ctx, name)
}

// CheckGroupsExist is GroupHandler.CheckGroupsExist.
func (g *DecoratedGroups) CheckGroupsExist(ctx context.Context, names []string) error {
	return g.h.CheckGroupsExist(ctx, names)
}

// EnsureGroup is GroupHandler.EnsureGroup, decorated.
func (g *DecoratedGroups) EnsureGroup(ctx context.Context, meta domain.Metadata, name string, perms []string) (GroupOutcome, eventstore.Result, error) {
	type ensured struct {
		outcome GroupOutcome
		res     eventstore.Result
	}
	out, err := decorate(g.d, "EnsureGroup", meta, func(meta domain.Metadata) (ensured, error) {
		outcome, res, err := g.h.EnsureGroup(ctx, meta, name, perms)
		return ensured{outcome, res}, err
	})
	return out.outcome, out.res, err
}

// CreateDefaultGroups is GroupHandler.CreateDefaultGroups, decorated.
func (g *DecoratedGroups) CreateDefaultGroups(ctx context.Context, meta domain.Metadata) (map[string]GroupOutcome, error) {
	return decorate(g.d, "CreateDefaultGroups", meta, func(meta domain.Metadata) (map[string]GroupOutcome, error) {
		return g.h.CreateDefaultGroups(ctx, meta)
	})
}
