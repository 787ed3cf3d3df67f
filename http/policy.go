package http

import (
	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
)

// Permission names (the seed's Django permissions, renamed). Group managers
// holds every *.view_all plus the two toggles (see `herald create-groups`).
const (
	PermClientsViewAll  = "clients.view_all"
	PermMessagesViewAll = "messages.view_all"
	PermMailingsViewAll = "mailings.view_all"
	PermUsersViewAll    = "users.view_all"
	PermReportsViewAll  = "reports.view_all"
	PermMailingsToggle  = "mailings.toggle"
	PermUsersToggle     = "users.toggle"
)

// This file is the one place authorization is decided. Handlers call these
// with the caller and the owner of the resource; they never compare ids
// themselves. Every function refuses the anonymous caller.

// isStaff: managers are staff; a superuser counts as staff for reading.
func isStaff(p Principal) bool { return p.Authenticated() && (p.IsStaff || p.IsSuperuser) }

func owns(p Principal, owner uuid.UUID) bool {
	return p.Authenticated() && owner != uuid.Nil && p.UserID == owner
}

// canRead: a user reads their own resources; staff read everyone's.
func canRead(p Principal, owner uuid.UUID) bool { return owns(p, owner) || isStaff(p) }

// canChange: only the owner edits or deletes a client, message or mailing
// (staff may read others' but not change them); a superuser may do anything.
func canChange(p Principal, owner uuid.UUID) bool {
	return owns(p, owner) || (p.Authenticated() && p.IsSuperuser)
}

// canToggleMailing: the owner, or anyone holding mailings.toggle.
func canToggleMailing(p Principal, owner uuid.UUID) bool {
	return owns(p, owner) || p.Has(PermMailingsToggle)
}

// canToggleUser: a staff member holding users.toggle (or a superuser) blocks
// and activates users.
func canToggleUser(p Principal) bool {
	return p.Authenticated() && (p.IsSuperuser || (p.IsStaff && p.Has(PermUsersToggle)))
}

// canSetGroups: only a superuser changes group membership.
func canSetGroups(p Principal) bool { return p.Authenticated() && p.IsSuperuser }

// canListAll: staff list everyone's resources (and may filter by owner);
// others list only their own.
func canListAll(p Principal) bool { return isStaff(p) }

// canViewAllReports: staff holding reports.view_all (managers do), or a
// superuser, see the report of every mailing; others see their own.
func canViewAllReports(p Principal) bool {
	return p.Authenticated() && (p.IsSuperuser || (p.IsStaff && p.Has(PermReportsViewAll)))
}

// hidden is the answer for a resource the caller may not see: 404, never
// 403, so ids of others' resources do not leak (API.md).
func hidden(what string) error { return domain.NotFound(what + " not found") }
