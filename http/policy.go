package http

import (
	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// This file is the one place authorization is decided. Handlers call these
// with the caller, the kind of resource and its owner; they never compare
// ids or name permissions themselves. Every function refuses the anonymous
// caller.

// resource is a kind of thing a user owns; its name ends "not found"
// answers ("client not found").
type resource string

const (
	resClient  resource = "client"
	resMessage resource = "message"
	resMailing resource = "mailing" // with its runs, attempts and history
	resUser    resource = "user"    // an account: its owner is itself
	resReport  resource = "report"
)

// path is where the API serves resources of the kind.
func (r resource) path() string { return "/api/v1/" + string(r) + "s" }

// viewAll is the permission that lets staff see everyone's resources of a
// kind; managers hold all of them (domain.DefaultGroups).
func (r resource) viewAll() string {
	switch r {
	case resClient:
		return domain.PermClientsViewAll
	case resMessage:
		return domain.PermMessagesViewAll
	case resMailing:
		return domain.PermMailingsViewAll
	case resUser:
		return domain.PermUsersViewAll
	case resReport:
		return domain.PermReportsViewAll
	}
	return ""
}

// isStaff: managers are staff; a superuser counts as staff for reading.
func isStaff(p Principal) bool { return p.Authenticated() && (p.IsStaff || p.IsSuperuser) }

func owns(p Principal, owner uuid.UUID) bool {
	return p.Authenticated() && owner != uuid.Nil && p.UserID == owner
}

// canListAll: staff holding what's view_all permission, and a superuser,
// list and read everyone's (and may filter by owner); others only their own.
func canListAll(p Principal, what resource) bool {
	if !p.Authenticated() {
		return false
	}
	perm := what.viewAll()
	return p.IsSuperuser || (p.IsStaff && perm != "" && p.Has(perm))
}

// canRead: a user reads their own resources; canListAll decides the rest.
func canRead(p Principal, what resource, owner uuid.UUID) bool {
	return owns(p, owner) || canListAll(p, what)
}

// canChange: only the owner edits or deletes a client, message or mailing
// (staff may read others' but not change them); a superuser may do anything.
func canChange(p Principal, owner uuid.UUID) bool {
	return owns(p, owner) || (p.Authenticated() && p.IsSuperuser)
}

// canToggleMailing: the owner, or anyone holding mailings.toggle.
func canToggleMailing(p Principal, owner uuid.UUID) bool {
	return owns(p, owner) || p.Has(domain.PermMailingsToggle)
}

// canToggleUser: a staff member holding users.toggle (or a superuser) blocks
// and activates users.
func canToggleUser(p Principal) bool {
	return p.Authenticated() && (p.IsSuperuser || (p.IsStaff && p.Has(domain.PermUsersToggle)))
}

// canSetGroups: only a superuser changes group membership.
func canSetGroups(p Principal) bool { return p.Authenticated() && p.IsSuperuser }

// hidden is the answer for a resource the caller may not see: 404, never
// 403, so ids of others' resources do not leak.
func hidden(what resource) error { return domain.NotFound(string(what) + " not found") }

// changer is the authorizer of edits and deletions: the policy's canChange;
// someone who may read but not change (staff) is refused with 403, anyone
// else learns nothing (404).
func changer(p Principal, what resource) commands.Authorizer {
	return func(owner uuid.UUID) error {
		switch {
		case canChange(p, owner):
			return nil
		case canRead(p, what, owner):
			return domain.Forbidden("staff may read another user's " + string(what) + " but not change it")
		}
		return hidden(what)
	}
}

// mailingToggler is the authorizer of enable and disable: canToggleMailing;
// staff without mailings.toggle may read the mailing, so they are told 403,
// anyone else learns nothing (404).
func mailingToggler(p Principal) commands.Authorizer {
	return func(owner uuid.UUID) error {
		switch {
		case canToggleMailing(p, owner):
			return nil
		case canRead(p, resMailing, owner):
			return domain.Forbidden("enabling and disabling another user's mailing needs the mailings.toggle permission")
		}
		return hidden(resMailing)
	}
}

// readScope is what the caller may read of what: their own, or everyone's
// as canListAll allows.
func readScope(p Principal, what resource) projections.OwnerScope {
	return projections.OwnerScope{Caller: p.UserID, All: canListAll(p, what)}
}
