package http_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

type attemptJSON struct {
	ID             uuid.UUID  `json:"id"`
	MailingID      uuid.UUID  `json:"mailing_id"`
	RunID          uuid.UUID  `json:"run_id"`
	ClientID       uuid.UUID  `json:"client_id"`
	Email          string     `json:"email"`
	AttemptedAt    time.Time  `json:"attempted_at"`
	Status         string     `json:"status"`
	ServerResponse string     `json:"server_response"`
	Attempt        int        `json:"attempt"`
	Final          bool       `json:"final"`
	RetryAt        *time.Time `json:"retry_at"`
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
	testenv.Eventually(t, 30*time.Second, "both attempts", func() bool {
		res := env.Do("GET", path+"/attempts", nil, a.auth("X-Min-Position", pos)...)
		want(t, "owner lists attempts", res, 200)
		var page pageJSON[attemptJSON]
		res.Decode(t, &page)
		items = page.Items
		return len(items) >= 2
	})
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
	testenv.Eventually(t, 30*time.Second, "the mailing's message at the sink", func() bool {
		msgs, err := env.Sink.Messages()
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(msgs, func(sm mail.StoredMessage) bool {
			return sm.Subject == "Right now" && slices.Contains(sm.Recipients, "now@example.org")
		})
	})
	// Once done, it completes.
	testenv.Eventually(t, 30*time.Second, "the mailing to complete", func() bool {
		res := env.Do("GET", "/api/v1/mailings/"+m.String(), nil, a.auth()...)
		var got struct {
			Status string `json:"status"`
		}
		res.Decode(t, &got)
		return got.Status == "completed"
	})
}

// A delivery the receiver defers (450, as a greylisting server answers a
// first-time sender) shows in the attempts as not final with its retry
// time, in the reports and the run's history as deferred, and is delivered
// on the retry schedule; the run and the reports then settle.
func TestDeferredDeliveryThroughTheAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithConfig(func(c *config.Config) {
		c.SendRetrySchedule = []time.Duration{10 * time.Second, time.Hour}
	}))
	env.Sink.SetReply(func(_, to string, attempt int) *mail.Reply {
		if strings.HasPrefix(to, "grey") && attempt == 1 {
			return &mail.Reply{Code: 450, Text: "4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/example.org.html"}
		}
		return nil
	})
	a := newUser(t, env)
	c1, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "fine@example.org", "full_name": "Fine"})
	c2, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "grey@example.org", "full_name": "Grey"})
	msg, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Hello", "body": "Hi there"})
	m, created := create(t, env, a, "/api/v1/mailings", mailingBody(msg, c1, c2))
	path := "/api/v1/mailings/" + m.String()
	res := env.Do("POST", path+"/dispatch", nil, a.auth()...)
	want(t, "dispatch", res, 202)
	pos := position(t, created) // the read models show the mailing from here
	var acc struct {
		RunID uuid.UUID `json:"run_id"`
	}
	res.Decode(t, &acc)

	attempts := func() []attemptJSON {
		res := env.Do("GET", path+"/attempts", nil, a.auth("X-Min-Position", pos)...)
		want(t, "attempts", res, 200)
		var page pageJSON[attemptJSON]
		res.Decode(t, &page)
		return page.Items
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, what, cond)
	}
	// Seen while deferred: the first pass is over (both attempted), the
	// retry 10 s after the grey client's first attempt is not yet made.
	var first []attemptJSON
	eventually("both attempted", func() bool { first = attempts(); return len(first) >= 2 })
	if len(first) != 2 {
		t.Fatalf("attempts %+v, want the first two only", first)
	}
	for _, it := range first {
		switch it.Email {
		case "fine@example.org":
			if it.Status != "success" || !it.Final || it.RetryAt != nil || it.Attempt != 1 {
				t.Fatalf("fine attempt %+v", it)
			}
		case "grey@example.org":
			if it.Status != "failure" || it.Final || it.RetryAt == nil || it.Attempt != 1 ||
				!strings.HasPrefix(it.ServerResponse, "450") || !it.RetryAt.Equal(it.AttemptedAt.Add(10*time.Second)) {
				t.Fatalf("grey attempt %+v, want deferred 10 s after it", it)
			}
		}
	}
	report := func() reportJSON {
		r, ok := reportFor(reportsOf(t, env, a, ""), m)
		if !ok {
			t.Fatal("mailing not in the report")
		}
		return r
	}
	// The reports follow the same events (another projector: it may lag).
	var r reportJSON
	eventually("the report counts both attempts", func() bool { r = report(); return r.AttemptsTotal == 2 })
	if r.Deferred != 1 || r.AttemptsFailure != 1 || r.AttemptsSuccess != 1 {
		t.Fatalf("report while deferred %+v", r)
	}
	res = env.Do("GET", "/api/v1/reports/summary", nil, a.auth()...)
	var s summaryJSON
	res.Decode(t, &s)
	if s.Deferred != 1 || s.AttemptsTotal != 2 {
		t.Fatalf("summary while deferred %+v", s)
	}
	h, _ := getHistory(t, env, a, m, "")
	if len(h.Runs) != 1 || h.Runs[0].Status != "started" || h.Runs[0].Deferred != 1 {
		t.Fatalf("history runs while deferred %+v", h.Runs)
	}

	// The retry delivers it; the run finishes with both sent.
	eventually("the run finished", func() bool {
		h, _ := getHistory(t, env, a, m, "")
		return len(h.Runs) == 1 && h.Runs[0].Status == "finished"
	})
	h, _ = getHistory(t, env, a, m, "")
	if r := h.Runs[0]; r.Sent != 2 || r.Failed != 0 || r.Deferred != 0 {
		t.Fatalf("finished run %+v", r)
	}
	var last attemptJSON
	for _, it := range attempts() {
		if it.Email == "grey@example.org" && it.Attempt == 2 {
			last = it
		}
	}
	if last.Status != "success" || !last.Final || last.RetryAt != nil {
		t.Fatalf("retry %+v", last)
	}
	eventually("the report counts the retry", func() bool { r = report(); return r.AttemptsTotal == 3 })
	if r.Deferred != 0 || r.AttemptsSuccess != 2 {
		t.Fatalf("report after the retry %+v", r)
	}
	// Two RCPTs for the grey client (the refused one and the retry), one
	// for the other: nobody was mailed twice.
	if f, g := env.Sink.Attempts("fine@example.org"), env.Sink.Attempts("grey@example.org"); f != 1 || g != 2 {
		t.Fatalf("RCPTs at the sink: fine %d, grey %d; want 1 and 2", f, g)
	}
}
