package web_test

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// tab is one browser tab of a test, with the steps the browser tests share.
type tab struct {
	t   *testing.T
	ctx context.Context
	env *apptest.Env
}

func newTab(t *testing.T, env *apptest.Env) *tab {
	return &tab{t: t, ctx: browser(t), env: env}
}

// do runs steps, each group at most stepTimeout, so a page that never shows
// what a step waits for fails the step, not the whole test's deadline.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// htmxReady waits until the page has loaded, htmx has taken it over and
// no htmx request, swap or settling is under way. A click on what htmx
// enhances needs it: WaitVisible finds an element while the document is
// still being parsed (before the deferred htmx script has run) or while a
// swapped-in element is still settling (before htmx has bound it), and a
// click then submits a plain form and loads the page again.
var htmxReady = chromedp.Poll[chromedp.Void](`document.readyState === 'complete' && window.htmx !== undefined &&
	document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added') === null`)

// localDateTime is t as a datetime-local input holds it. The browser keeps
// a value on the minute without its ":00" seconds, and SetValue reads the
// value back: given the seconds, it fails one time in sixty.
func localDateTime(t time.Time) string {
	if t.Second() == 0 {
		return t.Format("2006-01-02T15:04")
	}
	return t.Format("2006-01-02T15:04:05")
}

// text reads sel once it is on the page; a read that races a document
// being replaced (the node it found is gone) is made again.
func (b *tab) text(sel string) string {
	b.t.Helper()
	var s string
	var err error
	testenv.Eventually(b.t, 30*time.Second, "to read "+sel, func() bool {
		if _, err = chromedp.Run(b.ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			return false
		}
		s, err = chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
		return err == nil
	})
	return s
}

// location is the tab's URL.
func (b *tab) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// signIn gives the tab the session cookie of token (from apptest.SignUp or
// a login), as the login page would.
func (b *tab) signIn(token string) {
	b.t.Helper()
	b.do("set the session cookie", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: "herald_session", Value: token,
			URL: b.env.URL + "/", HTTPOnly: new(true)})
		return err
	}))
}

//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolation is one rule axe-core found broken on a page.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// accessible runs axe-core (web/testdata/axe) on the tab's page and fails
// the test on a serious or critical violation of WCAG 2.x A/AA rules.
func (b *tab) accessible(page string) {
	b.t.Helper()
	var res []axeViolation
	b.do("run axe-core on "+page, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Evaluate[chromedp.Void](axeSource)(ctx, t); err != nil {
			return fmt.Errorf("load axe-core: %w", err)
		}
		var err error
		res, err = chromedp.Evaluate[[]axeViolation](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, resultTypes: ["violations"]}).then(r => r.violations)`,
			chromedp.EvalAwaitPromise)(ctx, t)
		return err
	}))
	for _, v := range res {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target...))
			}
			b.t.Errorf("%s: axe %s (%s): %s at %s", page, v.ID, v.Impact, v.Help, strings.Join(where, ", "))
		}
	}
}
