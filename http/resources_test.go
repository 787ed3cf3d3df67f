package http_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

type clientJSON struct {
	ID        uuid.UUID `json:"id"`
	OwnerID   uuid.UUID `json:"owner_id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Comment   string    `json:"comment"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type mailingJSON struct {
	ID          uuid.UUID   `json:"id"`
	OwnerID     uuid.UUID   `json:"owner_id"`
	MessageID   uuid.UUID   `json:"message_id"`
	ClientIDs   []uuid.UUID `json:"client_ids"`
	AllClients  bool        `json:"all_clients"`
	StartAt     time.Time   `json:"start_at"`
	EndAt       time.Time   `json:"end_at"`
	Periodicity string      `json:"periodicity"`
	Timezone    string      `json:"timezone"`
	Status      string      `json:"status"`
	IsActive    bool        `json:"is_active"`
	NextRunAt   *time.Time  `json:"next_run_at"`
	LastRunAt   *time.Time  `json:"last_run_at"`
	Version     int64       `json:"version"`
}

type pageJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// The scheduler and sender stay off: these tests are about the resources,
// and a mailing starting on its own would move versions under them.
func startResources(t *testing.T) *apptest.Env {
	return apptest.Start(t, apptest.WithRoles("projector"))
}

func TestClientFullLife(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	a := newUser(t, env)

	// Validation names the fields.
	res := env.Do("POST", "/api/v1/clients", map[string]any{"email": "nope", "full_name": strings.Repeat("x", 256)}, a.auth()...)
	want(t, "invalid client", res, 422, "validation_failed")
	if f := fieldsNamed(t, res); !slices.Contains(f, "email") || !slices.Contains(f, "full_name") {
		t.Fatalf("fields named: %v", f)
	}
	want(t, "unknown field", env.Do("POST", "/api/v1/clients", `{"email":"a@b.io","full_name":"A","owner":"x"}`, a.auth()...), 400, "malformed_json")

	id, res := create(t, env, a, "/api/v1/clients", map[string]any{"email": "Ann@Example.org", "full_name": "Ann Lee", "comment": "vip"})
	pos := position(t, res)
	var c clientJSON
	res.Decode(t, &c)
	if c.OwnerID != a.ID || c.Email != "Ann@Example.org" || c.Version != 1 || c.CreatedAt.IsZero() || res.Header.Get("ETag") != `"1"` {
		t.Fatalf("created %+v (ETag %s)", c, res.Header.Get("ETag"))
	}
	// Read-your-writes: with X-Min-Position the new client is there at once.
	res = env.Do("GET", "/api/v1/clients/"+id.String(), nil, a.auth("X-Min-Position", pos)...)
	want(t, "get with X-Min-Position", res, 200)
	var got clientJSON
	res.Decode(t, &got)
	if got.ID != id || got.FullName != "Ann Lee" || got.Comment != "vip" || got.Version != 1 {
		t.Fatalf("read %+v", got)
	}
	// The same email in another case is taken for this owner.
	want(t, "duplicate email", env.Do("POST", "/api/v1/clients", map[string]any{"email": "ann@example.ORG", "full_name": "Twin"}, a.auth()...), 409, "email_taken")

	id2, res := create(t, env, a, "/api/v1/clients", map[string]any{"email": "zed@example.org", "full_name": "Zed"})
	pos = position(t, res)
	res = env.Do("GET", "/api/v1/clients?limit=1", nil, a.auth("X-Min-Position", pos)...)
	want(t, "list page 1", res, 200)
	var p1 pageJSON[clientJSON]
	res.Decode(t, &p1)
	if len(p1.Items) != 1 || p1.Items[0].ID != id || p1.NextCursor == nil {
		t.Fatalf("page 1: %+v", p1)
	}
	res = env.Do("GET", "/api/v1/clients?limit=1&cursor="+*p1.NextCursor, nil, a.auth()...)
	var p2 pageJSON[clientJSON]
	res.Decode(t, &p2)
	if len(p2.Items) != 1 || p2.Items[0].ID != id2 || p2.NextCursor != nil {
		t.Fatalf("page 2: %+v", p2)
	}
	want(t, "bad cursor", env.Do("GET", "/api/v1/clients?cursor=zzz", nil, a.auth()...), 422, "validation_failed")
	want(t, "bad limit", env.Do("GET", "/api/v1/clients?limit=501", nil, a.auth()...), 422, "validation_failed")
	res = env.Do("GET", "/api/v1/clients?q=LEE", nil, a.auth()...)
	var found pageJSON[clientJSON]
	res.Decode(t, &found)
	if len(found.Items) != 1 || found.Items[0].ID != id {
		t.Fatalf("q=LEE: %+v", found)
	}

	// PUT replaces (the comment not sent becomes empty), PATCH changes what it sends.
	res = env.Do("PUT", "/api/v1/clients/"+id.String(), map[string]any{"email": "ann@example.org", "full_name": "Ann B. Lee"}, a.auth("If-Match", `"1"`)...)
	want(t, "put", res, 200)
	res.Decode(t, &got)
	if got.Version != 2 || got.Comment != "" || got.FullName != "Ann B. Lee" || res.Header.Get("ETag") != `"2"` {
		t.Fatalf("after put %+v", got)
	}
	position(t, res)
	want(t, "stale If-Match", env.Do("PATCH", "/api/v1/clients/"+id.String(), map[string]any{"comment": "x"}, a.auth("If-Match", `"1"`)...), 409, "conflict")
	res = env.Do("PATCH", "/api/v1/clients/"+id.String(), map[string]any{"comment": "back"}, a.auth("If-Match", `"2"`)...)
	want(t, "patch", res, 200)
	res.Decode(t, &got)
	if got.Version != 3 || got.Comment != "back" || got.FullName != "Ann B. Lee" {
		t.Fatalf("after patch %+v", got)
	}
	want(t, "patch onto a taken email", env.Do("PATCH", "/api/v1/clients/"+id2.String(), map[string]any{"email": "ANN@example.org"}, a.auth()...), 409, "email_taken")
	want(t, "patch invalid", env.Do("PATCH", "/api/v1/clients/"+id2.String(), map[string]any{"full_name": ""}, a.auth()...), 422, "validation_failed")

	res = env.Do("DELETE", "/api/v1/clients/"+id.String(), nil, a.auth("If-Match", `"3"`)...)
	want(t, "delete", res, 204)
	pos = position(t, res)
	want(t, "get deleted", env.Do("GET", "/api/v1/clients/"+id.String(), nil, a.auth("X-Min-Position", pos)...), 404, "not_found")
	want(t, "delete again", env.Do("DELETE", "/api/v1/clients/"+id.String(), nil, a.auth()...), 404, "not_found")
	want(t, "not a uuid", env.Do("GET", "/api/v1/clients/xyz", nil, a.auth()...), 404, "not_found")
	// The email is free again.
	create(t, env, a, "/api/v1/clients", map[string]any{"email": "ann@example.org", "full_name": "Ann again"})
}

func TestMessageAndMailingFullLife(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	a := newUser(t, env)

	want(t, "invalid message", env.Do("POST", "/api/v1/messages", map[string]any{"subject": "", "body": ""}, a.auth()...), 422, "validation_failed")
	msgID, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Hello", "body": "Dear client, …"})
	res := env.Do("PATCH", "/api/v1/messages/"+msgID.String(), map[string]any{"subject": "Hello again"}, a.auth("If-Match", `"1"`)...)
	want(t, "patch message", res, 200)
	res = env.Do("GET", "/api/v1/messages/"+msgID.String(), nil, a.auth("X-Min-Position", position(t, res))...)
	want(t, "get message", res, 200)
	var msg struct {
		Subject string `json:"subject"`
		Body    string `json:"body"`
		Version int64  `json:"version"`
	}
	res.Decode(t, &msg)
	if msg.Subject != "Hello again" || msg.Body != "Dear client, …" || msg.Version != 2 {
		t.Fatalf("message %+v", msg)
	}
	c1, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "c1@example.org", "full_name": "C1"})
	c2, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "c2@example.org", "full_name": "C2"})

	// Mailing validation: every rule names its field.
	bad := mailingBody(msgID, c1)
	bad["end_at"] = bad["start_at"]
	bad["periodicity"] = "hourly"
	bad["timezone"] = "Mars/Base"
	res = env.Do("POST", "/api/v1/mailings", bad, a.auth()...)
	want(t, "invalid mailing", res, 422, "validation_failed")
	if f := fieldsNamed(t, res); !slices.Contains(f, "end_at") || !slices.Contains(f, "periodicity") || !slices.Contains(f, "timezone") {
		t.Fatalf("fields named: %v", f)
	}
	bad = mailingBody(msgID, c1)
	bad["start_at"] = "tomorrow"
	bad["client_ids"] = []string{"not-a-uuid"}
	res = env.Do("POST", "/api/v1/mailings", bad, a.auth()...)
	want(t, "unparsable mailing", res, 422, "validation_failed")
	if f := fieldsNamed(t, res); !slices.Contains(f, "start_at") || !slices.Contains(f, "client_ids") {
		t.Fatalf("fields named: %v", f)
	}
	ghost := uuid.New()
	res = env.Do("POST", "/api/v1/mailings", mailingBody(uuid.New(), c1, ghost), a.auth()...)
	want(t, "unknown refs", res, 422, "validation_failed")
	if f := fieldsNamed(t, res); !slices.Equal(f, []string{"message_id", "client_ids"}) || !strings.Contains(string(res.Body), ghost.String()) {
		t.Fatalf("refs named: %v %s", f, res.Body)
	}

	mid, res := create(t, env, a, "/api/v1/mailings", mailingBody(msgID, c1, c2))
	var m mailingJSON
	res.Decode(t, &m)
	if m.Status != "created" || !m.IsActive || m.Timezone != "Europe/Paris" || len(m.ClientIDs) != 2 || m.Version != 1 || m.OwnerID != a.ID {
		t.Fatalf("created mailing %+v", m)
	}
	pos := position(t, res)
	res = env.Do("GET", "/api/v1/mailings?status=created&is_active=true", nil, a.auth("X-Min-Position", pos)...)
	var list pageJSON[mailingJSON]
	res.Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != mid {
		t.Fatalf("list %+v", list)
	}
	res = env.Do("GET", "/api/v1/mailings?status=started", nil, a.auth()...)
	res.Decode(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("status=started listed %d", len(list.Items))
	}
	want(t, "bad status filter", env.Do("GET", "/api/v1/mailings?status=zzz", nil, a.auth()...), 422, "validation_failed")

	// Toggle by the owner; the answer is the mailing.
	res = env.Do("POST", "/api/v1/mailings/"+mid.String()+"/disable", nil, a.auth("If-Match", `"1"`)...)
	want(t, "disable", res, 200)
	res.Decode(t, &m)
	if m.IsActive || m.Version != 2 {
		t.Fatalf("disabled %+v", m)
	}
	want(t, "stale enable", env.Do("POST", "/api/v1/mailings/"+mid.String()+"/enable", nil, a.auth("If-Match", `"1"`)...), 409, "conflict")
	res = env.Do("POST", "/api/v1/mailings/"+mid.String()+"/enable", nil, a.auth()...)
	want(t, "enable", res, 200)
	res.Decode(t, &m)
	if !m.IsActive || m.Version != 3 {
		t.Fatalf("enabled %+v", m)
	}
	res = env.Do("PATCH", "/api/v1/mailings/"+mid.String(), map[string]any{"periodicity": "monthly", "timezone": "UTC"}, a.auth("If-Match", `"3"`)...)
	want(t, "patch mailing", res, 200)
	res.Decode(t, &m)
	if m.Periodicity != "monthly" || m.Timezone != "UTC" || m.Version != 4 || len(m.ClientIDs) != 2 {
		t.Fatalf("patched %+v", m)
	}
	res = env.Do("PUT", "/api/v1/mailings/"+mid.String(), map[string]any{"periodicity": "daily"}, a.auth()...)
	want(t, "put without required fields", res, 422, "validation_failed")
	if f := fieldsNamed(t, res); !slices.Contains(f, "message_id") || !slices.Contains(f, "start_at") {
		t.Fatalf("PUT names %v", f)
	}

	// The message is in use: 409. Deleting a listed client takes it off the mailing.
	want(t, "delete used message", env.Do("DELETE", "/api/v1/messages/"+msgID.String(), nil, a.auth()...), 409, "conflict")
	res = env.Do("DELETE", "/api/v1/clients/"+c2.String(), nil, a.auth()...)
	want(t, "delete listed client", res, 204)
	want(t, "get deleted client", env.Do("GET", "/api/v1/clients/"+c2.String(), nil, a.auth("X-Min-Position", position(t, res))...), 404, "not_found")
	// X-Event-Position names the client's event; the mailing's own event of
	// the same commit travels on the mailing topic, so wait for it.
	testenv.Eventually(t, 30*time.Second, "the mailing to drop the deleted client", func() bool {
		env.Do("GET", "/api/v1/mailings/"+mid.String(), nil, a.auth()...).Decode(t, &m)
		return m.Version == 5
	})
	if !slices.Equal(m.ClientIDs, []uuid.UUID{c1}) || m.Version != 5 {
		t.Fatalf("after client deletion %+v", m)
	}
	res = env.Do("GET", "/api/v1/mailings/"+mid.String()+"/history", nil, a.auth()...)
	if res.Status == 200 && !strings.Contains(string(res.Body), "mailing.client_removed") {
		t.Fatalf("history lacks the removal: %s", res.Body)
	}

	res = env.Do("DELETE", "/api/v1/mailings/"+mid.String(), nil, a.auth("If-Match", `"5"`)...)
	want(t, "delete mailing", res, 204)
	want(t, "get deleted mailing", env.Do("GET", "/api/v1/mailings/"+mid.String(), nil, a.auth("X-Min-Position", position(t, res))...), 404, "not_found")
	want(t, "toggle deleted mailing", env.Do("POST", "/api/v1/mailings/"+mid.String()+"/enable", nil, a.auth()...), 404, "not_found")
	res = env.Do("DELETE", "/api/v1/messages/"+msgID.String(), nil, a.auth()...)
	want(t, "delete unused message", res, 204)
	position(t, res)
}

