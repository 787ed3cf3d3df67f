package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// A user makes a mailing through the form in a real browser, choosing a
// client by search, then disables and enables it from the list, where htmx
// swaps the row in place without a page load.
func TestBrowserMailings(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	msg := env.Create(a.Token, "/api/v1/messages", map[string]any{"subject": "Autumn offers", "body": "Hello"})
	env.Create(a.Token, "/api/v1/messages", map[string]any{"subject": "Winter newsletter", "body": "Hello"})
	ann := env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "ann@example.org", "full_name": "Ann Lee"})
	for _, c := range []map[string]any{{"email": "bob@example.org", "full_name": "Bob Stone"}, {"email": "cleo@example.org", "full_name": "Cleo Park"}} {
		env.Create(a.Token, "/api/v1/clients", c)
	}
	// One more mailing, disabled, so the list shows both states.
	env.Create(a.Token, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": []any{ann},
		"start_at": "2030-03-01T08:00:00Z", "end_at": "2031-03-01T08:00:00Z", "periodicity": "monthly",
		"timezone": "UTC", "is_active": false})

	b := newTab(t, env)
	b.signIn(a.Token)
	testenv.Eventually(t, 30*time.Second, "the form with the messages and clients", func() bool {
		b.do("open the form", chromedp.Navigate(env.URL+"/mailings/new"), chromedp.WaitVisible(chromedp.CSS("#mailing-save")))
		s := b.text("main")
		return strings.Contains(s, "Winter newsletter") && strings.Contains(s, "Cleo Park")
	})

	b.do("search the clients for Ann, keeping the message chosen",
		chromedp.SetValue(chromedp.CSS("#message_id"), msg.String()),
		chromedp.SendKeys(chromedp.CSS("#q"), "ann"),
		chromedp.Click(chromedp.CSS("#client-search")))
	testenv.Eventually(t, 30*time.Second, "the search page", func() bool {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('input[name=listed_q]')?.value === 'ann'`))
		return err == nil && ok
	})
	if s := b.text("#client-picks"); !strings.Contains(s, "Ann Lee") || strings.Contains(s, "Bob Stone") {
		t.Fatalf("the search lists %q", s)
	}
	if v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#message_id"))); err != nil || v != msg.String() {
		t.Fatalf("the search lost the message: %q %v", v, err)
	}
	// Ticking a box counts the choice again, through htmx.
	b.do("tick Ann", htmxReady, chromedp.Click(chromedp.CSS("#client-"+ann.String())))
	testenv.Eventually(t, 30*time.Second, "the count of the choice", func() bool {
		return b.text("#chosen-count") == "1 client chosen."
	})
	b.do("fill in the rest",
		chromedp.SetValue(chromedp.CSS("#start_at"), "2030-01-05T09:30"),
		chromedp.SetValue(chromedp.CSS("#end_at"), "2030-12-31T18:00"),
		chromedp.SetValue(chromedp.CSS("#periodicity"), "weekly"),
		chromedp.SetValue(chromedp.CSS("#timezone"), "Europe/Berlin"))
	b.accessible("mailing_form")
	screenshot(t, b.ctx, "mailing_form")

	b.do("save", chromedp.Click(chromedp.CSS("#mailing-save")), chromedp.WaitVisible(chromedp.CSS("#mailings")), htmxReady)
	if flash, at := b.text("#flash"), b.location(); !strings.HasSuffix(at, "/mailings") || !strings.Contains(flash, "Mailing created") {
		t.Fatalf("after saving: at %s, flash %q", at, flash)
	}
	row := "#mailings tbody tr:last-child"
	if s := b.text(row); !strings.Contains(s, "Autumn offers") || !strings.Contains(s, "1 recipient") || !strings.Contains(s, "5 Jan 2030, 08:30") {
		t.Fatalf("the new mailing's row: %q", s)
	}
	b.accessible("mailings")
	screenshot(t, b.ctx, "mailings")

	// A mark on the page's window survives an htmx swap, not a page load.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.heraldMark = 1`))
	b.do("disable inline", htmxReady,
		chromedp.Click(chromedp.CSS(row+` button[data-action="disable"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` button[data-action="enable"]`)))
	if s := b.text(row); !strings.Contains(s, "Disabled") {
		t.Fatalf("the disabled row: %q", s)
	}
	b.do("enable inline", htmxReady,
		chromedp.Click(chromedp.CSS(row+` button[data-action="enable"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` button[data-action="disable"]`)))
	marked, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.heraldMark === 1`))
	if err != nil || !marked {
		t.Fatalf("the page was loaded again (mark kept: %v, %v)", marked, err)
	}
	if s := b.text(row); strings.Contains(s, "Disabled") {
		t.Fatalf("the enabled row: %q", s)
	}

	// "All your clients" ticks every listed box as it counts them; a box
	// unticked then leaves its client out, on the page and in the mailing.
	b.do("a new form, every client",
		chromedp.Navigate(env.URL+"/mailings/new"),
		chromedp.WaitVisible(chromedp.CSS("#all_matching")), htmxReady,
		chromedp.SetValue(chromedp.CSS("#message_id"), msg.String()),
		chromedp.Click(chromedp.CSS("#all_matching")))
	ticked := func() []string {
		names, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll('#client-picks input:checked')].map(i => i.labels[0].textContent.trim())`))
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	testenv.Eventually(t, 30*time.Second, "three chosen, three boxes ticked", func() bool {
		return b.text("#chosen-count") == "3 clients chosen." && len(ticked()) == 3
	})
	// The boxes the count brought are htmx's once it has settled them; a
	// click before that changes a box nobody listens to.
	b.do("untick Bob", htmxReady, chromedp.Click(chromedp.CSS(`#client-picks li:nth-child(2) input[type=checkbox]`)))
	bob, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#client-picks li:nth-child(2) label').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "two chosen, two boxes ticked", func() bool {
		return b.text("#chosen-count") == "2 clients chosen." && len(ticked()) == 2
	})
	if names := strings.Join(ticked(), "; "); strings.Contains(names, strings.TrimSpace(bob)) {
		t.Fatalf("unticked %q, yet ticked: %s", bob, names)
	}
	b.do("save", chromedp.Click(chromedp.CSS("#mailing-save")), chromedp.WaitVisible(chromedp.CSS("#mailings")))
	if s := b.text(row); !strings.Contains(s, "2 recipients") {
		t.Fatalf("the mailing made with every client but one: %q", s)
	}
}
