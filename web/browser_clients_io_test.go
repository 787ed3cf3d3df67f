package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// A user opens the import from the clients list, chooses a CSV file, sends
// it and reads the report, its rejected lines by number, in a real browser.
func TestBrowserClientImport(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "kept@example.org", "full_name": "Kept Before"})
	file := filepath.Join(t.TempDir(), "clients.csv")
	err := os.WriteFile(file, []byte("email,full_name,comment\n"+
		"ann@example.org,Ann Lee,met at the fair\n"+
		"not an address,Nobody,\n"+
		"kept@example.org,Kept Again,\n"+
		"bob@example.org,Bob Stone,\n"+
		"carl@example.org,,no name\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	b := newTab(t, env)
	b.signIn(a.Token)

	b.do("open the import from the list",
		chromedp.Navigate(env.URL+"/clients"),
		chromedp.Click(chromedp.CSS("#clients-import")),
		chromedp.WaitVisible(chromedp.CSS("#file")))
	if at := b.location(); !strings.HasSuffix(at, "/clients/import") {
		t.Fatalf("the import link led to %s", at)
	}
	b.accessible("client_import")
	screenshot(t, b.ctx, "client_import")

	b.do("send the file",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.Click(chromedp.CSS("#import-submit")),
		chromedp.WaitVisible(chromedp.CSS("#import-created")))
	created, skipped, rejected := b.text("#import-created"), b.text("#import-skipped"), b.text("#import-rejected")
	if created != "2" || skipped != "1" || rejected != "2" {
		t.Fatalf("report: created %s, skipped %s, rejected %s", created, skipped, rejected)
	}
	if line3, line6 := b.text("#rejected-line-3"), b.text("#rejected-line-6"); !strings.Contains(line3, "not a valid email") ||
		!strings.Contains(line6, "name") {
		t.Fatalf("rejected lines: %q, %q", line3, line6)
	}
	b.accessible("client_import_report")
	screenshot(t, b.ctx, "clients_import")

	b.do("back to the list",
		chromedp.Click(chromedp.CSS("#import-back")),
		chromedp.WaitVisible(chromedp.CSS("#clients")))
	// The list is the read model, which may still be applying the import.
	testenv.Eventually(t, 30*time.Second, "the imported clients in the list", func() bool {
		list := b.text("#clients")
		if strings.Contains(list, "Bob Stone") && strings.Contains(list, "Kept Before") {
			return true
		}
		b.do("reload the list", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#clients")))
		return false
	})
}