func TestUsersNeverSeeEachOthersData(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	a, b := newUser(t, env), newUser(t, env)
	cid, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "secret@example.org", "full_name": "Secret"})
	msgID, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
	mid, res := create(t, env, a, "/api/v1/mailings", mailingBody(msgID, cid))
	pos := position(t, res)

	for _, path := range []string{"/api/v1/clients/" + cid.String(), "/api/v1/messages/" + msgID.String(), "/api/v1/mailings/" + mid.String()} {
		want(t, "B GET "+path, env.Do("GET", path, nil, b.auth("X-Min-Position", pos)...), 404, "not_found")
		want(t, "B PATCH "+path, env.Do("PATCH", path, map[string]any{}, b.auth()...), 404, "not_found")
		want(t, "B DELETE "+path, env.Do("DELETE", path, nil, b.auth()...), 404, "not_found")
	}
	want(t, "B PUT client", env.Do("PUT", "/api/v1/clients/"+cid.String(), map[string]any{"email": "x@example.org", "full_name": "X"}, b.auth()...), 404, "not_found")
	want(t, "B enables", env.Do("POST", "/api/v1/mailings/"+mid.String()+"/disable", nil, b.auth()...), 404, "not_found")
	// A's ids in B's mailing are unknown to B, exactly like made-up ones.
	bMsg, _ := create(t, env, b, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
	res = env.Do("POST", "/api/v1/mailings", mailingBody(msgID, cid), b.auth()...)
	want(t, "B uses A's refs", res, 422, "validation_failed")
	res = env.Do("POST", "/api/v1/mailings", mailingBody(bMsg, cid), b.auth()...)
	if f := fieldsNamed(t, res); !slices.Equal(f, []string{"client_ids"}) {
		t.Fatalf("B with A's client: %v", f)
	}
	// B's lists are empty, even asking for A's by owner_id; the same email is free for B.
	for _, path := range []string{"/api/v1/clients", "/api/v1/messages?owner_id=" + a.ID.String(), "/api/v1/mailings", "/api/v1/clients?q=secret"} {
		res := env.Do("GET", path, nil, b.auth("X-Min-Position", pos)...)
		want(t, "B lists "+path, res, 200)
		var p pageJSON[map[string]any]
		res.Decode(t, &p)
		for _, it := range p.Items {
			if it["owner_id"] != b.ID.String() {
				t.Fatalf("B sees %v at %s", it, path)
			}
		}
	}
	create(t, env, b, "/api/v1/clients", map[string]any{"email": "secret@example.org", "full_name": "B's own"})
	// Nothing of A's changed.
	res = env.Do("GET", "/api/v1/mailings/"+mid.String(), nil, a.auth()...)
	var m mailingJSON
	res.Decode(t, &m)
	if m.Version != 1 || !m.IsActive {
		t.Fatalf("A's mailing moved: %+v", m)
	}
	want(t, "anonymous list", env.Do("GET", "/api/v1/clients", nil), 401, "unauthenticated")
}

