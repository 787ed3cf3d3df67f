package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// A manager blocks an account from the users list, disables another user's
// mailing and opens the reports, in a real browser; every managers' page
// passes axe-core.
func TestBrowserManage(t *testing.T) {
	t.Parallel()
	s := startManage(t)
	env := s.env
	target := apptest.SignUp(env, testenv.Name("web")+"@example.com", managePassword)
	msg := env.Create(s.plain.Token, "/api/v1/messages", map[string]any{"subject": "News", "body": "Hello"})
	cl := env.Create(s.plain.Token, "/api/v1/clients", map[string]any{"email": "reader@example.org", "full_name": "Reader"})
	ml := env.Create(s.plain.Token, "/api/v1/mailings", manageMailingBody(msg, cl))
	testenv.Eventually(t, 30*time.Second, "the account and the mailing in the read models", func() bool {
		_, users := get(t, env, "/manage/users", "Cookie", manageCookie(s.manager))
		_, mailings := get(t, env, "/manage/mailings", "Cookie", manageCookie(s.manager))
		return strings.Contains(users, target.Email) && strings.Contains(mailings, ml.String())
	})

	b := newTab(t, env)
	b.signIn(s.manager.Token)
	row := "#user-" + target.ID.String()
	b.do("open the users list from the menu and search it",
		chromedp.Navigate(env.URL+"/dashboard"),
		chromedp.Click(chromedp.CSS(`header a[href="/manage/users"]`)),
		chromedp.WaitVisible(chromedp.CSS("#user-"+s.plain.ID.String())),
		chromedp.SendKeys(chromedp.CSS("#q"), "Owner of "+target.Email),
		chromedp.Submit(chromedp.CSS("#q")),
		chromedp.WaitNotPresent(chromedp.CSS("#user-"+s.plain.ID.String())),
		chromedp.WaitVisible(chromedp.CSS(row)))
	if state := b.text(row); !strings.Contains(state, "Active") || !strings.Contains(state, target.Email) {
		t.Fatalf("the account's row before the block: %q", state)
	}
	b.do("block the account",
		chromedp.Click(chromedp.CSS("#block-"+target.ID.String())),
		chromedp.WaitVisible(chromedp.CSS("#activate-"+target.ID.String())))
	if flash, state, at := b.text("#flash"), b.text(row), b.location(); !strings.Contains(flash, "Account blocked") ||
		!strings.Contains(state, "Blocked") || !strings.Contains(at, "/manage/users?q=Owner+of+") {
		t.Fatalf("after blocking: at %s, flash %q, row %q", at, flash, state)
	}
	b.accessible("manage_users")
	screenshot(t, b.ctx, "manage_users")
	if r := env.Do("POST", "/api/v1/auth/login", map[string]string{"email": target.Email, "password": managePassword}); r.Status != 403 {
		t.Fatalf("the blocked account logs in: %d %s", r.Status, r.Body)
	}

	b.do("filter the mailings by owner",
		chromedp.Click(chromedp.CSS(`nav.manage a[href="/manage/mailings"]`)),
		chromedp.WaitVisible(chromedp.CSS("#owner")),
		chromedp.SendKeys(chromedp.CSS("#owner"), s.plain.Email),
		chromedp.Submit(chromedp.CSS("#owner")),
		chromedp.WaitVisible(chromedp.CSS("#disable-"+ml.String())))
	b.do("disable the mailing",
		chromedp.Click(chromedp.CSS("#disable-"+ml.String())),
		chromedp.WaitVisible(chromedp.CSS("#enable-"+ml.String())))
	if flash, state := b.text("#flash"), b.text("#mailing-"+ml.String()); !strings.Contains(flash, "Mailing disabled") ||
		!strings.Contains(state, "Disabled") || !strings.Contains(state, s.plain.Email) {
		t.Fatalf("after disabling: flash %q, row %q", flash, state)
	}
	b.accessible("manage_mailings")
	screenshot(t, b.ctx, "manage_mailings")

	b.do("open the reports",
		chromedp.Click(chromedp.CSS(`nav.manage a[href="/manage/reports"]`)),
		chromedp.WaitVisible(chromedp.CSS("#summary")))
	if csv := b.text("#reports-csv"); !strings.Contains(csv, "CSV") {
		t.Fatalf("the CSV link: %q", csv)
	}
	b.accessible("manage_reports")

	b.signIn(s.plain.Token)
	b.do("a plain user opens the users list",
		chromedp.Navigate(env.URL+"/manage/users"),
		chromedp.WaitVisible(chromedp.CSS("main h1")))
	if h := b.text("main h1"); h != "Not allowed" {
		t.Fatalf("a plain user's /manage/users: %q", h)
	}
	b.accessible("manage_forbidden")
}
