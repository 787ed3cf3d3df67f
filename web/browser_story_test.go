package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

var mailingPath = regexp.MustCompile(`/mailings/([0-9a-f-]{36})$`)

// The whole story of the service, in Chromium and through the pages alone:
// a user signs up, opens the link from the mail, signs in, adds clients, a
// message and a mailing that sends at once, watches it finish, reads the
// report and the history; a second mailing starts by itself when its time
// comes; another user cannot reach the first one's pages; a page posted
// from another origin is refused; the Russian interface; a manager blocks
// the user, who can no longer sign in, and disables their mailing.
func TestBrowserStory(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t) // API, projectors, scheduler and sender
	b := newTab(t, env)
	email := testenv.Name("story") + "@example.com"
	const password = "correct horse battery"

	b.do("sign up",
		chromedp.Navigate(env.URL+"/register"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#name"), "Ann Story"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#login-submit")))
	b.do("open the link from the mail", chromedp.Navigate(verificationLink(t, env, email)), chromedp.WaitVisible(chromedp.CSS("#flash")))
	b.do("sign in on the page anonymous visitors are sent to",
		chromedp.Navigate(env.URL+"/mailings"),
		chromedp.WaitVisible(chromedp.CSS("#login-submit")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/mailings/new"]`)))
	if at := b.location(); !strings.HasSuffix(at, "/mailings") {
		t.Fatalf("after signing in from /mailings: at %s", at)
	}

	for _, c := range [][2]string{{"bob@example.org", "Bob Stone"}, {"cat@example.org", "Cat Stone"}} {
		b.do("add client "+c[0],
			chromedp.Navigate(env.URL+"/clients/new"),
			chromedp.WaitVisible(chromedp.CSS("#full_name")),
			chromedp.SendKeys(chromedp.CSS("#email"), c[0]),
			chromedp.SendKeys(chromedp.CSS("#full_name"), c[1]),
			chromedp.Click(chromedp.CSS("#client-save")),
			chromedp.WaitVisible(chromedp.CSS("#clients")))
	}
	if list := b.text("#clients"); !strings.Contains(list, "Bob Stone") || !strings.Contains(list, "Cat Stone") {
		t.Fatalf("the clients list: %q", list)
	}

	b.do("write a message",
		chromedp.Navigate(env.URL+"/messages/new"),
		chromedp.WaitVisible(chromedp.CSS("#subject")),
		chromedp.SendKeys(chromedp.CSS("#subject"), "Spring news"),
		chromedp.SendKeys(chromedp.CSS("#body"), "Hello,\nthe garden opens on Monday."),
		chromedp.Click(chromedp.CSS("#message-save")),
		chromedp.WaitVisible(chromedp.CSS(`#messages tr[id^="message-"]`)))
	rowID, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#messages tr[id^="message-"]').id`))
	if err != nil {
		t.Fatal(err)
	}
	messageID := strings.TrimPrefix(rowID, "message-")

	var seen string // the mailings made so far
	// newMailing fills the mailing form for every client, from start to
	// end (wall-clock times in UTC, with seconds), and returns its id.
	newMailing := func(what, periodicity string, start, end time.Time) string {
		t.Helper()
		b.do(what+": the form, every client",
			chromedp.Navigate(env.URL+"/mailings/new"),
			chromedp.WaitVisible(chromedp.CSS("#mailing-save")),
			chromedp.SetValue(chromedp.CSS("#message_id"), messageID),
			// The form lists the clients at once, with "all your clients".
			chromedp.WaitVisible(chromedp.CSS("#all_matching")),
			chromedp.Click(chromedp.CSS("#all_matching")),
			// The box's htmx request swaps the form's choice: set the rest
			// once it has settled, not on nodes it replaces.
			htmxReady,
			chromedp.SetValue(chromedp.CSS("#start_at"), localDateTime(start.UTC())),
			chromedp.SetValue(chromedp.CSS("#end_at"), localDateTime(end.UTC())),
			chromedp.SetValue(chromedp.CSS("#periodicity"), periodicity),
			chromedp.SetValue(chromedp.CSS("#timezone"), "UTC"),
			chromedp.Click(chromedp.CSS("#mailing-save")),
			chromedp.WaitVisible(chromedp.CSS("#mailings")))
		var id string
		testenv.Eventually(t, 30*time.Second, what+" in the list", func() bool {
			hrefs, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#mailings a')].map(a => a.pathname)`))
			if err != nil {
				return false
			}
			for _, h := range hrefs {
				if m := mailingPath.FindStringSubmatch(h); m != nil && !strings.Contains(seen, m[1]) {
					id = m[1]
				}
			}
			return id != ""
		})
		seen += id
		return id
	}

	now := time.Now()
	first := newMailing("a mailing whose window is open", "once", now.Add(-time.Minute), now.Add(time.Hour))
	b.do("watch it on its page",
		chromedp.Navigate(env.URL+"/mailings/"+first),
		chromedp.WaitVisible(chromedp.CSS("#mailing-status")))
	testenv.Eventually(t, 60*time.Second, "the mailing completed on its page", func() bool {
		if _, err := chromedp.Run(b.ctx, chromedp.Navigate(env.URL+"/mailings/"+first)); err != nil {
			return false
		}
		return strings.Contains(b.text("#mailing-status"), "Completed") && b.text("#report-success") == "2"
	})
	if attempts := b.text("#attempts"); !strings.Contains(attempts, "bob@example.org") || !strings.Contains(attempts, "250") {
		t.Fatalf("the attempts with the server's reply: %q", attempts)
	}
	if history := b.text("#history"); !strings.Contains(history, "Created by you") || !strings.Contains(history, "Completed: its run is done") {
		t.Fatalf("the history: %q", history)
	}
	b.accessible("mailing (story)")
	for _, rcpt := range []string{"bob@example.org", "cat@example.org"} {
		if n := sinkCount(t, env, rcpt, "Spring news"); n != 1 {
			t.Fatalf("%s received %d copies of the mailing, want 1", rcpt, n)
		}
	}

	b.do("read the reports", chromedp.Navigate(env.URL+"/reports"), chromedp.WaitVisible(chromedp.CSS("#summary-sent")))
	if sent := b.text("#summary-sent"); sent != "2" {
		t.Fatalf("the report's sent: %q", sent)
	}

	// Daily from twenty seconds on: nobody presses anything, the scheduler
	// starts it.
	second := newMailing("a mailing due later", "daily", time.Now().Add(20*time.Second), time.Now().Add(time.Hour))
	testenv.Eventually(t, 90*time.Second, "the later mailing sent by itself", func() bool {
		return sinkCount(t, env, "bob@example.org", "Spring news") == 2 && sinkCount(t, env, "cat@example.org", "Spring news") == 2
	})

	// Cat follows the unsubscribe link of her mail: the page asks, the
	// button does it, and no login is needed.
	link := unsubscribeLink(t, env, "cat@example.org")
	cb := newTab(t, env)
	cb.do("open the unsubscribe link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#unsubscribe-confirm")))
	cb.accessible("unsubscribe")
	cb.do("confirm", chromedp.Click(chromedp.CSS("#unsubscribe-confirm")), chromedp.WaitVisible(chromedp.CSS("#unsubscribe-done")))
	if done := cb.text("#unsubscribe-done"); !strings.Contains(done, "cat@example.org") {
		t.Fatalf("after unsubscribing: %q", done)
	}
	b.do("the clients list shows it", chromedp.Navigate(env.URL+"/clients"), chromedp.WaitVisible(chromedp.CSS("#clients")))
	testenv.Eventually(t, 30*time.Second, "Cat shown unsubscribed", func() bool {
		if _, err := chromedp.Run(b.ctx, chromedp.Reload()); err != nil {
			return false
		}
		return strings.Contains(b.text("#clients"), "Unsubscribed")
	})

	// Another user sees none of it.
	other := apptest.SignUp(env, testenv.Name("other")+"@example.com", password)
	ob := newTab(t, env)
	ob.signIn(other.Token)
	for _, path := range []string{"/mailings/" + first, "/mailings/" + first + "/edit", "/messages/" + messageID} {
		ob.do("another user opens "+path, chromedp.Navigate(env.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if h := ob.text("main h1"); h != "Page not found" {
			t.Fatalf("another user's %s: %q", path, h)
		}
	}

	// A form on another origin posting to Herald with Ann's cookie.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><form method="post" action="%s/clients"><input name="email" value="mallory@example.net">
<input name="full_name" value="Mallory"><button id="go">Go</button></form>`, env.URL)
	}))
	defer evil.Close()
	b.do("a cross-origin form post",
		chromedp.Navigate(evil.URL),
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS("main h1")))
	if h := b.text("main h1"); h != "Request refused" {
		t.Fatalf("the cross-origin post: %q", h)
	}
	b.do("the clients list", chromedp.Navigate(env.URL+"/clients"), chromedp.WaitVisible(chromedp.CSS("#clients")))
	if list := b.text("#clients"); strings.Contains(list, "mallory") {
		t.Fatalf("the cross-origin post created a client: %q", list)
	}

	b.do("switch to Russian",
		chromedp.Navigate(env.URL+"/mailings"),
		chromedp.Click(chromedp.CSS(`footer button[value="ru"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="ru"] main h1`)))
	if h := b.text("main h1"); h != "Рассылки" {
		t.Fatalf("the Russian mailings page: %q", h)
	}

	// A manager blocks Ann and disables her later mailing.
	manager := signUpManager(t, env)
	mb := newTab(t, env)
	mb.signIn(manager.Token)
	mb.do("the manager searches the users",
		chromedp.Navigate(env.URL+"/manage/users?q="+strings.Split(email, "@")[0]),
		chromedp.WaitVisible(chromedp.CSS(`button[id^="block-"]`)))
	mb.do("and blocks Ann", chromedp.Click(chromedp.CSS(`button[id^="block-"]`)), chromedp.WaitVisible(chromedp.CSS(`button[id^="activate-"]`)))
	mb.do("the manager disables the later mailing",
		chromedp.Navigate(env.URL+"/manage/mailings"),
		chromedp.WaitVisible(chromedp.CSS("#disable-"+second)),
		chromedp.Click(chromedp.CSS("#disable-"+second)),
		chromedp.WaitVisible(chromedp.CSS("#enable-"+second)))

	b.do("Ann's session has ended", chromedp.Navigate(env.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#login-submit")))
	b.do("Ann tries to sign in",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")))
	if msg := b.text("#form-error"); !strings.Contains(msg, "заблокирован") {
		t.Fatalf("a blocked account signing in (Russian UI): %q", msg)
	}
}

// sinkCount is how many messages to rcpt with subject the sink holds.
func sinkCount(t *testing.T, env *apptest.Env, rcpt, subject string) int {
	t.Helper()
	msgs, err := env.Sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		for _, r := range m.Recipients {
			if r == rcpt && m.Subject == subject {
				n++
			}
		}
	}
	return n
}

// unsubscribeLink is the List-Unsubscribe URL of the first mail to rcpt at
// the sink.
func unsubscribeLink(t *testing.T, env *apptest.Env, rcpt string) string {
	t.Helper()
	msgs, err := env.Sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if slices.Contains(m.Recipients, rcpt) {
			if h := m.Header.Get("List-Unsubscribe"); h != "" {
				return strings.TrimSuffix(strings.TrimPrefix(strings.Split(h, ", ")[0], "<"), ">")
			}
		}
	}
	t.Fatalf("no mail to %s with List-Unsubscribe", rcpt)
	return ""
}