func TestStaffReadAllChangeNothingAndToggle(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	a, b := newUser(t, env), newUser(t, env)
	staff := newUser(t, env, "managers")
	toggler := newUser(t, env, "togglers")

	ca, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "a@example.org", "full_name": "A"})
	_, res := create(t, env, b, "/api/v1/clients", map[string]any{"email": "b@example.org", "full_name": "B"})
	pos := position(t, res)
	msgID, res := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
	msgPos := position(t, res)
	mid, res := create(t, env, a, "/api/v1/mailings", mailingBody(msgID, ca))
	mailingPos := position(t, res)

	res = env.Do("GET", "/api/v1/clients", nil, staff.auth("X-Min-Position", pos)...)
	var all pageJSON[clientJSON]
	res.Decode(t, &all)
	if len(all.Items) != 2 {
		t.Fatalf("staff lists %d clients", len(all.Items))
	}
	res = env.Do("GET", "/api/v1/clients?owner_id="+b.ID.String(), nil, staff.auth()...)
	res.Decode(t, &all)
	if len(all.Items) != 1 || all.Items[0].OwnerID != b.ID {
		t.Fatalf("staff ?owner_id=b: %+v %s", all.Items, res.Body)
	}
	want(t, "bad owner_id", env.Do("GET", "/api/v1/clients?owner_id=x", nil, staff.auth()...), 422, "validation_failed")
	for path, pos := range map[string]string{"/api/v1/clients/" + ca.String(): pos, "/api/v1/messages/" + msgID.String(): msgPos, "/api/v1/mailings/" + mid.String(): mailingPos} {
		want(t, "staff GET "+path, env.Do("GET", path, nil, staff.auth("X-Min-Position", pos)...), 200)
		want(t, "staff PATCH "+path, env.Do("PATCH", path, map[string]any{}, staff.auth()...), 403, "forbidden")
		want(t, "staff DELETE "+path, env.Do("DELETE", path, nil, staff.auth()...), 403, "forbidden")
	}
	// managers hold mailings.toggle; so does the non-staff toggler, who still cannot read it.
	res = env.Do("POST", "/api/v1/mailings/"+mid.String()+"/disable", nil, staff.auth()...)
	want(t, "manager disables", res, 200)
	res = env.Do("POST", "/api/v1/mailings/"+mid.String()+"/enable", nil, toggler.auth()...)
	want(t, "toggler enables", res, 200)
	want(t, "toggler reads", env.Do("GET", "/api/v1/mailings/"+mid.String(), nil, toggler.auth()...), 404, "not_found")
	want(t, "toggler edits", env.Do("PATCH", "/api/v1/mailings/"+mid.String(), map[string]any{"timezone": "UTC"}, toggler.auth()...), 404, "not_found")
	want(t, "plain user toggles", env.Do("POST", "/api/v1/mailings/"+mid.String()+"/disable", nil, b.auth()...), 404, "not_found")

	// Every change is attributed to its actor in the event metadata.
	var actors []uuid.UUID
	rows, err := env.Pool.Query(t.Context(), `SELECT (metadata->>'actor_id')::uuid FROM events WHERE stream_id = $1 ORDER BY version`, mid)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		actors = append(actors, id)
	}
	if !slices.Equal(actors, []uuid.UUID{a.ID, staff.ID, toggler.ID}) {
		t.Fatalf("actors %v, want owner, manager, toggler", actors)
	}
}

