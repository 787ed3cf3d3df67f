package http_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// rUser is a real account, registered, verified and logged in through the
// API; auth is its Authorization header pair.
type rUser struct {
	ID    uuid.UUID
	Email string
	Token string
}

func (u rUser) auth(more ...string) []string { return append(apptest.Bearer(u.Token), more...) }

// groupsOnce remembers, per environment, that the groups were created.
var groupsOnce sync.Map

// ensureGroups creates users and managers (as `herald create-groups` does)
// and "togglers", a group holding only mailings.toggle.
func ensureGroups(t testing.TB, env *apptest.Env) {
	t.Helper()
	once, _ := groupsOnce.LoadOrStore(env, &sync.Once{})
	once.(*sync.Once).Do(func() {
		g, err := commands.NewGroupHandler(env.App.Store)
		if err != nil {
			t.Fatal(err)
		}
		meta := domain.Metadata{ActorID: uuid.New(), CorrelationID: uuid.New(), Command: "CreateGroups"}
		if _, err := g.CreateDefaultGroups(context.Background(), meta); err != nil {
			t.Fatal(err)
		}
		if _, _, err := g.EnsureGroup(context.Background(), meta, "togglers", []string{domain.PermMailingsToggle}); err != nil {
			t.Fatal(err)
		}
	})
}

// newUser registers, verifies and logs in an account; with groups it is put
// in them first (managers makes it staff).
func newUser(t testing.TB, env *apptest.Env, groups ...string) rUser {
	t.Helper()
	acc := apptest.SignUp(env, testenv.Name("u")+"@example.org", "correct horse battery")
	u := rUser{ID: acc.ID, Email: acc.Email, Token: acc.Token}
	if len(groups) == 0 {
		return u
	}
	ensureGroups(t, env)
	users, err := commands.NewUserHandler(env.App.Store, mustUserQueries(t, env), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{domain.GroupUsers}, groups...)
	meta := domain.Metadata{ActorID: uuid.New(), CorrelationID: uuid.New(), Command: "SetGroups"}
	if _, _, err := users.SetGroups(context.Background(), meta, u.ID, all, commands.NoIfMatch); err != nil {
		t.Fatalf("set groups: %v", err)
	}
	// Permissions come from the users read model: wait until it shows them.
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("groups %v on /me", groups), func() bool {
		var me struct {
			Groups []string `json:"groups"`
		}
		res := env.Do("GET", "/api/v1/me", nil, u.auth()...)
		if res.Status != 200 {
			return false
		}
		res.Decode(t, &me)
		return slices.Contains(me.Groups, groups[0])
	})
	return u
}

func mustUserQueries(t testing.TB, env *apptest.Env) *projections.UserQueries {
	q, err := projections.NewUserQueries(env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// position is a command answer's X-Event-Position, for X-Min-Position.
func position(t testing.TB, res *apptest.Response) string {
	t.Helper()
	p := res.Header.Get("X-Event-Position")
	if n, err := strconv.ParseInt(p, 10, 64); err != nil || n <= 0 {
		t.Fatalf("X-Event-Position %q on a %d answer: %s", p, res.Status, res.Body)
	}
	return p
}

// want fails unless res has status (and, for problems, code).
func want(t testing.TB, what string, res *apptest.Response, status int, code ...string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, res.Status, status, res.Body)
	}
	if len(code) > 0 {
		var p struct {
			Code string `json:"code"`
		}
		res.Decode(t, &p)
		if p.Code != code[0] {
			t.Fatalf("%s: code %q, want %q: %s", what, p.Code, code[0], res.Body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: content type %q", what, ct)
		}
	}
}

// fieldsNamed returns the fields a 422 problem names.
func fieldsNamed(t testing.TB, res *apptest.Response) []string {
	t.Helper()
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	res.Decode(t, &p)
	out := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e.Field
	}
	return out
}

func mailingBody(messageID uuid.UUID, clients ...uuid.UUID) map[string]any {
	start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	return map[string]any{"message_id": messageID, "client_ids": clients, "start_at": start.Format(time.RFC3339),
		"end_at": start.Add(30 * 24 * time.Hour).Format(time.RFC3339), "periodicity": "weekly", "timezone": "Europe/Paris"}
}

// create POSTs body and returns the created id and the answer.
func create(t testing.TB, env *apptest.Env, u rUser, path string, body any) (uuid.UUID, *apptest.Response) {
	t.Helper()
	res := env.Do("POST", path, body, u.auth()...)
	want(t, "POST "+path, res, 201)
	var out struct {
		ID uuid.UUID `json:"id"`
	}
	res.Decode(t, &out)
	if loc := res.Header.Get("Location"); loc != fmt.Sprintf("%s/%s", path, out.ID) {
		t.Fatalf("Location %q", loc)
	}
	return out.ID, res
}
