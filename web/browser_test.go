package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// browser starts headless Chromium for the test. A machine without it
// fails the test: scripts/browser.sh install provides it.
func browser(t *testing.T) context.Context {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("no Chromium found on PATH: run scripts/browser.sh install")
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1024, 768))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v (scripts/browser.sh install)", bin, err)
	}
	return ctx
}

// screenshot saves the page as docs/screenshots/<name>.png when
// HERALD_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("HERALD_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

const stepTimeout = 30 * time.Second

var mailedLink = regexp.MustCompile(`(?m)^(http://\S+/verify\?token=[A-Za-z0-9_-]{43})\r?$`)

// verificationLink waits for the verification mail to email in the sink
// and returns the page link it holds.
func verificationLink(t *testing.T, env *apptest.Env, email string) string {
	t.Helper()
	var link string
	testenv.Eventually(t, 30*time.Second, "the verification mail to "+email, func() bool {
		msgs, err := env.Sink.Messages()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if slices.Contains(m.Recipients, email) {
				if got := mailedLink.FindStringSubmatch(m.Body); got != nil {
					link = got[1]
				}
			}
		}
		return link != ""
	})
	if !strings.HasPrefix(link, env.URL+"/verify?") {
		t.Fatalf("the mailed link %q is not the verify page of %s", link, env.URL)
	}
	return link
}

// A visitor signs up, confirms the address, is sent to the login page by
// the dashboard, comes back to it after logging in, adds a client, and logs
// out, all in a real browser and without JavaScript of ours.
func TestBrowserSignUpLoginLogout(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	b := newTab(t, env)
	ctx := b.ctx
	email := testenv.Name("web") + "@example.com"
	const name, password = "Ann Example", "correct horse battery"

	do, text, location := b.do, b.text, b.location

	// The public pages meet the accessibility rules too.
	for _, page := range []struct{ path, wait string }{
		{"/", "main h1"}, {"/register", "#password"}, {"/password-reset", "main form"},
		{"/verify?token=nonsense", "main h1"}, {"/no-such-page", "main h1"},
	} {
		do("open "+page.path, chromedp.Navigate(env.URL+page.path), chromedp.WaitVisible(chromedp.CSS(page.wait)))
		b.accessible(page.path)
	}

	do("register",
		chromedp.Navigate(env.URL+"/register"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#flash")))
	if flash, at := text("#flash"), location(); !strings.Contains(flash, "Account created") || !strings.HasSuffix(at, "/login") {
		t.Fatalf("after registering: at %s, flash %q", at, flash)
	}

	do("verify",
		chromedp.Navigate(verificationLink(t, env, email)),
		chromedp.WaitVisible(chromedp.CSS("#flash")))
	if flash := text("#flash"); !strings.Contains(flash, "confirmed") {
		t.Fatalf("after verifying: flash %q", flash)
	}

	do("open the dashboard anonymously",
		chromedp.Navigate(env.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("#login-submit")))
	if at := location(); !strings.HasSuffix(at, "/login?next=%2Fdashboard") {
		t.Fatalf("anonymous /dashboard landed on %s", at)
	}
	do("fill the login form",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password))
	b.accessible("login")
	screenshot(t, ctx, "login")
	do("log in",
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#greeting")))
	if greeting, at := text("#greeting"), location(); !strings.HasSuffix(at, "/dashboard") || !strings.Contains(greeting, name) {
		t.Fatalf("after login: at %s, greeting %q", at, greeting)
	}
	// The dashboard's screenshot, with figures, is TestBrowserDashboardAndReports's.
	b.accessible("dashboard")

	do("switch to Russian in the footer",
		chromedp.Click(chromedp.CSS(`footer button[value="ru"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="ru"] #greeting`)))
	if heading := text("main h1"); heading != "Панель" {
		t.Fatalf("Russian dashboard heading %q", heading)
	}
	do("switch back to English",
		chromedp.Click(chromedp.CSS(`footer button[value="en"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #greeting`)))

	do("add a client through the form",
		chromedp.Click(chromedp.CSS(`header a[href="/clients"]`)),
		chromedp.WaitVisible(chromedp.CSS("#clients-empty")),
		chromedp.Click(chromedp.CSS("#client-new")),
		chromedp.WaitVisible(chromedp.CSS("#full_name")),
		chromedp.SendKeys(chromedp.CSS("#email"), "bob@example.org"),
		chromedp.SendKeys(chromedp.CSS("#full_name"), "Bob Stone"),
		chromedp.Click(chromedp.CSS("#client-save")),
		chromedp.WaitVisible(chromedp.CSS("#clients")))
	if flash, list, at := text("#flash"), text("#clients"), location(); !strings.HasSuffix(at, "/clients") ||
		!strings.Contains(flash, "Client added") || !strings.Contains(list, "Bob Stone") || !strings.Contains(list, "bob@example.org") {
		t.Fatalf("after adding a client: at %s, flash %q, list %q", at, flash, list)
	}
	b.accessible("clients")
	screenshot(t, ctx, "clients")

	// Wait for the login page, not for #flash: the page being left has a
	// flash of its own.
	do("log out",
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#login-submit")))
	if flash := text("#flash"); !strings.Contains(flash, "signed out") {
		t.Fatalf("after logout: flash %q", flash)
	}
	do("open the dashboard after logout",
		chromedp.Navigate(env.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("#login-submit")))
	if at := location(); !strings.HasSuffix(at, "/login?next=%2Fdashboard") {
		t.Fatalf("/dashboard after logout landed on %s", at)
	}
}
