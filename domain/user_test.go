package domain

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func newAccount() NewAccount {
	return NewAccount{ID: uuid.New(), Email: "  Ann@Example.COM ", Name: " Ann ", PasswordHash: "$2a$hash", Groups: []string{GroupUsers}}
}

// replayed rebuilds u from its recorded changes, as loading from the store does.
func replayed(u *User) *User { return LoadUser(u.ID(), u.Changes()) }

// must fails t when a decision that should be taken is refused.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// registered is a user who registered at t0 with verification hash h,
// valid until expires.
func registered(t *testing.T, h string, expires time.Time) *User {
	t.Helper()
	u, err := Register(newAccount(), t0, h, expires)
	must(t, err)
	return u
}

func TestRegisterNormalizesAndIssuesVerification(t *testing.T) {
	u, err := Register(newAccount(), t0, "h1", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Changes()) != 2 || u.Changes()[0].EventType() != "user.registered" || u.Changes()[1].EventType() != "user.verification_issued" {
		t.Fatalf("changes %v", u.Changes())
	}
	r := replayed(u)
	if r.Email() != "ann@example.com" || r.Name() != "Ann" || r.EmailVerified() || !r.Active() || r.Superuser() || r.Staff() {
		t.Fatalf("state %+v", r)
	}
	if r.Version() != 2 || !r.CreatedAt().Equal(t0) || r.PendingVerify() != "h1" {
		t.Fatalf("version %d created %v pending %q", r.Version(), r.CreatedAt(), r.PendingVerify())
	}
	if err := r.CanLogin(); !errors.Is(err, ErrEmailNotVerified) || !errors.Is(err, ErrForbidden) {
		t.Fatalf("CanLogin = %v", err)
	}
}

func TestRegisterValidation(t *testing.T) {
	a := newAccount()
	a.Email, a.Name = "not-an-email", "  "
	_, err := Register(a, t0, "h", t0)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, bad := range []string{"Ann <ann@example.com>", "a@b@c", ""} {
		if ValidateEmail(NormalizeEmail(bad)) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if ValidatePassword("short") == nil || ValidatePassword(string(make([]rune, 129))) == nil || ValidatePassword("eight888") != nil {
		t.Fatal("password length rule")
	}
}

func TestVerifyTokenSingleUseAndExpiry(t *testing.T) {
	u := registered(t, "h1", t0.Add(time.Hour))
	u = replayed(u)
	if err := u.VerifyEmail("other", t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong hash: %v", err)
	}
	if err := u.VerifyEmail("h1", t0.Add(time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired: %v", err)
	}
	if err := u.VerifyEmail("h1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	u = LoadUser(u.ID(), append(mustHistory(t, u), u.Changes()...))
	if !u.EmailVerified() || u.CanLogin() != nil {
		t.Fatal("not verified")
	}
	if err := u.VerifyEmail("h1", t0.Add(time.Minute)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("second use: %v", err)
	}
}

// mustHistory returns the history u was loaded from, rebuilt by registering again.
func mustHistory(t *testing.T, u *User) []Event {
	t.Helper()
	a := newAccount()
	a.ID = u.ID()
	r, err := Register(a, t0, "h1", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return r.Changes()
}

func TestResetPasswordConsumesTokenAndVerifies(t *testing.T) {
	u := registered(t, "h1", t0.Add(time.Hour))
	hist := u.Changes()
	u = LoadUser(u.ID(), hist)
	if err := u.ResetPassword("r1", "new", t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no pending reset: %v", err)
	}
	if err := u.RequestPasswordReset("r1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := u.RequestPasswordReset("r2", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := u.ResetPassword("r1", "new", t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("replaced token accepted: %v", err)
	}
	if err := u.ResetPassword("r2", "new", t0); err != nil {
		t.Fatal(err)
	}
	u = LoadUser(u.ID(), append(hist, u.Changes()...))
	if u.PasswordHash() != "new" || !u.EmailVerified() || u.PendingReset() != "" {
		t.Fatalf("hash %q verified %v", u.PasswordHash(), u.EmailVerified())
	}
	if err := u.ResetPassword("r2", "again", t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reused: %v", err)
	}
}

func TestBlockActivateGroupsAreIdempotent(t *testing.T) {
	u, err := CreateSuperuser(newAccount(), t0)
	must(t, err)
	u = replayed(u)
	if !u.Superuser() || !u.EmailVerified() || !u.Staff() || u.CanLogin() != nil {
		t.Fatal("superuser state")
	}
	must(t, u.Activate())
	must(t, u.Block())
	must(t, u.Block())
	if len(u.Changes()) != 1 || u.Active() || !errors.Is(u.CanLogin(), ErrUserBlocked) {
		t.Fatalf("block: %v", u.Changes())
	}
	must(t, u.SetGroups([]string{GroupManagers, GroupUsers, GroupManagers}))
	must(t, u.SetGroups([]string{GroupUsers, GroupManagers}))
	if len(u.Changes()) != 2 {
		t.Fatalf("groups: %v", u.Changes())
	}
	var missing User
	if err := missing.Block(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("block missing: %v", err)
	}
}

func TestStaffFollowsManagers(t *testing.T) {
	u := registered(t, "h", t0)
	if u.Staff() {
		t.Fatal("user is staff")
	}
	must(t, u.SetGroups([]string{GroupUsers, GroupManagers}))
	if !u.Staff() {
		t.Fatal("manager is not staff")
	}
}

func TestGroups(t *testing.T) {
	if GroupID("managers") != GroupID(string([]byte("managers"))) || GroupID("managers") == GroupID("users") {
		t.Fatal("group ids not deterministic")
	}
	if _, err := NewGroup("x", []string{"nope"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown permission: %v", err)
	}
	if _, err := NewGroup("Bad Name", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}
	g, err := NewGroup(GroupManagers, DefaultGroups()[GroupManagers])
	if err != nil {
		t.Fatal(err)
	}
	l := LoadGroup(g.Changes())
	if !l.Exists() || l.ID() != GroupID(GroupManagers) || len(l.Permissions()) != 7 {
		t.Fatalf("loaded %+v", l)
	}
	if err := l.SetPermissions(DefaultGroups()[GroupManagers]); err != nil || len(l.Changes()) != 0 {
		t.Fatalf("same permissions recorded %v %v", l.Changes(), err)
	}
	must(t, l.SetPermissions([]string{PermUsersViewAll}))
	if len(l.Changes()) != 1 || len(l.Permissions()) != 1 {
		t.Fatal("permissions_changed")
	}
}
