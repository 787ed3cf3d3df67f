// Package access is Herald's authorization policy, the one place it is
// decided who may read, change, enable or block what. Both front doors (the
// JSON API in http and the pages in web) call these functions with the
// caller, the kind of resource and its owner; they never compare ids or
// name permissions themselves. Every function refuses the anonymous caller.
package access

import (
	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/projections"
)

// Resource is a kind of thing a user owns; its name ends "not found"
// answers ("client not found").
type Resource string

// The kinds of resource.
const (
	Client  Resource = "client"
	Message Resource = "message"
	Mailing Resource = "mailing" // with its runs, attempts and history
	User    Resource = "user"    // an account: its owner is itself
	Report  Resource = "report"
)

// ViewAll is the permission that lets staff see everyone's resources of a
// kind; managers hold all of them (domain.DefaultGroups).
func (r Resource) ViewAll() string {
	switch r {
	case Client:
		return domain.PermClientsViewAll
	case Message:
		return domain.PermMessagesViewAll
	case Mailing:
		return domain.PermMailingsViewAll
	case User:
		return domain.PermUsersViewAll
	case Report:
		return domain.PermReportsViewAll
	}
	return ""
}

// IsStaff reports whether p is staff: managers are, and a superuser counts
// as staff for reading.
func IsStaff(p identity.Principal) bool { return p.Authenticated() && (p.IsStaff || p.IsSuperuser) }

// Owns reports whether p is the owner.
func Owns(p identity.Principal, owner uuid.UUID) bool {
	return p.Authenticated() && owner != uuid.Nil && p.UserID == owner
}

// CanListAll reports whether p lists and reads everyone's resources of the
// kind (and may filter by owner): staff holding its view_all permission,
// and a superuser. Others see only their own.
func CanListAll(p identity.Principal, what Resource) bool {
	if !p.Authenticated() {
		return false
	}
	perm := what.ViewAll()
	return p.IsSuperuser || (p.IsStaff && perm != "" && p.Has(perm))
}

// CanRead reports whether p reads a resource of owner: a user reads their
// own; CanListAll decides the rest.
func CanRead(p identity.Principal, what Resource, owner uuid.UUID) bool {
	return Owns(p, owner) || CanListAll(p, what)
}

// CanChange reports whether p edits or deletes a client, message or mailing
// of owner: only the owner does (staff may read others' but not change
// them); a superuser may do anything.
func CanChange(p identity.Principal, owner uuid.UUID) bool {
	return Owns(p, owner) || (p.Authenticated() && p.IsSuperuser)
}

// CanToggleMailing reports whether p enables and disables a mailing of
// owner: the owner, or anyone holding mailings.toggle.
func CanToggleMailing(p identity.Principal, owner uuid.UUID) bool {
	return Owns(p, owner) || p.Has(domain.PermMailingsToggle)
}

// CanToggleUser reports whether p blocks and activates users: a staff
// member holding users.toggle, or a superuser.
func CanToggleUser(p identity.Principal) bool {
	return p.Authenticated() && (p.IsSuperuser || (p.IsStaff && p.Has(domain.PermUsersToggle)))
}

// CanSetGroups reports whether p changes group membership: only a
// superuser does.
func CanSetGroups(p identity.Principal) bool { return p.Authenticated() && p.IsSuperuser }

// Hidden is the answer for a Resource the caller may not see: 404, never
// 403, so ids of others' resources do not leak.
func Hidden(what Resource) error { return domain.NotFound(string(what) + " not found") }

// Changer is the authorizer of edits and deletions: the policy's CanChange;
// someone who may read but not change (staff) is refused with 403, anyone
// else learns nothing (404).
func Changer(p identity.Principal, what Resource) commands.Authorizer {
	return func(owner uuid.UUID) error {
		switch {
		case CanChange(p, owner):
			return nil
		case CanRead(p, what, owner):
			return domain.Forbidden("staff may read another user's " + string(what) + " but not change it")
		}
		return Hidden(what)
	}
}

// MailingToggler is the authorizer of enable and disable: CanToggleMailing;
// staff without mailings.toggle may read the mailing, so they are told 403,
// anyone else learns nothing (404).
func MailingToggler(p identity.Principal) commands.Authorizer {
	return func(owner uuid.UUID) error {
		switch {
		case CanToggleMailing(p, owner):
			return nil
		case CanRead(p, Mailing, owner):
			return domain.Forbidden("enabling and disabling another user's mailing needs the mailings.toggle permission")
		}
		return Hidden(Mailing)
	}
}

// ReadScope is what the caller may read of what: their own, or everyone's
// as CanListAll allows.
func ReadScope(p identity.Principal, what Resource) projections.OwnerScope {
	return projections.OwnerScope{Caller: p.UserID, All: CanListAll(p, what)}
}
