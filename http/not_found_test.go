package http_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// Someone else's resource and a resource that does not exist answer the
// same, byte for byte apart from the request id, on every route that names
// one, whatever else the request holds: no answer tells an id exists.
func TestNotYoursIsNotThere(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	owner, stranger := newUser(t, env), newUser(t, env)
	msg, _ := create(t, env, owner, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
	client, _ := create(t, env, owner, "/api/v1/clients", map[string]any{"email": testenv.Name("c") + "@example.org", "full_name": "C"})
	mailing, res := create(t, env, owner, "/api/v1/mailings", mailingBody(msg, client))
	// The owner sees all three, so the read models hold them.
	for _, p := range []string{"/api/v1/messages/", "/api/v1/clients/", "/api/v1/mailings/"} {
		id := map[string]uuid.UUID{"/api/v1/messages/": msg, "/api/v1/clients/": client, "/api/v1/mailings/": mailing}[p]
		want(t, "owner reads "+p, env.Do("GET", p+id.String(), nil, owner.auth("X-Min-Position", position(t, res))...), 200)
	}
	ids := map[string]uuid.UUID{"client": client, "message": msg, "mailing": mailing, "user": owner.ID}
	type probe struct {
		method, path, kind string
		body               any
	}
	probes := []probe{
		{"GET", "/api/v1/clients/%s", "client", nil},
		{"PUT", "/api/v1/clients/%s", "client", map[string]any{"email": "x@example.org", "full_name": "X"}},
		{"PATCH", "/api/v1/clients/%s", "client", map[string]any{"comment": "c"}},
		{"DELETE", "/api/v1/clients/%s", "client", nil},
		{"POST", "/api/v1/clients/%s/unsuppress", "client", nil},
		{"GET", "/api/v1/messages/%s", "message", nil},
		{"PUT", "/api/v1/messages/%s", "message", map[string]any{"subject": "S", "body": "B"}},
		{"PATCH", "/api/v1/messages/%s", "message", map[string]any{"subject": "S2"}},
		{"DELETE", "/api/v1/messages/%s", "message", nil},
		{"POST", "/api/v1/messages/%s/preview", "message", map[string]any{"client_id": client}},
		{"GET", "/api/v1/mailings/%s", "mailing", nil},
		{"PATCH", "/api/v1/mailings/%s", "mailing", map[string]any{"periodicity": "daily"}},
		{"DELETE", "/api/v1/mailings/%s", "mailing", nil},
		{"POST", "/api/v1/mailings/%s/disable", "mailing", nil},
		{"POST", "/api/v1/mailings/%s/enable", "mailing", nil},
		{"POST", "/api/v1/mailings/%s/dispatch", "mailing", nil},
		{"GET", "/api/v1/mailings/%s/attempts", "mailing", nil},
		{"GET", "/api/v1/mailings/%s/history", "mailing", nil},
		{"GET", "/api/v1/mailings/%s/history?deliveries=true&cursor=abc", "mailing", nil},
		{"GET", "/api/v1/mailings/%s/history?at=2026-01-01T00:00:00Z", "mailing", nil},
		{"GET", "/api/v1/users/%s", "user", nil},
	}
	answer := func(res *apptest.Response) string {
		var doc map[string]any
		if err := json.Unmarshal(res.Body, &doc); err == nil {
			delete(doc, "request_id")
		}
		body, _ := json.Marshal(doc)
		return fmt.Sprintf("%d %s|%s|%s|%s\n%s", res.Status, res.Header.Get("Content-Type"),
			res.Header.Get("Cache-Control"), res.Header.Get("ETag"), res.Header.Get("X-Event-Position"), body)
	}
	for _, p := range probes {
		others := env.Do(p.method, fmt.Sprintf(p.path, ids[p.kind]), p.body, stranger.auth()...)
		missing := env.Do(p.method, fmt.Sprintf(p.path, uuid.New()), p.body, stranger.auth()...)
		if a, b := answer(others), answer(missing); a != b {
			t.Errorf("%s %s: someone else's answers\n%s\nbut a missing one\n%s", p.method, p.path, a, b)
		} else if others.Status != 404 {
			t.Errorf("%s %s: %s", p.method, p.path, a)
		}
	}
}
