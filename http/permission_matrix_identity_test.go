package http_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/apptest"
)

// TestIdentityPermissionMatrix runs every endpoint of the identity area as
// each kind of caller and checks the status: anonymous, the user the
// request is about ("user"), another plain user, a manager without
// users.toggle, a manager with it, and a superuser.
func TestIdentityPermissionMatrix(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	groups := idGroups(t, env)
	meta := domain.Metadata{Command: "test-setup"}
	// Managers without users.toggle; the toggle comes from a second group, so
	// one manager holds it and one does not.
	var noToggle []string
	for _, p := range domain.DefaultGroups()[domain.GroupManagers] {
		if p != domain.PermUsersToggle {
			noToggle = append(noToggle, p)
		}
	}
	if _, _, err := groups.EnsureGroup(ctx, meta, domain.GroupManagers, noToggle); err != nil {
		t.Fatal(err)
	}
	if _, _, err := groups.EnsureGroup(ctx, meta, "user_togglers", []string{domain.PermUsersToggle}); err != nil {
		t.Fatal(err)
	}

	user := idVerified(t, env)
	other := idVerified(t, env)
	mgr := idVerified(t, env)
	mgrToggle := idVerified(t, env)
	root := idSuperuser(t, env)
	users := idUsers(t, env)
	var last int64
	for acc, gs := range map[*idAccount][]string{
		&mgr:       {"users", "managers"},
		&mgrToggle: {"users", "managers", "user_togglers"},
	} {
		_, res, err := users.SetGroups(ctx, meta, acc.ID, gs, commands.NoIfMatch)
		if err != nil {
			t.Fatal(err)
		}
		last = max(last, res.LastPosition)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := env.App.Waiter.WaitFor(wctx, []string{"users"}, last); err != nil {
		t.Fatal(err)
	}

	type caller struct {
		name string
		acc  *idAccount // nil: anonymous
	}
	callers := []caller{{"anonymous", nil}, {"user", &user}, {"another user", &other},
		{"manager", &mgr}, {"manager+users.toggle", &mgrToggle}, {"superuser", &root}}

	u := "/api/v1/users/" + user.ID.String()
	badToken := strings.Repeat("A", 43)
	rows := []struct {
		method, path string
		body         any
		want         [6]int // in the order of callers
	}{
		{"GET", "/api/v1/me", nil, [6]int{401, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/users", nil, [6]int{401, 403, 403, 200, 200, 200}},
		{"GET", u, nil, [6]int{401, 200, 404, 200, 200, 200}},
		{"GET", "/api/v1/users/" + root.ID.String(), nil, [6]int{401, 404, 404, 200, 200, 200}},
		{"POST", u + "/block", nil, [6]int{401, 403, 404, 403, 200, 200}},
		{"POST", u + "/activate", nil, [6]int{401, 403, 404, 403, 200, 200}},
		{"POST", "/api/v1/users/" + root.ID.String() + "/block", nil, [6]int{401, 404, 404, 403, 403, 409}},
		{"PUT", u + "/groups", map[string]any{"groups": []string{"users"}}, [6]int{401, 403, 404, 403, 403, 200}},
		{"POST", "/api/v1/auth/verify", map[string]string{"token": badToken}, [6]int{422, 422, 422, 422, 422, 422}},
		{"GET", "/api/v1/auth/verify?token=" + badToken, nil, [6]int{422, 422, 422, 422, 422, 422}},
		{"POST", "/api/v1/auth/password-reset", map[string]string{"email": "nobody@example.org"}, [6]int{202, 202, 202, 202, 202, 202}},
		{"POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": badToken, "password": "whatever123"}, [6]int{422, 422, 422, 422, 422, 422}},
		{"POST", "/api/v1/auth/login", map[string]string{"email": "nobody@example.org", "password": "x"}, [6]int{401, 401, 401, 401, 401, 401}},
		{"POST", "/api/v1/auth/logout", nil, [6]int{401, 204, 204, 204, 204, 204}},
	}
	// Before each row the user is active with a live token again (a block
	// in the row before ended its sessions).
	resetUser := func() {
		_, res, err := users.Activate(ctx, meta, user.ID, commands.NoIfMatch)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := env.App.Waiter.WaitFor(wctx, []string{"users"}, res.LastPosition); err != nil {
			t.Fatal(err)
		}
		user.Token = idFreshToken(t, env, user.Email)
	}
	for _, row := range rows {
		resetUser()
		for i, c := range callers {
			var headers []string
			if c.acc != nil {
				tok := c.acc.Token
				if strings.HasSuffix(row.path, "/logout") {
					tok = idFreshToken(t, env, c.acc.Email) // keep the caller's main token
				}
				headers = apptest.Bearer(tok)
			}
			body := row.body
			switch { // one email per caller: repeats for one email would be throttled
			case strings.HasSuffix(row.path, "/login"):
				body = map[string]string{"email": fmt.Sprintf("nobody%d@example.org", i), "password": "x"}
			case strings.HasSuffix(row.path, "/password-reset"):
				body = map[string]string{"email": fmt.Sprintf("nobody%d@example.org", i)}
			}
			res := env.Do(row.method, row.path, body, headers...)
			if res.Status != row.want[i] {
				t.Errorf("%s %s as %s: %d, want %d: %s", row.method, row.path, c.name, res.Status, row.want[i], res.Body)
			}
			if res.Status >= 500 {
				t.Errorf("%s %s as %s: server error %s", row.method, row.path, c.name, res.Body)
			}
		}
	}
	// Registration is open to everyone, signed in or not.
	for i, c := range callers {
		var headers []string
		if c.acc != nil {
			headers = apptest.Bearer(c.acc.Token)
		}
		res := env.Do("POST", "/api/v1/auth/register", map[string]string{"email": fmt.Sprintf("m%d-%s", i, user.Email), "password": idPassword, "name": "M"}, headers...)
		if res.Status != 201 {
			t.Errorf("register as %s: %d %s", c.name, res.Status, res.Body)
		}
	}
}

// idFreshToken logs in again and returns a second token for email.
func idFreshToken(t testing.TB, env *apptest.Env, email string) string {
	t.Helper()
	res := idLogin(t, env, email, idPassword)
	idWant(t, "fresh login", res, 200)
	var l struct {
		Token string `json:"token"`
	}
	res.Decode(t, &l)
	return l.Token
}