func TestPublicStatsAndHomePage(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	a, b := newUser(t, env), newUser(t, env)
	ca, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "same@example.org", "full_name": "A"})
	create(t, env, b, "/api/v1/clients", map[string]any{"email": "SAME@example.org", "full_name": "B"})
	_, res := create(t, env, b, "/api/v1/clients", map[string]any{"email": "other@example.org", "full_name": "B2"})
	msgID, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
	clientPos := position(t, res)
	_, res = create(t, env, a, "/api/v1/mailings", mailingBody(msgID, ca))

	// The stats projector reads two topics; wait for the last event of each
	// (as a signed-in caller: an anonymous one's X-Min-Position is ignored).
	want(t, "stats", env.Do("GET", "/api/v1/stats", nil, a.auth("X-Min-Position", clientPos)...), 200)
	res = env.Do("GET", "/api/v1/stats", nil, a.auth("X-Min-Position", position(t, res))...)
	want(t, "stats", res, 200)
	var s struct {
		MailingsTotal  int64 `json:"mailings_total"`
		MailingsActive int64 `json:"mailings_active"`
		ClientsUnique  int64 `json:"clients_unique"`
	}
	res.Decode(t, &s)
	if s.MailingsTotal != 1 || s.MailingsActive != 0 || s.ClientsUnique != 2 {
		t.Fatalf("stats %+v", s)
	}
	res = env.Do("GET", "/", nil)
	want(t, "home", res, 200)
	body := string(res.Body)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "unique recipients") ||
		!strings.Contains(body, "Sign in") || !strings.Contains(body, "Register") {
		t.Fatalf("home page: %s", body)
	}
	if !strings.Contains(body, `<strong>2</strong>unique recipients`) {
		t.Fatalf("home page figures: %s", body)
	}
}
