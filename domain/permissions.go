package domain

import (
	"slices"
	"sort"
)

// Permissions a group can grant. The names are stable: they are stored in
// group events and shown to clients in /me.
const (
	PermClientsViewAll  = "clients.view_all"
	PermMessagesViewAll = "messages.view_all"
	PermMailingsViewAll = "mailings.view_all"
	PermUsersViewAll    = "users.view_all"
	PermReportsViewAll  = "reports.view_all"
	PermMailingsToggle  = "mailings.toggle"
	PermUsersToggle     = "users.toggle"
)

// AllPermissions lists every permission, sorted; a superuser holds them all.
func AllPermissions() []string {
	return []string{
		PermClientsViewAll,
		PermMailingsToggle,
		PermMailingsViewAll,
		PermMessagesViewAll,
		PermReportsViewAll,
		PermUsersToggle,
		PermUsersViewAll,
	}
}

// IsPermission reports whether name is a known permission.
func IsPermission(name string) bool {
	return slices.Contains(AllPermissions(), name)
}

// Built-in group names. Registration puts every account in GroupUsers;
// membership of GroupManagers makes an account staff.
const (
	GroupUsers    = "users"
	GroupManagers = "managers"
)

// DefaultGroups are the groups `herald create-groups` makes, with their
// permissions: users get nothing extra, managers hold every permission (see
// everything, toggle mailings and users).
func DefaultGroups() map[string][]string {
	return map[string][]string{
		GroupUsers:    {},
		GroupManagers: AllPermissions(),
	}
}

// IsStaff is the rule that staff status follows membership of managers; a
// superuser is staff too.
func IsStaff(groups []string, superuser bool) bool {
	return superuser || slices.Contains(groups, GroupManagers)
}

// normalizeSet returns the sorted, de-duplicated copy of names.
func normalizeSet(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
