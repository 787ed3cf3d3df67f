package web_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// reportMailing makes a weekly mailing of owner's (starting tomorrow, so
// only a dispatch sends it) of a new message to clients.
func reportMailing(env *apptest.Env, owner apptest.Account, clients ...uuid.UUID) uuid.UUID {
	msg := env.Create(owner.Token, "/api/v1/messages", map[string]any{"subject": "Report me", "body": "Hi"})
	start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	return env.Create(owner.Token, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": clients,
		"start_at": start.Format(time.RFC3339), "end_at": start.Add(30 * 24 * time.Hour).Format(time.RFC3339),
		"periodicity": "weekly", "timezone": "UTC"})
}

// figure is the number a page shows in the element with id.
func figure(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `">(?:<strong>)?([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no #%s on the page: %q", id, body)
	}
	return m[1]
}

// A mailing dispatched for real (one recipient delivered, one refused
// with 550) shows in its owner's report, summary, CSV and dashboard; not in
// another user's; staff see everyone's report but only their own
// dashboard.
func TestReportPages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t) // with the scheduler and the sender: dispatches are delivered to the sink
	env.Sink.SetReply(func(from, to string, attempt int) *mail.Reply {
		if strings.HasPrefix(to, "refused") {
			return &mail.Reply{Code: 550, Text: "5.1.1 no such user"}
		}
		return nil
	})
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	b := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	manager := signUpManager(t, env)
	cookieA, cookieB, cookieM := "herald_session="+a.Token, "herald_session="+b.Token, "herald_session="+manager.Token

	t.Run("anonymous visitors go to the login page", func(t *testing.T) {
		for path, next := range map[string]string{"/reports?after=x": "%2Freports%3Fafter%3Dx",
			"/reports/mailings.csv": "%2Freports%2Fmailings.csv", "/dashboard": "%2Fdashboard"} {
			res, _ := get(t, env, path)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+next {
				t.Errorf("GET %s: %d %q", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})

	fine := env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "fine@example.org", "full_name": "Fine"})
	refused := env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "refused@example.org", "full_name": "Refused"})
	mA := reportMailing(env, a, fine, refused)
	mB := reportMailing(env, b, env.Create(b.Token, "/api/v1/clients", map[string]any{"email": "bob@example.org", "full_name": "Bob"}))
	if res := env.Do("POST", "/api/v1/mailings/"+mA.String()+"/dispatch", nil, apptest.Bearer(a.Token)...); res.Status != http.StatusAccepted {
		t.Fatalf("dispatch: %d %s", res.Status, res.Body)
	}

	var body string
	rowA := regexp.MustCompile(`(?s)<tr id="report-` + mA.String() + `">(.*?)</tr>`)
	testenv.Eventually(t, 60*time.Second, "both deliveries in a's report", func() bool {
		_, body = get(t, env, "/reports", "Cookie", cookieA)
		m := rowA.FindStringSubmatch(body)
		return m != nil && strings.Contains(m[1], `<td class="num">2</td>`) && figure(t, body, "summary-attempts") == "2"
	})
	cells := regexp.MustCompile(`<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(rowA.FindStringSubmatch(body)[1], -1)
	var row []string
	for _, c := range cells {
		row = append(row, c[1])
	}
	// mailing, status, runs, attempts, delivered, failed, deferred, skipped, bounced (the failure is a 5xx), last attempt
	if len(row) != 10 || !strings.Contains(row[0], mA.String()) || row[1] != "Started" ||
		fmt.Sprint(row[2:9]) != "[1 2 1 1 0 0 1]" || !strings.Contains(row[9], fmt.Sprint(time.Now().UTC().Year())) {
		t.Fatalf("a's row: %q", row)
	}
	for id, want := range map[string]string{"summary-mailings": "1", "summary-runs": "1", "summary-attempts": "2", "summary-sent": "1",
		"summary-failed": "1", "summary-deferred": "0", "summary-skipped": "0", "summary-bounced": "1", "summary-clients": "2", "summary-messages": "1"} {
		if got := figure(t, body, id); got != want {
			t.Errorf("a's #%s = %q, want %q", id, got, want)
		}
	}
	if strings.Contains(body, mB.String()) || strings.Contains(body, ">Owner<") || strings.Contains(body, `id="reports-next"`) ||
		strings.Contains(body, `id="reports-owner"`) {
		t.Errorf("a's report shows b's mailing, an owner column, a narrowing or a next page: %q", body)
	}
	if !strings.Contains(body, `href="/reports/mailings.csv"`) {
		t.Errorf("no CSV download: %q", body)
	}

	t.Run("the next page after the last mailing is empty", func(t *testing.T) {
		_, body := get(t, env, "/reports?after="+mA.String(), "Cookie", cookieA)
		if !strings.Contains(body, `id="reports-empty"`) || strings.Contains(body, `<tr id="report-`) {
			t.Errorf("a's page after mA: %q", body)
		}
	})

	t.Run("the CSV download is the API's export", func(t *testing.T) {
		res, csvBody := get(t, env, "/reports/mailings.csv", "Cookie", cookieA)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			res.Header.Get("Content-Disposition") != "attachment; filename=mailing-report.csv" {
			t.Fatalf("GET /reports/mailings.csv: %d %v", res.StatusCode, res.Header)
		}
		records, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
		if err != nil {
			t.Fatalf("%v: %q", err, csvBody)
		}
		if len(records) != 2 || strings.Join(records[0], ",") != "mailing_id,owner_id,status,runs,attempts_total,attempts_success,attempts_failure,last_attempt_at,deferred,attempts_skipped,bounced" ||
			fmt.Sprint(records[1][:7]) != fmt.Sprint([]string{mA.String(), a.ID.String(), "started", "1", "2", "1", "1"}) {
			t.Fatalf("a's CSV: %q", records)
		}
		api := env.Do("GET", "/api/v1/reports/mailings?format=csv", nil, apptest.Bearer(a.Token)...)
		if string(api.Body) != csvBody {
			t.Errorf("the page's CSV %q differs from the API's %q", csvBody, api.Body)
		}
		if _, other := get(t, env, "/reports/mailings.csv", "Cookie", cookieB); strings.Contains(other, mA.String()) || !strings.Contains(other, mB.String()) {
			t.Errorf("b's CSV: %q", other)
		}
	})

	t.Run("another user sees none of a's figures", func(t *testing.T) {
		_, body := get(t, env, "/reports", "Cookie", cookieB)
		if strings.Contains(body, mA.String()) || !strings.Contains(body, `id="report-`+mB.String()+`"`) ||
			figure(t, body, "summary-attempts") != "0" || figure(t, body, "summary-clients") != "1" {
			t.Errorf("b's report: %q", body)
		}
		// Naming a as the owner, as staff may, narrows b's own report to nothing.
		_, body = get(t, env, "/reports?owner_id="+a.ID.String(), "Cookie", cookieB)
		if strings.Contains(body, mA.String()) || !strings.Contains(body, `id="reports-empty"`) || figure(t, body, "summary-mailings") != "0" {
			t.Errorf("b naming a: %q", body)
		}
		_, body = get(t, env, "/dashboard", "Cookie", cookieB)
		if figure(t, body, "figure-clients") != "1" || figure(t, body, "figure-sent") != "0" || figure(t, body, "figure-failed") != "0" {
			t.Errorf("b's dashboard: %q", body)
		}
	})

	t.Run("staff see everyone's report with its owners", func(t *testing.T) {
		_, body := get(t, env, "/reports", "Cookie", cookieM)
		if !strings.Contains(body, `id="report-`+mA.String()+`"`) || !strings.Contains(body, `id="report-`+mB.String()+`"`) ||
			!strings.Contains(body, ">Owner<") || !strings.Contains(body, `href="/reports?owner_id=`+a.ID.String()+`"`) ||
			figure(t, body, "summary-mailings") != "2" || figure(t, body, "summary-attempts") != "2" || figure(t, body, "summary-clients") != "3" {
			t.Fatalf("the manager's report: %q", body)
		}
		_, body = get(t, env, "/reports?owner_id="+b.ID.String(), "Cookie", cookieM)
		if strings.Contains(body, `id="report-`+mA.String()+`"`) || !strings.Contains(body, `id="report-`+mB.String()+`"`) ||
			!strings.Contains(body, `href="/reports/mailings.csv?owner_id=`+b.ID.String()+`"`) || figure(t, body, "summary-mailings") != "1" ||
			!strings.Contains(body, `id="reports-owner">Only the mailings of owner `+b.ID.String()) {
			t.Errorf("the manager narrowing to b: %q", body)
		}
		_, csvBody := get(t, env, "/reports/mailings.csv", "Cookie", cookieM)
		if !strings.Contains(csvBody, mA.String()) || !strings.Contains(csvBody, mB.String()) {
			t.Errorf("the manager's CSV: %q", csvBody)
		}
		// The dashboard is the caller's own, whatever they may read.
		_, body = get(t, env, "/dashboard", "Cookie", cookieM)
		if figure(t, body, "figure-clients") != "0" || figure(t, body, "figure-sent") != "0" || figure(t, body, "figure-mailings") != "0" {
			t.Errorf("the manager's dashboard: %q", body)
		}
	})

	t.Run("the dashboard counts today's deliveries in the caller's time zone", func(t *testing.T) {
		// Kiritimati is UTC+14 and Pago Pago UTC-11: for most of the day
		// their dates differ, and today is always the chart's last day.
		for _, zone := range []string{"UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"} {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Fatal(err)
			}
			today := time.Now().In(loc).Format(time.DateOnly)
			_, body := get(t, env, "/dashboard", "Cookie", cookieA+"; herald_tz="+zone)
			if !strings.Contains(body, `id="greeting"`) {
				t.Fatalf("%s: no greeting: %q", zone, body)
			}
			for id, want := range map[string]string{"figure-clients": "2", "figure-mailings": "1", "figure-sent": "1", "figure-failed": "1"} {
				if got := figure(t, body, id); got != want {
					t.Errorf("%s: #%s = %q, want %q", zone, id, got, want)
				}
			}
			day := regexp.MustCompile(`(?s)<g id="day-` + today + `">(.*?)</g>`).FindStringSubmatch(body)
			if day == nil || !strings.Contains(day[1], ": 1 delivered</title>") || !strings.Contains(day[1], ": 1 failed</title>") {
				t.Errorf("%s: today (%s) in the chart: %q", zone, today, body)
			}
			if n := strings.Count(body, `<g id="day-`); n != 14 {
				t.Errorf("%s: the chart has %d days", zone, n)
			}
			if !regexp.MustCompile(`<tr id="deliveries-` + today + `"><th scope="row">[^<]+</th><td>1</td><td>1</td></tr>`).MatchString(body) {
				t.Errorf("%s: today's line of the table: %q", zone, body)
			}
			if !strings.Contains(body, `role="img" aria-labelledby="deliveries-chart-title"`) ||
				!strings.Contains(body, ": 1 delivered and 1 failed in all.") {
				t.Errorf("%s: the chart's text alternative: %q", zone, body)
			}
		}
	})
}
