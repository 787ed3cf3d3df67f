package http_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
)

type attemptJSON struct {
	ID             uuid.UUID `json:"id"`
	MailingID      uuid.UUID `json:"mailing_id"`
	RunID          uuid.UUID `json:"run_id"`
	ClientID       uuid.UUID `json:"client_id"`
	Email          string    `json:"email"`
	AttemptedAt    time.Time `json:"attempted_at"`
	Status         string    `json:"status"`
	ServerResponse string    `json:"server_response"`
}

// The whole application (API, projectors, scheduler, sender) against real
// PostgreSQL, Redis and the SMTP sink.
func TestDispatchAndAttemptsThroughTheAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b, staff := newUser(t, env), newUser(t, env), newUser(t, env, "managers")
	c1, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "one@example.org", "full_name": "One"})
	c2, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "two@example.org", "full_name": "Two"})
	msg, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Hello", "body": "Hi there"})
	// Starts tomorrow: nothing is sent until someone dispatches it.
	m, created := create(t, env, a, "/api/v1/mailings", mailingBody(msg, c1, c2))
	path := "/api/v1/mailings/" + m.String()

	want(t, "another user dispatches", env.Do("POST", path+"/dispatch", nil, b.auth()...), 404, "not_found")
	// The mailings read model must show the mailing for staff to be told 403.
	want(t, "read your write", env.Do("GET", path, nil, a.auth("X-Min-Position", position(t, created))...), 200)
	want(t, "staff dispatches", env.Do("POST", path+"/dispatch", nil, staff.auth()...), 403, "forbidden")
	want(t, "anonymous dispatches", env.Do("POST", path+"/dispatch", nil), 401, "unauthenticated")
	want(t, "unknown mailing", env.Do("POST", "/api/v1/mailings/"+uuid.NewString()+"/dispatch", nil, a.auth()...), 404, "not_found")

	res := env.Do("POST", path+"/dispatch", nil, a.auth()...)
	want(t, "owner dispatches", res, 202)
	pos := position(t, res)
	var acc struct {
		RunID     uuid.UUID `json:"run_id"`
		MailingID uuid.UUID `json:"mailing_id"`
	}
	res.Decode(t, &acc)
	if acc.RunID == uuid.Nil || acc.MailingID != m {
		t.Fatalf("dispatch answered %s", res.Body)
	}

	var items []attemptJSON
	deadline := time.Now().Add(20 * time.Second)
	for len(items) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("attempts never showed: %d", len(items))
		}
		time.Sleep(50 * time.Millisecond)
		res := env.Do("GET", path+"/attempts", nil, a.auth("X-Min-Position", pos)...)
		want(t, "owner lists attempts", res, 200)
		var page pageJSON[attemptJSON]
		res.Decode(t, &page)
		items = page.Items
	}
	emails := []string{}
	for _, it := range items {
		if it.Status != "success" || !strings.HasPrefix(it.ServerResponse, "250") || it.RunID != acc.RunID || it.MailingID != m || it.AttemptedAt.IsZero() {
			t.Fatalf("attempt %+v", it)
		}
		emails = append(emails, it.Email)
	}
	slices.Sort(emails)
	if !slices.Equal(emails, []string{"one@example.org", "two@example.org"}) {
		t.Fatalf("attempted %v", emails)
	}

	want(t, "another user lists attempts", env.Do("GET", path+"/attempts", nil, b.auth()...), 404, "not_found")
	res = env.Do("GET", path+"/attempts?limit=1", nil, staff.auth()...)
	want(t, "staff lists attempts", res, 200)
	var page pageJSON[attemptJSON]
	res.Decode(t, &page)
	if len(page.Items) != 1 || page.NextCursor == nil {
		t.Fatalf("first page %s", res.Body)
	}
	res = env.Do("GET", path+"/attempts?limit=1&cursor="+*page.NextCursor, nil, staff.auth()...)
	var page2 pageJSON[attemptJSON]
	res.Decode(t, &page2)
	if len(page2.Items) != 1 || page2.NextCursor != nil || page2.Items[0].ID == page.Items[0].ID {
		t.Fatalf("second page %s", res.Body)
	}
	want(t, "bad cursor", env.Do("GET", path+"/attempts?cursor=zzz", nil, a.auth()...), 422, "validation_failed")

	// A disabled mailing is not dispatched.
	want(t, "disable", env.Do("POST", path+"/disable", nil, a.auth()...), 200)
	want(t, "dispatch a disabled mailing", env.Do("POST", path+"/dispatch", nil, a.auth()...), 409, "conflict")
}

// A mailing created inside its window starts sending at once, with no
// dispatch: the saga of `herald serve` does it.
func TestMailingInsideItsWindowSendsAtOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := newUser(t, env)
	c, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "now@example.org", "full_name": "Now"})
	msg, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Right now", "body": "Hi"})
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	m, _ := create(t, env, a, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": []uuid.UUID{c},
		"start_at": start.Format(time.RFC3339), "end_at": start.Add(48 * time.Hour).Format(time.RFC3339), "periodicity": "once"})
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs, err := env.Sink.Messages()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, sm := range msgs {
			if sm.Subject == "Right now" && slices.Contains(sm.Recipients, "now@example.org") {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mailing never sent")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Once done, it completes.
	for {
		res := env.Do("GET", "/api/v1/mailings/"+m.String(), nil, a.auth()...)
		var got struct {
			Status string `json:"status"`
		}
		res.Decode(t, &got)
		if got.Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %q, want completed", got.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
