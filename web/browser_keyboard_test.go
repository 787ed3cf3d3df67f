package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// The first mailing's path by keyboard alone, as someone who cannot use a
// mouse goes it: every control is reached with Tab (so it is in the focus
// order and shows that it has the focus), typed into, and used with Enter
// or Space; nothing is clicked. Sign in, add a client, write a message,
// make a mailing for every client, open it, watch it finish, read the
// report, sign out.
func TestBrowserKeyboard(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t) // API, projectors, scheduler and sender
	email := testenv.Name("keys") + "@example.com"
	const password = "correct horse battery"
	apptest.SignUp(env, email, password)
	b := newTab(t, env)

	b.do("open the sign-in page", chromedp.Navigate(env.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#login-submit")))
	b.tabTo("#email")
	b.keys(email)
	b.tabTo("#password")
	b.keys(password + kb.Enter)
	b.do("signed in", chromedp.WaitVisible(chromedp.CSS("#figure-clients")))

	b.follow(`nav a[href="/clients"]`, "#client-new")
	b.follow("#client-new", "#full_name")
	b.tabTo("#email")
	b.keys("dan@example.org")
	b.tabTo("#full_name")
	b.keys("Dan Key" + kb.Enter) // Enter in a field sends its form
	if list := b.text("#clients"); !strings.Contains(list, "Dan Key") {
		t.Fatalf("the clients list after adding by keyboard: %q", list)
	}

	b.follow(`nav a[href="/messages"]`, "#message-new")
	b.follow("#message-new", "#subject")
	b.tabTo("#subject")
	b.keys("Keyboard news")
	b.tabTo("#body")
	b.keys("Hello,\nno mouse was used.") // Enter in the body is a new line
	b.follow("#message-save", `#messages tr[id^="message-"]`)

	b.follow(`nav a[href="/mailings"]`, "#mailing-new")
	b.follow("#mailing-new", "#mailing-save")
	b.tabTo("#message_id")
	b.keys(kb.ArrowDown) // the first message after "choose a message"
	subject, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#message_id").selectedOptions[0].text`))
	if err != nil || subject != "Keyboard news" {
		t.Fatalf("the message chosen with the arrow key: %q (%v)", subject, err)
	}
	b.tabTo("#all_matching")
	b.keys(" ")
	testenv.Eventually(t, 30*time.Second, "the choice counted", func() bool {
		return strings.Contains(b.text("#chosen-count"), "1")
	})
	// The window the form proposes opens this minute: it sends at once.
	b.follow("#mailing-save", `#mailings a[href^="/mailings/"]`)
	b.follow(`#mailings a[href^="/mailings/"]`, "#mailing-status")
	testenv.Eventually(t, 60*time.Second, "the mailing completed on its page", func() bool {
		b.do("reload (F5 is the browser's, not the page's)", chromedp.Reload())
		return strings.Contains(b.text("#mailing-status"), "Completed") && b.text("#report-success") == "1"
	})
	if n := sinkCount(t, env, "dan@example.org", "Keyboard news"); n != 1 {
		t.Fatalf("dan@example.org received %d copies, want 1", n)
	}

	b.follow(`nav a[href="/reports"]`, "#summary-sent")
	if sent := b.text("#summary-sent"); sent != "1" {
		t.Fatalf("the report's sent: %q", sent)
	}
	b.follow("#logout", "#login-submit")
}

// tabTo presses Tab until sel has the focus, failing the test when it is
// not reached within the page's focus order or shows no focus indicator.
func (b *tab) tabTo(sel string) {
	b.t.Helper()
	for range 200 {
		b.keys(kb.Tab)
		at, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.activeElement.matches(`+jsString(sel)+`)`))
		if err != nil {
			b.t.Fatalf("tab to %s: %v", sel, err)
		}
		if !at {
			continue
		}
		ring, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
			`(s => s.outlineStyle === "none" || s.outlineWidth === "0px" ? "" : s.outlineStyle)(getComputedStyle(document.activeElement))`))
		if err != nil {
			b.t.Fatal(err)
		}
		if ring == "" {
			b.t.Fatalf("%s has the focus but no outline shows it", sel)
		}
		return
	}
	b.t.Fatalf("%s is not reached with Tab on %s", sel, b.location())
}

// keys types keys into whatever has the focus.
func (b *tab) keys(keys string) {
	b.t.Helper()
	b.do("press "+strings.ReplaceAll(keys, "\n", "⏎"), chromedp.KeyEvent(keys))
}

// follow reaches link or button sel with Tab, presses Enter on it and
// waits for then on the page it leads to.
func (b *tab) follow(sel, then string) {
	b.t.Helper()
	b.tabTo(sel)
	b.keys(kb.Enter)
	b.do("after "+sel+", "+then+" shows", chromedp.WaitVisible(chromedp.CSS(then)))
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
