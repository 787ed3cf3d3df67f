package identity

import (
	"context"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// Block stops the account id from logging in and ends its sessions at once,
// not when the read model catches up. meta.ActorID is who blocks; the
// command refuses blocking oneself, and a superuser blocked by anyone but a
// superuser. ifMatch is the version the caller read, or commands.NoIfMatch.
func (s *Service) Block(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (Account, eventstore.Result, error) {
	meta.Command = "BlockUser"
	u, res, err := s.cfg.Users.Block(ctx, meta, id, ifMatch)
	if err == nil {
		_, err = s.cfg.Sessions.RevokeUser(ctx, id, s.cfg.Now())
	}
	s.principals.forgetUser(id)
	return s.answer(ctx, u, res, err)
}

// Activate lets a blocked account log in again; only a superuser activates
// a superuser.
func (s *Service) Activate(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (Account, eventstore.Result, error) {
	meta.Command = "ActivateUser"
	u, res, err := s.cfg.Users.Activate(ctx, meta, id, ifMatch)
	s.principals.forgetUser(id)
	return s.answer(ctx, u, res, err)
}

// SetGroups replaces the account's groups; adding managers makes it staff.
func (s *Service) SetGroups(ctx context.Context, meta domain.Metadata, id uuid.UUID, groups []string, ifMatch int64) (Account, eventstore.Result, error) {
	meta.Command = "SetUserGroups"
	u, res, err := s.cfg.Users.SetGroups(ctx, meta, id, groups, ifMatch)
	s.principals.forgetUser(id)
	return s.answer(ctx, u, res, err)
}
