package http_test

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

type reportJSON struct {
	MailingID       uuid.UUID  `json:"mailing_id"`
	OwnerID         uuid.UUID  `json:"owner_id"`
	Status          string     `json:"status"`
	Runs            int64      `json:"runs"`
	AttemptsTotal   int64      `json:"attempts_total"`
	AttemptsSuccess int64      `json:"attempts_success"`
	AttemptsFailure int64      `json:"attempts_failure"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
	Deferred        int64      `json:"deferred"`
	AttemptsSkipped int64      `json:"attempts_skipped"`
	Bounced         int64      `json:"bounced"`
}

type summaryJSON struct {
	MailingsTotal   int64      `json:"mailings_total"`
	Runs            int64      `json:"runs"`
	AttemptsTotal   int64      `json:"attempts_total"`
	AttemptsSuccess int64      `json:"attempts_success"`
	AttemptsFailure int64      `json:"attempts_failure"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
	Deferred        int64      `json:"deferred"`
	ClientsTotal    int64      `json:"clients_total"`
	MessagesTotal   int64      `json:"messages_total"`
}

// reportsOf reads every page of the report u sees at path.
func reportsOf(t *testing.T, env *apptest.Env, u rUser, query string) []reportJSON {
	t.Helper()
	var out []reportJSON
	cursor := ""
	for {
		q := "?limit=1" + query
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		res := env.Do("GET", "/api/v1/reports/mailings"+q, nil, u.auth()...)
		want(t, "report page", res, 200)
		var page pageJSON[reportJSON]
		res.Decode(t, &page)
		out = append(out, page.Items...)
		if page.NextCursor == nil {
			return out
		}
		cursor = *page.NextCursor
	}
}

func reportFor(items []reportJSON, id uuid.UUID) (reportJSON, bool) {
	for _, it := range items {
		if it.MailingID == id {
			return it, true
		}
	}
	return reportJSON{}, false
}

