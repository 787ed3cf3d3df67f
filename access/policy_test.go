package access

import (
	"testing"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/identity"
)

func TestPolicy(t *testing.T) {
	owner := uuid.New()
	perms := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	managers := domain.DefaultGroups()[domain.GroupManagers]
	var (
		anon    = identity.Principal{}
		own     = identity.Principal{UserID: owner}
		other   = identity.Principal{UserID: uuid.New()}
		manager = identity.Principal{UserID: uuid.New(), IsStaff: true, Permissions: perms(managers...)}
		// Staff see others' resources of a kind only through its view_all.
		clientsOnly = identity.Principal{UserID: uuid.New(), IsStaff: true, Permissions: perms(domain.PermClientsViewAll)}
		bareStaff   = identity.Principal{UserID: uuid.New(), IsStaff: true}
		// A view_all without staff status (e.g. removed from managers) shows nothing.
		exStaff   = identity.Principal{UserID: uuid.New(), Permissions: perms(managers...)}
		toggler   = identity.Principal{UserID: uuid.New(), Permissions: perms(domain.PermMailingsToggle)}
		userToggl = identity.Principal{UserID: uuid.New(), IsStaff: true, Permissions: perms(domain.PermUsersToggle)}
		super     = identity.Principal{UserID: uuid.New(), IsSuperuser: true}
	)
	all := []Resource{Client, Message, Mailing, User, Report}
	type row struct {
		name                                        string
		p                                           identity.Principal
		seesAll                                     []Resource // others' resources it lists and reads
		change, toggleMailing, toggleUser, setGroup bool
	}
	rows := []row{
		{"anonymous", anon, nil, false, false, false, false},
		{"owner", own, nil, true, true, false, false},
		{"another user", other, nil, false, false, false, false},
		{"manager", manager, all, false, true, true, false},
		{"staff with clients.view_all only", clientsOnly, []Resource{Client}, false, false, false, false},
		{"staff without permissions", bareStaff, nil, false, false, false, false},
		{"view_all without staff", exStaff, nil, false, true, false, false},
		{"mailings.toggle holder", toggler, nil, false, true, false, false},
		{"staff with users.toggle", userToggl, nil, false, false, true, false},
		{"superuser", super, all, true, true, true, true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			check := func(what string, got, want bool) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			for _, k := range all {
				sees := false
				for _, s := range r.seesAll {
					sees = sees || s == k
				}
				check("CanListAll "+string(k), CanListAll(r.p, k), sees)
				check("CanRead "+string(k), CanRead(r.p, k, owner), sees || r.p.UserID == owner)
			}
			check("CanChange", CanChange(r.p, owner), r.change)
			check("CanToggleMailing", CanToggleMailing(r.p, owner), r.toggleMailing)
			check("CanToggleUser", CanToggleUser(r.p), r.toggleUser)
			check("CanSetGroups", CanSetGroups(r.p), r.setGroup)
		})
	}
	// Every kind has its own view_all, and managers hold each.
	for _, k := range all {
		if k.ViewAll() == "" || !domain.IsPermission(k.ViewAll()) || !manager.Has(k.ViewAll()) {
			t.Errorf("%s: view_all %q is not a permission managers hold", k, k.ViewAll())
		}
	}
	// A Resource without an owner (uuid.Nil) never matches the anonymous caller.
	if CanRead(anon, Client, uuid.Nil) || CanChange(anon, uuid.Nil) || CanToggleMailing(anon, uuid.Nil) {
		t.Fatal("anonymous caller matched a nil owner")
	}
	if !super.Has("anything.at_all") || own.Has(domain.PermMailingsToggle) || anon.Has(domain.PermMailingsToggle) {
		t.Fatal("Has")
	}
}
