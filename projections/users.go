package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// errUsersOutOfOrder means an event arrived before an earlier event of its
// stream; the runtime retries it, it is never skipped.
var errUsersOutOfOrder = errors.New("projections: event ahead of its stream's read model")

// Users projects user and group streams into the users and access_groups
// tables: the staff list, /users/{id}, and what the authenticator joins a
// session with. Token and password events only move the row's version.
type Users struct{}

// NewUsers returns the users projector.
func NewUsers() *Users { return &Users{} }

func (*Users) Name() string { return "users" }

func (*Users) Tables() []string { return []string{"users", "access_groups"} }

func (*Users) EventTypes() []string {
	return []string{
		domain.UserRegistered{}.EventType(),
		domain.UserSuperuserCreated{}.EventType(),
		domain.UserVerificationIssued{}.EventType(),
		domain.UserEmailVerified{}.EventType(),
		domain.UserPasswordResetRequested{}.EventType(),
		domain.UserPasswordChanged{}.EventType(),
		domain.UserBlocked{}.EventType(),
		domain.UserActivated{}.EventType(),
		domain.UserGroupsChanged{}.EventType(),
		domain.GroupCreated{}.EventType(),
		domain.GroupPermissionsChanged{}.EventType(),
	}
}

func (p *Users) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	switch ev := e.Event.(type) {
	case domain.UserRegistered:
		return insertUser(ctx, tx, e, ev.Email, ev.Name, ev.Groups, false, false, ev.RegisteredAt)
	case domain.UserSuperuserCreated:
		return insertUser(ctx, tx, e, ev.Email, ev.Name, ev.Groups, true, true, ev.RegisteredAt)
	case domain.UserEmailVerified:
		return updateUser(ctx, tx, e, `email_verified = true`)
	case domain.UserBlocked:
		return updateUser(ctx, tx, e, `is_active = false`)
	case domain.UserActivated:
		return updateUser(ctx, tx, e, `is_active = true`)
	case domain.UserGroupsChanged:
		return updateUser(ctx, tx, e, `groups = $4`, userStrings(ev.Groups))
	case domain.UserVerificationIssued, domain.UserPasswordResetRequested, domain.UserPasswordChanged:
		return updateUser(ctx, tx, e, `email = email`)
	case domain.GroupCreated:
		_, err := tx.Exec(ctx, `
INSERT INTO access_groups (id, name, permissions, updated_at, version) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING`, e.StreamID, ev.Name, userStrings(ev.Permissions), e.RecordedAt, e.Version)
		return err
	case domain.GroupPermissionsChanged:
		ok, err := usersNextVersion(ctx, tx, `access_groups`, e)
		if err != nil || !ok {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE access_groups SET permissions = $2, updated_at = $3, version = $4 WHERE id = $1`,
			e.StreamID, userStrings(ev.Permissions), e.RecordedAt, e.Version)
		return err
	}
	return nil
}

func userStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func insertUser(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent, email, name string, groups []string, verified, superuser bool, at any) error {
	_, err := tx.Exec(ctx, `
INSERT INTO users (id, email, name, is_active, is_superuser, email_verified, groups, created_at, updated_at, version)
VALUES ($1, $2, $3, true, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO NOTHING`, e.StreamID, email, name, superuser, verified, userStrings(groups), at, e.RecordedAt, e.Version)
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// updateUser applies set (which may use $4…) to the user row when e is the
// next event of its stream.
func updateUser(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent, set string, args ...any) error {
	ok, err := usersNextVersion(ctx, tx, `users`, e)
	if err != nil || !ok {
		return err
	}
	all := append([]any{e.StreamID, e.RecordedAt, e.Version}, args...)
	if _, err := tx.Exec(ctx, `UPDATE users SET `+set+`, updated_at = $2, version = $3 WHERE id = $1`, all...); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// usersNextVersion locks the row of e's stream in table and reports whether e is
// its next event: false for a redelivery (already applied), errUsersOutOfOrder
// when an earlier event is missing.
func usersNextVersion(ctx context.Context, tx pgx.Tx, table string, e domain.RecordedEvent) (bool, error) {
	var v int64
	err := tx.QueryRow(ctx, `SELECT version FROM `+table+` WHERE id = $1 FOR UPDATE`, e.StreamID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("%w: %s %s v%d has no row", errUsersOutOfOrder, table, e.StreamID, e.Version)
	}
	if err != nil {
		return false, fmt.Errorf("read %s version: %w", table, err)
	}
	switch {
	case e.Version <= v:
		return false, nil
	case e.Version > v+1:
		return false, fmt.Errorf("%w: %s %s at v%d, got v%d", errUsersOutOfOrder, table, e.StreamID, v, e.Version)
	}
	return true, nil
}

var _ Projector = (*Users)(nil)