// Real sends through the sink (one recipient refused with 550) drive the
// report; users see their own mailings, staff everyone's, and the CSV
// export parses back to the JSON rows.
func TestReportsThroughTheAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Sink.SetReply(func(from, to string, attempt int) *mail.Reply {
		if strings.HasPrefix(to, "refused") {
			return &mail.Reply{Code: 550, Text: "5.1.1 no such user"}
		}
		return nil
	})
	a, b, staff := newUser(t, env), newUser(t, env), newUser(t, env, "managers")

	want(t, "anonymous report", env.Do("GET", "/api/v1/reports/mailings", nil), 401, "unauthenticated")
	want(t, "anonymous summary", env.Do("GET", "/api/v1/reports/summary", nil), 401, "unauthenticated")

	c1, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "fine@example.org", "full_name": "Fine, \"Quoted\" One"})
	c2, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "refused@example.org", "full_name": "Refused"})
	c3, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "gone@example.org", "full_name": "Gone"})
	res := env.Do("DELETE", "/api/v1/clients/"+c3.String(), nil, a.auth()...)
	want(t, "delete a client", res, 204)
	msgA, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Report me", "body": "Hi"})
	mA, _ := create(t, env, a, "/api/v1/mailings", mailingBody(msgA, c1, c2))
	// A second mailing of a's that never sends: it is in the report with zeros.
	mIdle, _ := create(t, env, a, "/api/v1/mailings", mailingBody(msgA, c1))
	cb, _ := create(t, env, b, "/api/v1/clients", map[string]any{"email": "bob-client@example.org", "full_name": "Bob's"})
	msgB, _ := create(t, env, b, "/api/v1/messages", map[string]any{"subject": "Bob's", "body": "Hi"})
	mB, _ := create(t, env, b, "/api/v1/mailings", mailingBody(msgB, cb))

	want(t, "a dispatches", env.Do("POST", "/api/v1/mailings/"+mA.String()+"/dispatch", nil, a.auth()...), 202)
	res = env.Do("POST", "/api/v1/mailings/"+mB.String()+"/dispatch", nil, b.auth()...)
	want(t, "b dispatches", res, 202)
	pos := position(t, res)

	// Wait for both runs to reach the report (the sender works after the 202).
	testenv.Eventually(t, 30*time.Second, "both runs in the report", func() bool {
		items := reportsOf(t, env, staff, "")
		ra, _ := reportFor(items, mA)
		rb, _ := reportFor(items, mB)
		return ra.AttemptsTotal == 2 && rb.AttemptsTotal == 1
	})

	mine := reportsOf(t, env, a, "")
	if len(mine) != 2 {
		t.Fatalf("a's report has %d lines: %+v", len(mine), mine)
	}
	ra, _ := reportFor(mine, mA)
	if ra.OwnerID != a.ID || ra.Status != "started" || ra.Runs != 1 || ra.AttemptsTotal != 2 || ra.AttemptsSuccess != 1 ||
		ra.AttemptsFailure != 1 || ra.LastAttemptAt == nil || time.Since(*ra.LastAttemptAt) > time.Minute {
		t.Fatalf("a's sent mailing %+v", ra)
	}
	idle, ok := reportFor(mine, mIdle)
	if !ok || idle.Status != "created" || idle.Runs != 0 || idle.AttemptsTotal != 0 || idle.LastAttemptAt != nil {
		t.Fatalf("a's idle mailing %+v", idle)
	}
	if _, ok := reportFor(mine, mB); ok {
		t.Fatal("a sees b's mailing in the report")
	}
	bobs := reportsOf(t, env, b, "")
	if len(bobs) != 1 || bobs[0].MailingID != mB || bobs[0].AttemptsSuccess != 1 || bobs[0].AttemptsFailure != 0 {
		t.Fatalf("b's report %+v", bobs)
	}
	if peek := reportsOf(t, env, a, "&owner_id="+b.ID.String()); len(peek) != 0 {
		t.Fatalf("a narrowing to b sees %+v", peek)
	}
	all := reportsOf(t, env, staff, "")
	if len(all) != 3 {
		t.Fatalf("staff sees %d lines: %+v", len(all), all)
	}
	if narrowed := reportsOf(t, env, staff, "&owner_id="+a.ID.String()); len(narrowed) != 2 {
		t.Fatalf("staff narrowing to a sees %+v", narrowed)
	}
	want(t, "bad owner_id", env.Do("GET", "/api/v1/reports/mailings?owner_id=x", nil, staff.auth()...), 422, "validation_failed")
	want(t, "bad format", env.Do("GET", "/api/v1/reports/mailings?format=xml", nil, a.auth()...), 422, "validation_failed")
	want(t, "read your writes", env.Do("GET", "/api/v1/reports/mailings", nil, a.auth("X-Min-Position", pos)...), 200)

	summary := func(u rUser, query string) summaryJSON {
		t.Helper()
		res := env.Do("GET", "/api/v1/reports/summary"+query, nil, u.auth()...)
		want(t, "summary", res, 200)
		var s summaryJSON
		res.Decode(t, &s)
		return s
	}
	if s := summary(a, ""); s.MailingsTotal != 2 || s.Runs != 1 || s.AttemptsTotal != 2 || s.AttemptsSuccess != 1 || s.AttemptsFailure != 1 ||
		s.ClientsTotal != 2 || s.MessagesTotal != 1 || s.LastAttemptAt == nil {
		t.Fatalf("a's summary %+v", s)
	}
	if s := summary(b, ""); s.MailingsTotal != 1 || s.AttemptsTotal != 1 || s.ClientsTotal != 1 || s.MessagesTotal != 1 {
		t.Fatalf("b's summary %+v", s)
	}
	if s := summary(staff, ""); s.MailingsTotal != 3 || s.Runs != 2 || s.AttemptsTotal != 3 || s.AttemptsSuccess != 2 ||
		s.AttemptsFailure != 1 || s.ClientsTotal != 3 || s.MessagesTotal != 2 {
		t.Fatalf("staff summary %+v", s)
	}
	if s := summary(staff, "?owner_id="+b.ID.String()); s.MailingsTotal != 1 || s.ClientsTotal != 1 {
		t.Fatalf("staff summary of b %+v", s)
	}

	// CSV: ?format=csv or Accept: text/csv, the whole scope, parsed back.
	for _, tc := range []struct {
		name    string
		u       rUser
		query   string
		headers []string
		want    []reportJSON
	}{
		{"staff ?format=csv", staff, "?format=csv&limit=1", nil, all},
		{"owner Accept: text/csv", a, "", []string{"Accept", "text/csv"}, mine},
	} {
		res := env.Do("GET", "/api/v1/reports/mailings"+tc.query, nil, append(tc.u.auth(), tc.headers...)...)
		want(t, tc.name, res, 200)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("%s: content type %q", tc.name, ct)
		}
		if cd := res.Header.Get("Content-Disposition"); cd != "attachment; filename=mailing-report.csv" {
			t.Fatalf("%s: content disposition %q", tc.name, cd)
		}
		records, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, res.Body)
		}
		if strings.Join(records[0], ",") != "mailing_id,owner_id,status,runs,attempts_total,attempts_success,attempts_failure,last_attempt_at,deferred,attempts_skipped,bounced" {
			t.Fatalf("%s: header %v", tc.name, records[0])
		}
		if len(records)-1 != len(tc.want) {
			t.Fatalf("%s: %d rows, want %d:\n%s", tc.name, len(records)-1, len(tc.want), res.Body)
		}
		for i, rec := range records[1:] {
			w := tc.want[i]
			last := ""
			if w.LastAttemptAt != nil {
				last = w.LastAttemptAt.UTC().Format(time.RFC3339Nano)
			}
			wantRec := []string{w.MailingID.String(), w.OwnerID.String(), w.Status, strconv.FormatInt(w.Runs, 10),
				strconv.FormatInt(w.AttemptsTotal, 10), strconv.FormatInt(w.AttemptsSuccess, 10), strconv.FormatInt(w.AttemptsFailure, 10), last, strconv.FormatInt(w.Deferred, 10),
				strconv.FormatInt(w.AttemptsSkipped, 10), strconv.FormatInt(w.Bounced, 10)}
			if fmt.Sprint(rec) != fmt.Sprint(wantRec) {
				t.Fatalf("%s: row %d is %v, JSON says %v", tc.name, i, rec, wantRec)
			}
		}
	}
	// A user with nothing gets the header line only.
	res = env.Do("GET", "/api/v1/reports/mailings?format=csv", nil, newUser(t, env).auth()...)
	if records, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll(); err != nil || len(records) != 1 {
		t.Fatalf("empty export %v %q", err, res.Body)
	}

	// Deleting a mailing takes it out of the report and the summary.
	want(t, "delete idle mailing", env.Do("DELETE", "/api/v1/mailings/"+mIdle.String(), nil, a.auth()...), 204)
	testenv.Eventually(t, 30*time.Second, "the deleted mailing to leave the report", func() bool {
		return len(reportsOf(t, env, a, "")) == 1
	})
	if s := summary(a, ""); s.MailingsTotal != 1 || s.AttemptsTotal != 2 {
		t.Fatalf("a's summary after the deletion %+v", s)
	}
}
