package http_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// allClientsBody is a mailing body that sends to every client.
func allClientsBody(messageID uuid.UUID) map[string]any {
	b := mailingBody(messageID)
	delete(b, "client_ids")
	b["all_clients"] = true
	return b
}

// runClients waits until the run has a final attempt for n clients and
// returns them, sorted.
func runClients(t *testing.T, env *apptest.Env, u rUser, mailing, run uuid.UUID, pos string, n int) []uuid.UUID {
	t.Helper()
	var got []uuid.UUID
	testenv.Eventually(t, 30*time.Second, "the run's attempts", func() bool {
		res := env.Do("GET", "/api/v1/mailings/"+mailing.String()+"/attempts?limit=200", nil, u.auth("X-Min-Position", pos)...)
		want(t, "attempts", res, 200)
		var page pageJSON[attemptJSON]
		res.Decode(t, &page)
		got = got[:0]
		for _, a := range page.Items {
			if a.RunID == run && a.Final {
				got = append(got, a.ClientID)
			}
		}
		return len(got) >= n
	})
	slices.SortFunc(got, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return got
}

func sortedIDs(ids ...uuid.UUID) []uuid.UUID {
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

// A mailing to all of its owner's clients: exactly one of client_ids and
// all_clients, switching between them, the answer and the history showing
// it, and each run mailing the clients the owner has when it starts.
func TestAllClientsMailingThroughTheAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := newUser(t, env), newUser(t, env)
	c1, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "all1@example.org", "full_name": "One"})
	c2, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "all2@example.org", "full_name": "Two"})
	create(t, env, b, "/api/v1/clients", map[string]any{"email": "other@example.org", "full_name": "Not a's"})
	msg, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Everyone", "body": "Hi"})

	// Both, or neither: 422 naming the field.
	both := allClientsBody(msg)
	both["client_ids"] = []uuid.UUID{c1}
	res := env.Do("POST", "/api/v1/mailings", both, a.auth()...)
	want(t, "both", res, 422, "validation_failed")
	if f := fieldsNamed(t, res); !slices.Equal(f, []string{"all_clients"}) {
		t.Fatalf("both names %v: %s", f, res.Body)
	}
	neither := allClientsBody(msg)
	delete(neither, "all_clients")
	res = env.Do("POST", "/api/v1/mailings", neither, a.auth()...)
	want(t, "neither", res, 422, "validation_failed")
	if f := fieldsNamed(t, res); !slices.Equal(f, []string{"client_ids"}) {
		t.Fatalf("neither names %v: %s", f, res.Body)
	}
	neither["all_clients"] = false
	want(t, "all_clients false without client_ids", env.Do("POST", "/api/v1/mailings", neither, a.auth()...), 422, "validation_failed")

	m, res := create(t, env, a, "/api/v1/mailings", allClientsBody(msg))
	path := "/api/v1/mailings/" + m.String()
	var got mailingJSON
	res.Decode(t, &got)
	if !got.AllClients || len(got.ClientIDs) != 0 {
		t.Fatalf("created %s", res.Body)
	}
	res = env.Do("GET", path, nil, a.auth("X-Min-Position", position(t, res))...)
	want(t, "get", res, 200)
	res.Decode(t, &got)
	if !got.AllClients || len(got.ClientIDs) != 0 {
		t.Fatalf("read %s", res.Body)
	}

	// Naming clients switches to them; all_clients true switches back.
	res = env.Do("PATCH", path, map[string]any{"client_ids": []uuid.UUID{c1}}, a.auth()...)
	want(t, "patch to chosen clients", res, 200)
	res.Decode(t, &got)
	if got.AllClients || !slices.Equal(got.ClientIDs, []uuid.UUID{c1}) {
		t.Fatalf("patched to clients %s", res.Body)
	}
	want(t, "patch both", env.Do("PATCH", path, map[string]any{"client_ids": []uuid.UUID{c1}, "all_clients": true}, a.auth()...), 422, "validation_failed")
	want(t, "patch all_clients false alone", env.Do("PATCH", path, map[string]any{"all_clients": false}, a.auth()...), 200)
	res = env.Do("PATCH", path, map[string]any{"all_clients": true}, a.auth()...)
	want(t, "patch to all clients", res, 200)
	res.Decode(t, &got)
	if !got.AllClients || len(got.ClientIDs) != 0 {
		t.Fatalf("patched to all %s", res.Body)
	}
	res = env.Do("PUT", path, allClientsBody(msg), a.auth()...)
	want(t, "put all clients", res, 200)

	// The first run mails a's two clients; a client added after it ends
	// is mailed by the next run.
	res = env.Do("POST", path+"/dispatch", nil, a.auth()...)
	want(t, "dispatch", res, 202)
	var acc struct {
		RunID uuid.UUID `json:"run_id"`
	}
	res.Decode(t, &acc)
	if got := runClients(t, env, a, m, acc.RunID, position(t, res), 2); !slices.Equal(got, sortedIDs(c1, c2)) {
		t.Fatalf("first run mailed %v", got)
	}
	h, hres := historyOnceRunFinished(t, env, a, m, "")
	if h.Runs[0].Sent != 2 {
		t.Fatalf("first run %s", hres.Body)
	}
	c3, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "all3@example.org", "full_name": "Three"})
	res = env.Do("POST", path+"/dispatch", nil, a.auth()...)
	want(t, "dispatch again", res, 202)
	var again struct {
		RunID uuid.UUID `json:"run_id"`
	}
	res.Decode(t, &again)
	if got := runClients(t, env, a, m, again.RunID, position(t, res), 3); !slices.Equal(got, sortedIDs(c1, c2, c3)) {
		t.Fatalf("second run mailed %v", got)
	}

	// The history shows the setting and what each run's start fixed.
	h, hres = getHistory(t, env, a, m, "?at="+time.Now().UTC().Format(time.RFC3339Nano))
	want(t, "history", hres, 200)
	var state struct {
		State struct {
			AllClients bool `json:"all_clients"`
		} `json:"state"`
	}
	hres.Decode(t, &state)
	if !state.State.AllClients {
		t.Fatalf("history state %s", hres.Body)
	}
	var created struct {
		AllClients bool `json:"all_clients"`
	}
	if len(h.Events) == 0 || h.Events[0].Type != "mailing.created" || json.Unmarshal(h.Events[0].Data, &created) != nil || !created.AllClients {
		t.Fatalf("history events %s", hres.Body)
	}
}
