package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// A user writes a message through the form, previews it as its recipients
// will see it (line breaks kept) and edits it, in a real browser.
func TestBrowserMessages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	b := newTab(t, env)
	b.signIn(a.Token)
	do, text, location := b.do, b.text, b.location
	eval := func(expr string) string { // what the JavaScript expression gives on the page
		t.Helper()
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return s
	}

	do("open the empty list from the menu",
		chromedp.Navigate(env.URL+"/dashboard"),
		chromedp.Click(chromedp.CSS(`header a[href="/messages"]`)),
		chromedp.WaitVisible(chromedp.CSS("#messages-empty")))
	b.accessible("messages (empty)")

	do("try to save an empty message",
		chromedp.Click(chromedp.CSS("#message-new")),
		chromedp.WaitVisible(chromedp.CSS("#subject")),
		chromedp.Click(chromedp.CSS("#message-save")),
		chromedp.WaitVisible(chromedp.CSS("#subject-error")))
	b.accessible("message form with errors")

	do("write a message",
		chromedp.SendKeys(chromedp.CSS("#subject"), "Spring news"),
		chromedp.SendKeys(chromedp.CSS("#body"), "Dear reader,\n\nThe garden opens on Monday.\n  — Ann"),
		chromedp.Click(chromedp.CSS("#message-save")),
		chromedp.WaitVisible(chromedp.CSS("#messages")))
	if flash, list, at := text("#flash"), text("#messages"), location(); !strings.HasSuffix(at, "/messages") ||
		!strings.Contains(flash, "Message saved") || !strings.Contains(list, "Spring news") {
		t.Fatalf("after writing a message: at %s, flash %q, list %q", at, flash, list)
	}
	b.accessible("messages")
	screenshot(t, b.ctx, "messages")

	do("preview it",
		chromedp.Click(chromedp.CSS(`#messages td a`)),
		chromedp.WaitVisible(chromedp.CSS("#message-preview")))
	// The text as shown keeps its line breaks and leading spaces: the
	// rendered text, not only the HTML source.
	shown, whiteSpace := eval(`document.querySelector("#preview-body").innerText`),
		eval(`getComputedStyle(document.querySelector("#preview-body")).whiteSpace`)
	if shown != "Dear reader,\n\nThe garden opens on Monday.\n  — Ann" || whiteSpace != "pre-wrap" {
		t.Fatalf("the preview shows %q (white-space %s)", shown, whiteSpace)
	}
	if from, subject := text("#preview-from"), text("#preview-subject"); from != "Herald <herald@test.localhost>" || subject != "Spring news" {
		t.Fatalf("the preview's headers: from %q, subject %q", from, subject)
	}
	b.accessible("message preview")
	screenshot(t, b.ctx, "message_preview")

	do("edit it",
		chromedp.Click(chromedp.CSS("#message-edit")),
		chromedp.WaitVisible(chromedp.CSS("#body")))
	if typed := eval(`document.querySelector("#body").value`); typed != "Dear reader,\n\nThe garden opens on Monday.\n  — Ann" {
		t.Fatalf("the edit form holds %q", typed)
	}
	b.accessible("message form")
	do("change the subject",
		chromedp.Clear(chromedp.CSS("#subject")),
		chromedp.SendKeys(chromedp.CSS("#subject"), "Summer news"),
		chromedp.Click(chromedp.CSS("#message-save")),
		chromedp.WaitVisible(chromedp.CSS("#message-preview")))
	if flash, subject, body := text("#flash"), text("#preview-subject"), text("#preview-body"); !strings.Contains(flash, "Message changed") ||
		subject != "Summer news" || !strings.Contains(body, "garden opens") {
		t.Fatalf("after the edit: flash %q, subject %q, body %q", flash, subject, body)
	}
}
