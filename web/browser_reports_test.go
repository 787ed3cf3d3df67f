package web_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// A user whose mailings were sent on several days of the last two weeks
// opens the dashboard and its chart, then the reports from the menu, in a
// real browser; axe-core finds no serious fault on either page.
func TestBrowserDashboardAndReports(t *testing.T) {
	t.Parallel()
	// The application's clock runs days behind while the mailings are
	// sent, so the chart has past days to show.
	var back atomic.Int64
	env := apptest.Start(t, apptest.WithNow(func() time.Time { return time.Now().Add(-time.Duration(back.Load())) }))
	env.Sink.SetReply(func(from, to string, attempt int) *mail.Reply {
		if strings.HasPrefix(to, "refused") {
			return &mail.Reply{Code: 550, Text: "5.1.1 no such user"}
		}
		return nil
	})
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	client := func(email string) uuid.UUID {
		return env.Create(a.Token, "/api/v1/clients", map[string]any{"email": email, "full_name": strings.Split(email, "@")[0]})
	}
	var five []uuid.UUID
	for _, e := range []string{"ann@example.org", "bob@example.org", "cat@example.org", "dan@example.org", "refused@example.org"} {
		five = append(five, client(e))
	}
	big, small := reportMailing(env, a, five...), reportMailing(env, a, five[:2]...)
	reportMailing(env, a, five[2]) // never sent

	attempts := 0
	send := func(daysAgo int, m uuid.UUID, clients int) {
		t.Helper()
		back.Store(int64(time.Duration(daysAgo) * 24 * time.Hour))
		if res := env.Do("POST", "/api/v1/mailings/"+m.String()+"/dispatch", nil, apptest.Bearer(a.Token)...); res.Status != 202 {
			t.Fatalf("dispatch: %d %s", res.Status, res.Body)
		}
		attempts += clients
		testenv.Eventually(t, 60*time.Second, "the run's deliveries in the report", func() bool {
			var s struct {
				AttemptsTotal int `json:"attempts_total"`
			}
			env.Do("GET", "/api/v1/reports/summary", nil, apptest.Bearer(a.Token)...).Decode(t, &s)
			return s.AttemptsTotal == attempts
		})
	}
	send(11, big, 5)
	send(8, small, 2)
	send(6, big, 5)
	send(4, small, 2)
	send(4, big, 5)
	send(2, small, 2)
	send(0, big, 5)
	back.Store(0)

	b := newTab(t, env)
	b.signIn(a.Token)
	b.do("open the dashboard",
		chromedp.Navigate(env.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("#deliveries-chart")))
	// This week: days 0, 2, 4 and 6 ago; day 8 and 11 are only in the chart.
	if sent, failed := b.text("#figure-sent strong"), b.text("#figure-failed strong"); sent != "16" || failed != "3" {
		t.Errorf("the week's figures: %s delivered, %s failed", sent, failed)
	}
	if clients, active := b.text("#figure-clients strong"), b.text("#figure-mailings strong"); clients != "5" || active != "3" {
		t.Errorf("%s clients, %s active mailings", clients, active)
	}
	b.do("open the table of the chart's figures",
		chromedp.Click(chromedp.CSS(".deliveries summary")),
		chromedp.WaitVisible(chromedp.CSS("#deliveries-table")))
	today := time.Now().UTC().Format(time.DateOnly)
	if row := b.text("#deliveries-" + today); !strings.Contains(row, "4\t1") && !strings.Contains(row, "4 1") {
		t.Errorf("today's line of the table: %q", row)
	}
	b.accessible("dashboard")
	b.do("open the dashboard again, from its top",
		chromedp.Navigate(env.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("#deliveries-chart")))
	screenshot(t, b.ctx, "dashboard")

	b.do("open the reports from the menu",
		chromedp.Click(chromedp.CSS(`header a[href="/reports"]`)),
		chromedp.WaitVisible(chromedp.CSS("#reports")))
	if at, sent := b.location(), b.text("#summary-sent"); !strings.HasSuffix(at, "/reports") || sent != "22" {
		t.Errorf("the reports at %s: %s delivered", at, sent)
	}
	if row := b.text("#report-" + big.String()); !strings.Contains(row, "Started") {
		t.Errorf("the big mailing's line: %q", row)
	}
	b.accessible("reports")
	screenshot(t, b.ctx, "reports")
}
