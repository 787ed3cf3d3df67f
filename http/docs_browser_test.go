package http_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	api "github.com/heraldmail/herald/http"
)

// cspWatch records, from before the page's own scripts run, every
// Content-Security-Policy violation of the page (DevTools' scripts are not
// bound by the policy).
const cspWatch = `window.__violations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__violations.push(e.violatedDirective + " " + e.blockedURI + " at " + e.sourceFile));`

// expectedRefusals are what the policy refuses Redoc, which does without:
// compiling its search worker from a string (it then searches in the page)
// and the Redocly logo of its footer badge from Redocly's CDN. Anything
// else refused is a page that breaks under its policy.
func expectedRefusal(v string) bool {
	return strings.HasPrefix(v, "script-src eval ") && strings.Contains(v, "/api/docs/redoc.standalone.") ||
		strings.HasPrefix(v, "img-src https://cdn.redoc.ly/")
}

// inPage is a JavaScript predicate: the page shows text.
func inPage(text string) string {
	return `document.body.innerText.includes(` + strings.ReplaceAll(`"`+text+`"`, "\n", " ") + `)`
}

// In Chromium, the API reference page renders the document with Redoc
// under its own Content-Security-Policy: the summary, an operation and a
// search show, the policy refuses nothing Redoc needs, and no script error
// is logged. Needs Chromium (scripts/browser.sh install);
// HERALD_SCREENSHOTS=1 saves docs/screenshots/api-docs.png.
func TestAPIReferenceRendersInChromium(t *testing.T) {
	t.Parallel()
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
	srv := httptest.NewServer(api.NewRouter(api.Config{}))
	defer srv.Close()

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	// Subscribed before the page loads, read once it has rendered.
	listening, stopListening := context.WithCancel(ctx)
	defer stopListening()
	console := chromedp.Console(listening)

	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("open the page",
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
			return err
		}),
		chromedp.Navigate(srv.URL+"/api/docs"),
		// Redoc has read the document: its summary is on the page.
		chromedp.Poll[chromedp.Void](inPage("Email mailings as an event-sourced CQRS service.")),
	)
	step("show an operation",
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/identity/login"`),
		chromedp.Poll[chromedp.Void](inPage("Exchange email and password for a bearer token")),
	)
	if os.Getenv("HERALD_SCREENSHOTS") == "1" {
		time.Sleep(2 * time.Second) // the menu's animation, the search index
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "screenshots", "api-docs.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const found = "Send the mailing now to all its clients"
	if shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](inPage(found))); err != nil || shown {
		t.Fatalf("the login page shows %q already (%v): the search below proves nothing", found, err)
	}
	step("search",
		chromedp.Click(chromedp.Search(`//*[contains(text(), "Search")]`)),
		chromedp.SendKeys(chromedp.CSS(`input[placeholder^="Search"]`), "dispatch"),
		chromedp.Poll[chromedp.Void](inPage(found)),
	)

	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__violations`))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		if !expectedRefusal(v) {
			t.Errorf("the Content-Security-Policy refused %s", v)
		}
	}
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || !strings.Contains(title, "Herald") {
		t.Errorf("title %q, %v", title, err)
	}
	// The messages so far (the queue is read long before the subscription
	// ends, which closes the tab).
	time.AfterFunc(300*time.Millisecond, stopListening)
	for m, err := range console {
		if err != nil {
			break
		}
		if (m.Type == chromedp.ConsoleError || m.IsException()) && !strings.Contains(m.Text, "cdn.redoc.ly") {
			t.Errorf("the page logged %s", m)
		}
	}
}
