package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// A mailing sent at once is watched on its page until its run finishes:
// one recipient's server defers the first attempt, so the run sends for a
// few seconds, and the runs section follows it through htmx polling while
// the page itself is never reloaded.
func TestBrowserMailingShow(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.SendRetrySchedule = []time.Duration{5 * time.Second, time.Hour} }))
	env.Sink.SetReply(func(_, to string, attempt int) *mail.Reply {
		if strings.HasPrefix(to, "grey") && attempt == 1 {
			return &mail.Reply{Code: 450, Text: "4.2.0 Greylisted, come back in a moment"}
		}
		return nil
	})
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	id := mailingShowSetup(t, env, a.Token, "Harvest festival", "grey@example.org", "fine@example.org")
	path := env.URL + "/mailings/" + id.String()
	b := newTab(t, env)
	b.signIn(a.Token)

	// polling is the runs section's hx-trigger, "" when it has none.
	polling := func() string {
		t.Helper()
		got, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS("#mailing-runs"), "hx-trigger"))
		if err != nil {
			t.Fatal(err)
		}
		return got.Value
	}

	mailingShowDispatch(t, env, a.Token, id)
	b.do("open the mailing while it sends",
		chromedp.Navigate(path),
		chromedp.WaitVisible(chromedp.CSS("#mailing-runs")),
		chromedp.Evaluate[chromedp.Void](`window.heraldNotReloaded = true`))
	if got := polling(); got != "every 2s" {
		t.Fatalf("the runs section does not poll while the run sends (hx-trigger %q)", got)
	}
	if got := b.text("#mailing-subject"); got != "Harvest festival" {
		t.Fatalf("subject %q", got)
	}

	b.do("watch the run finish",
		chromedp.WaitVisible(chromedp.CSS("#mailing-runs li.run-finished")),
		chromedp.WaitVisible(chromedp.CSS("#runs-done")))
	if runs := b.text("#mailing-runs"); !strings.Contains(runs, "2 sent, 0 failed, 0 deferred of 2") {
		t.Fatalf("the finished run: %q", runs)
	}
	still, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.heraldNotReloaded === true`))
	if err != nil || !still {
		t.Fatalf("the page was reloaded, htmx did not update it in place (%v)", err)
	}
	if got := polling(); got != "" {
		t.Fatalf("the runs section still polls (hx-trigger %q) with nothing sending", got)
	}

	b.do("reload to see the attempts and the report",
		chromedp.Click(chromedp.CSS("#runs-done a")),
		chromedp.WaitVisible(chromedp.CSS("#mailing-attempts")))
	if attempts := b.text("#mailing-attempts"); !strings.Contains(attempts, "4.2.0 Greylisted") || !strings.Contains(attempts, "Deferred") {
		t.Fatalf("the attempts after the reload: %q", attempts)
	}
	if total := b.text("#report-total"); total != "3" {
		t.Errorf("the report counts %q attempts, want 3", total)
	}
	b.accessible("mailing")
	screenshot(t, b.ctx, "mailing")
}
