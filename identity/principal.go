package identity

import (
	"github.com/google/uuid"

	"github.com/heraldmail/herald/projections"
)

// Principal is the authenticated caller: who it is and what it may do, as
// the account's groups say.
type Principal struct {
	UserID      uuid.UUID
	Email       string
	IsStaff     bool
	IsSuperuser bool
	Permissions map[string]bool // e.g. "mailings.toggle", "clients.view_all"
	Groups      []string
}

// Authenticated reports whether p is a signed-in user (the zero Principal is
// the anonymous caller).
func (p Principal) Authenticated() bool { return p.UserID != uuid.Nil }

// Has reports whether p holds perm; a superuser holds every permission.
func (p Principal) Has(perm string) bool {
	if !p.Authenticated() {
		return false
	}
	return p.IsSuperuser || p.Permissions[perm]
}

func principalOf(row *projections.UserRow) Principal {
	perms := make(map[string]bool, len(row.Permissions))
	for _, p := range row.Permissions {
		perms[p] = true
	}
	return Principal{UserID: row.ID, Email: row.Email, IsStaff: row.IsStaff, IsSuperuser: row.IsSuperuser,
		Permissions: perms, Groups: row.Groups}
}
