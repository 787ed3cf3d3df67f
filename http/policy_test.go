package http

import (
	"testing"

	"github.com/google/uuid"
)

func TestPolicy(t *testing.T) {
	owner := uuid.New()
	var (
		anon      = Principal{}
		own       = Principal{UserID: owner}
		other     = Principal{UserID: uuid.New()}
		staff     = Principal{UserID: uuid.New(), IsStaff: true, Permissions: map[string]bool{PermClientsViewAll: true}}
		toggler   = Principal{UserID: uuid.New(), Permissions: map[string]bool{PermMailingsToggle: true}}
		userToggl = Principal{UserID: uuid.New(), IsStaff: true, Permissions: map[string]bool{PermUsersToggle: true}}
		// A non-staff user holding users.toggle (e.g. removed from managers) may not toggle users.
		exStaff = Principal{UserID: uuid.New(), Permissions: map[string]bool{PermUsersToggle: true}}
		super   = Principal{UserID: uuid.New(), IsSuperuser: true}
	)
	type row struct {
		name                                                        string
		p                                                           Principal
		read, change, toggleMailing, toggleUser, setGroups, listAll bool
	}
	rows := []row{
		{"anonymous", anon, false, false, false, false, false, false},
		{"owner", own, true, true, true, false, false, false},
		{"another user", other, false, false, false, false, false, false},
		{"staff", staff, true, false, false, false, false, true},
		{"mailings.toggle holder", toggler, false, false, true, false, false, false},
		{"staff with users.toggle", userToggl, true, false, false, true, false, true},
		{"users.toggle without staff", exStaff, false, false, false, false, false, false},
		{"superuser", super, true, true, true, true, true, true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			check := func(what string, got, want bool) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("canRead", canRead(r.p, owner), r.read)
			check("canChange", canChange(r.p, owner), r.change)
			check("canToggleMailing", canToggleMailing(r.p, owner), r.toggleMailing)
			check("canToggleUser", canToggleUser(r.p), r.toggleUser)
			check("canSetGroups", canSetGroups(r.p), r.setGroups)
			check("canListAll", canListAll(r.p), r.listAll)
		})
	}
	// A resource without an owner (uuid.Nil) never matches the anonymous caller.
	if canRead(anon, uuid.Nil) || canChange(anon, uuid.Nil) || canToggleMailing(anon, uuid.Nil) {
		t.Fatal("anonymous caller matched a nil owner")
	}
	if !super.Has("anything.at_all") || own.Has(PermMailingsToggle) || anon.Has(PermMailingsToggle) {
		t.Fatal("Has")
	}
}
