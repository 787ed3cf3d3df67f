package http_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/testenv"
)

// TestPermissionMatrixResources sends every endpoint of clients, messages,
// mailings, stats and the home page as each kind of caller, against a fresh
// resource of the owner per request, and checks the status the API contract promises:
// others learn nothing (404), staff read but do not change (403), holders
// of mailings.toggle toggle any mailing, anonymous callers get 401.
func TestPermissionMatrixResources(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	owner := newUser(t, env)
	callers := map[string][]string{
		"anonymous": nil,
		"owner":     owner.auth(),
		"other":     newUser(t, env).auth(),
		"staff":     newUser(t, env, "managers").auth(),
		"toggler":   newUser(t, env, "togglers").auth(),
	}
	sharedMsg, _ := create(t, env, owner, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
	sharedClient, _ := create(t, env, owner, "/api/v1/clients", map[string]any{"email": "shared@example.org", "full_name": "Shared"})

	// fixtures make a fresh resource of the owner and return its id and the
	// position to wait for.
	fixtures := map[string]func() (uuid.UUID, string){
		"client": func() (uuid.UUID, string) {
			id, res := create(t, env, owner, "/api/v1/clients", map[string]any{"email": testenv.Name("c") + "@example.org", "full_name": "C"})
			return id, position(t, res)
		},
		"message": func() (uuid.UUID, string) {
			id, res := create(t, env, owner, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
			return id, position(t, res)
		},
		"mailing": func() (uuid.UUID, string) {
			id, res := create(t, env, owner, "/api/v1/mailings", mailingBody(sharedMsg, sharedClient))
			return id, position(t, res)
		},
	}
	newClient := func() any {
		return map[string]any{"email": testenv.Name("n") + "@example.org", "full_name": "N"}
	}
	type row struct {
		method, path string // path %s is the fixture's id
		fixture      string
		body         func() any
		want         map[string]int
	}
	all := func(anon, ownerS, other, staff, toggler int) map[string]int {
		return map[string]int{"anonymous": anon, "owner": ownerS, "other": other, "staff": staff, "toggler": toggler}
	}
	rows := []row{
		{"GET", "/api/v1/clients", "", nil, all(401, 200, 200, 200, 200)},
		{"POST", "/api/v1/clients", "", newClient, all(401, 201, 201, 201, 201)},
		{"GET", "/api/v1/clients/%s", "client", nil, all(401, 200, 404, 200, 404)},
		{"PUT", "/api/v1/clients/%s", "client", newClient, all(401, 200, 404, 403, 404)},
		{"PATCH", "/api/v1/clients/%s", "client", func() any { return map[string]any{"comment": "c"} }, all(401, 200, 404, 403, 404)},
		{"DELETE", "/api/v1/clients/%s", "client", nil, all(401, 204, 404, 403, 404)},

		{"GET", "/api/v1/messages", "", nil, all(401, 200, 200, 200, 200)},
		{"POST", "/api/v1/messages", "", func() any { return map[string]any{"subject": "S", "body": "B"} }, all(401, 201, 201, 201, 201)},
		{"GET", "/api/v1/messages/%s", "message", nil, all(401, 200, 404, 200, 404)},
		{"PUT", "/api/v1/messages/%s", "message", func() any { return map[string]any{"subject": "S2", "body": "B2"} }, all(401, 200, 404, 403, 404)},
		{"PATCH", "/api/v1/messages/%s", "message", func() any { return map[string]any{"body": "B3"} }, all(401, 200, 404, 403, 404)},
		{"DELETE", "/api/v1/messages/%s", "message", nil, all(401, 204, 404, 403, 404)},

		{"GET", "/api/v1/mailings", "", nil, all(401, 200, 200, 200, 200)},
		{"GET", "/api/v1/mailings/%s", "mailing", nil, all(401, 200, 404, 200, 404)},
		{"PUT", "/api/v1/mailings/%s", "mailing", func() any { return mailingBody(sharedMsg, sharedClient) }, all(401, 200, 404, 403, 404)},
		{"PATCH", "/api/v1/mailings/%s", "mailing", func() any { return map[string]any{"periodicity": "daily"} }, all(401, 200, 404, 403, 404)},
		{"DELETE", "/api/v1/mailings/%s", "mailing", nil, all(401, 204, 404, 403, 404)},
		{"POST", "/api/v1/mailings/%s/disable", "mailing", nil, all(401, 200, 404, 200, 200)},
		{"POST", "/api/v1/mailings/%s/enable", "mailing", nil, all(401, 200, 404, 200, 200)},

		{"GET", "/api/v1/stats", "", nil, all(200, 200, 200, 200, 200)},
		{"GET", "/", "", nil, all(200, 200, 200, 200, 200)},
	}
	// A mailing POST is not in the table's loop: the body must name the
	// caller's own message and clients; its refusal paths are covered by
	// TestUsersNeverSeeEachOthersData.
	res := env.Do("POST", "/api/v1/mailings", mailingBody(sharedMsg, sharedClient))
	want(t, "anonymous POST mailing", res, 401, "unauthenticated")
	_, _ = create(t, env, owner, "/api/v1/mailings", mailingBody(sharedMsg, sharedClient))

	for _, r := range rows {
		for caller, status := range r.want {
			path, pos := r.path, ""
			if r.fixture != "" {
				id, p := fixtures[r.fixture]()
				path, pos = fmt.Sprintf(r.path, id), p
			}
			var body any
			if r.body != nil {
				body = r.body()
			}
			headers := callers[caller]
			if pos != "" {
				headers = append(append([]string{}, headers...), "X-Min-Position", pos)
			}
			res := env.Do(r.method, path, body, headers...)
			if res.Status != status {
				t.Errorf("%s %s as %s: %d, want %d: %s", r.method, r.path, caller, res.Status, status, res.Body)
			}
			if status >= 400 && res.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s as %s: %d without a problem document", r.method, r.path, caller, res.Status)
			}
			if res.Status < 300 && r.method != "GET" && res.Header.Get("X-Event-Position") == "" {
				t.Errorf("%s %s as %s: command without X-Event-Position", r.method, r.path, caller)
			}
		}
	}
}

// TestPermissionMatrixViewAll: staff see another user's clients, messages,
// mailings (with their attempts and history), account and reports only
// through that kind's view_all permission. Here the group managers holds no
// permission; each staff caller gets one view_all from a group of its own,
// so a view_all the policy ignores, or one that shows another kind, fails a
// row: a wrong status, or a list that shows or hides the owner's resource.
func TestPermissionMatrixViewAll(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	ensureGroups(t, env)
	ctx := context.Background()
	groups, err := commands.NewGroupHandler(env.App.Store)
	if err != nil {
		t.Fatal(err)
	}
	meta := domain.Metadata{ActorID: uuid.New(), CorrelationID: uuid.New(), Command: "SetUpGroups"}
	setGroup := func(name string, perms ...string) int64 {
		_, res, err := groups.EnsureGroup(ctx, meta, name, perms)
		if err != nil {
			t.Fatal(err)
		}
		return res.LastPosition
	}
	last := setGroup(domain.GroupManagers) // staff, and nothing more
	kinds := []string{"clients", "messages", "mailings", "users", "reports"}
	for _, k := range kinds {
		last = max(last, setGroup("see_"+k, k+".view_all"))
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := env.App.Waiter.WaitFor(wctx, []string{"users"}, last); err != nil {
		t.Fatal(err)
	}

	owner := newUser(t, env)
	callers := map[string]rUser{"": newUser(t, env, domain.GroupManagers)} // staff holding no view_all
	for _, k := range kinds {
		callers[k] = newUser(t, env, domain.GroupManagers, "see_"+k)
	}
	msg, _ := create(t, env, owner, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
	cl, _ := create(t, env, owner, "/api/v1/clients", map[string]any{"email": "seen@example.org", "full_name": "Seen"})
	ml, res := create(t, env, owner, "/api/v1/mailings", mailingBody(msg, cl))
	pos := position(t, res)

	o := "?owner_id=" + owner.ID.String()
	rows := []struct {
		method, path string
		kind         string    // the view_all that shows it
		seen, unseen int       // the status with and without that view_all
		lists        uuid.UUID // when set, a 200 lists it exactly when seen
	}{
		{"GET", "/api/v1/clients/" + cl.String(), "clients", 200, 404, uuid.Nil},
		{"GET", "/api/v1/clients" + o, "clients", 200, 200, cl},
		{"PATCH", "/api/v1/clients/" + cl.String(), "clients", 403, 404, uuid.Nil},
		{"GET", "/api/v1/messages/" + msg.String(), "messages", 200, 404, uuid.Nil},
		{"GET", "/api/v1/messages" + o, "messages", 200, 200, msg},
		{"DELETE", "/api/v1/messages/" + msg.String(), "messages", 403, 404, uuid.Nil},
		{"GET", "/api/v1/mailings/" + ml.String(), "mailings", 200, 404, uuid.Nil},
		{"GET", "/api/v1/mailings" + o, "mailings", 200, 200, ml},
		{"GET", "/api/v1/mailings/" + ml.String() + "/attempts", "mailings", 200, 404, uuid.Nil},
		{"GET", "/api/v1/mailings/" + ml.String() + "/history", "mailings", 200, 404, uuid.Nil},
		{"POST", "/api/v1/mailings/" + ml.String() + "/disable", "mailings", 403, 404, uuid.Nil},
		{"POST", "/api/v1/mailings/" + ml.String() + "/dispatch", "mailings", 403, 404, uuid.Nil},
		{"GET", "/api/v1/users/" + owner.ID.String(), "users", 200, 404, uuid.Nil},
		{"GET", "/api/v1/users", "users", 200, 403, owner.ID},
		{"GET", "/api/v1/reports/mailings" + o, "reports", 200, 200, ml},
	}
	for _, r := range rows {
		for perm, c := range callers {
			who := "staff with " + perm + ".view_all"
			if perm == "" {
				who = "staff with no view_all"
			}
			status := r.unseen
			if perm == r.kind {
				status = r.seen
			}
			var body any
			if r.method == "PATCH" {
				body = map[string]any{"comment": "c"}
			}
			res := env.Do(r.method, r.path, body, c.auth("X-Min-Position", pos)...)
			if res.Status != status {
				t.Errorf("%s %s as %s: %d, want %d: %s", r.method, r.path, who, res.Status, status, res.Body)
				continue
			}
			if r.lists != uuid.Nil {
				if listed := strings.Contains(string(res.Body), r.lists.String()); listed != (perm == r.kind) {
					t.Errorf("%s %s as %s lists the owner's %s: %v", r.method, r.path, who, r.kind, listed)
				}
			}
		}
	}
}
