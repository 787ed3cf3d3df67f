package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// signUpManager signs up a user and puts them in the managers group (as
// `herald create-groups` and a superuser would), which makes them staff
// holding every view_all permission and the toggles; it returns once
// their session shows the staff menu.
func signUpManager(t *testing.T, env *apptest.Env) apptest.Account {
	t.Helper()
	a := apptest.SignUp(env, testenv.Name("staff")+"@example.com", "correct horse battery")
	ctx := context.Background()
	meta := domain.Metadata{ActorID: uuid.New(), CorrelationID: uuid.New(), Command: "SetGroups"}
	groups, err := commands.NewGroupHandler(env.App.Store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateDefaultGroups(ctx, meta); err != nil {
		t.Fatal(err)
	}
	q, err := projections.NewUserQueries(env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	users, err := commands.NewUserHandler(env.App.Store, q, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.SetGroups(ctx, meta, a.ID, []string{domain.GroupUsers, domain.GroupManagers}, commands.NoIfMatch); err != nil {
		t.Fatal(err)
	}
	// Permissions come from the users read model: wait until the pages'
	// session shows the staff menu.
	testenv.Eventually(t, 30*time.Second, "the staff menu for "+a.Email, func() bool {
		_, body := get(t, env, "/dashboard", "Cookie", "herald_session="+a.Token)
		return strings.Contains(body, `href="/manage/users"`)
	})
	return a
}
