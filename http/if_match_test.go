package http_test

import (
	"testing"

	"github.com/heraldmail/herald/internal/apptest"
)

// Every endpoint that takes If-Match reads it the same way: a malformed one
// answers 400 malformed_header and changes nothing, a stale one answers 409
// conflict.
func TestEveryIfMatchEndpointAgrees(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles("projector"))
	idGroups(t, env)
	owner := newUser(t, env)
	root := idSuperuser(t, env)
	someone := idVerified(t, env)

	clientID, _ := create(t, env, owner, "/api/v1/clients", map[string]any{"email": "if-match@example.org", "full_name": "If Match"})
	messageID, _ := create(t, env, owner, "/api/v1/messages", map[string]any{"subject": "If-Match", "body": "Hi"})
	mailingID, _ := create(t, env, owner, "/api/v1/mailings", mailingBody(messageID, clientID))
	client, message, mailing := "/api/v1/clients/"+clientID.String(), "/api/v1/messages/"+messageID.String(), "/api/v1/mailings/"+mailingID.String()
	user := "/api/v1/users/" + someone.ID.String()

	for _, c := range []struct {
		method, path string
		body         any
		auth         []string
	}{
		{"PUT", client, map[string]any{"email": "if-match@example.org", "full_name": "Changed"}, owner.auth()},
		{"PATCH", client, map[string]any{"comment": "changed"}, owner.auth()},
		{"DELETE", client, nil, owner.auth()},
		{"PUT", message, map[string]any{"subject": "Changed", "body": "Changed"}, owner.auth()},
		{"PATCH", message, map[string]any{"subject": "Changed"}, owner.auth()},
		{"DELETE", message, nil, owner.auth()},
		{"PUT", mailing, mailingBody(messageID, clientID), owner.auth()},
		{"PATCH", mailing, map[string]any{"periodicity": "daily"}, owner.auth()},
		{"POST", mailing + "/disable", nil, owner.auth()},
		{"POST", mailing + "/enable", nil, owner.auth()},
		{"DELETE", mailing, nil, owner.auth()},
		{"POST", user + "/block", nil, root.bearer()},
		{"POST", user + "/activate", nil, root.bearer()},
		{"PUT", user + "/groups", map[string]any{"groups": []string{"users", "managers"}}, root.bearer()},
	} {
		what := c.method + " " + c.path
		for _, malformed := range []string{`"three"`, `"-1"`, `"1", "2"`} {
			res := env.Do(c.method, c.path, c.body, append(c.auth, "If-Match", malformed)...)
			want(t, what+" with If-Match "+malformed, res, 400, "malformed_header")
			if res.Header.Get("X-Event-Position") != "" {
				t.Fatalf("%s: a refused command answered X-Event-Position", what)
			}
		}
		want(t, what+" with a stale If-Match", env.Do(c.method, c.path, c.body, append(c.auth, "If-Match", `"999"`)...), 409, "conflict")
	}
}
