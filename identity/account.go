package identity

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// Account is the User of the API contract (plus version and permissions): what every
// answer about an account shows.
type Account struct {
	ID            uuid.UUID `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	IsActive      bool      `json:"is_active"`
	IsStaff       bool      `json:"is_staff"`
	IsSuperuser   bool      `json:"is_superuser"`
	EmailVerified bool      `json:"email_verified"`
	Groups        []string  `json:"groups"`
	Permissions   []string  `json:"permissions"`
	CreatedAt     time.Time `json:"created_at"`
	Version       int64     `json:"version"`
}

func accountOfRow(u projections.UserRow) Account {
	return Account{ID: u.ID, Email: u.Email, Name: u.Name, IsActive: u.IsActive, IsStaff: u.IsStaff,
		IsSuperuser: u.IsSuperuser, EmailVerified: u.EmailVerified, Groups: u.Groups, Permissions: u.Permissions,
		CreatedAt: u.CreatedAt, Version: u.Version}
}

// accountOf is the account as its events say, right after a command; the
// permissions come from the group streams (a group just created is seen at
// once).
func (s *Service) accountOf(ctx context.Context, u *domain.User, version int64) (Account, error) {
	perms := domain.AllPermissions()
	if !u.Superuser() {
		var err error
		if perms, err = s.groupPermissions(ctx, u.Groups()); err != nil {
			return Account{}, err
		}
	}
	groups := u.Groups()
	if groups == nil {
		groups = []string{}
	}
	return Account{ID: u.ID(), Email: u.Email(), Name: u.Name(), IsActive: u.Active(), IsStaff: u.Staff(),
		IsSuperuser: u.Superuser(), EmailVerified: u.EmailVerified(), Groups: groups, Permissions: perms,
		CreatedAt: u.CreatedAt().UTC(), Version: version}, nil
}

// answer is accountOf after a command that succeeded, or the command's error.
func (s *Service) answer(ctx context.Context, u *domain.User, res eventstore.Result, err error) (Account, eventstore.Result, error) {
	if err != nil {
		return Account{}, eventstore.Result{}, err
	}
	a, err := s.accountOf(ctx, u, res.Version)
	if err != nil {
		return Account{}, eventstore.Result{}, err
	}
	return a, res, nil
}

// groupPermissions is the union of the groups' permissions.
func (s *Service) groupPermissions(ctx context.Context, groups []string) ([]string, error) {
	set := map[string]bool{}
	for _, name := range groups {
		g, err := s.cfg.Groups.Load(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, p := range g.Permissions() {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// Account is the account with id as its events say (never stale): /me, and
// a user the read model does not have yet.
func (s *Service) Account(ctx context.Context, id uuid.UUID) (Account, error) {
	u, _, err := s.cfg.Users.Load(ctx, id)
	if err != nil {
		return Account{}, err
	}
	return s.accountOf(ctx, u, u.Version())
}

// User is one account for a reader. projected says it is the users read
// model's row, whose version is an ETag; a just registered account the model
// does not have yet is answered from its events instead.
func (s *Service) User(ctx context.Context, id uuid.UUID) (a Account, projected bool, err error) {
	row, err := s.cfg.Accounts.User(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		a, err := s.Account(ctx, id)
		return a, false, err
	}
	if err != nil {
		return Account{}, false, err
	}
	return accountOfRow(row), true, nil
}

// ListUsers is a page of accounts from the read model, by id after after.
func (s *Service) ListUsers(ctx context.Context, after uuid.UUID, limit int) ([]Account, error) {
	rows, err := s.cfg.Accounts.ListUsers(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Account, len(rows))
	for i, u := range rows {
		out[i] = accountOfRow(u)
	}
	return out, nil
}
