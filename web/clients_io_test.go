package web_test

import (
	"bytes"
	"encoding/csv"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// upload posts the import form as a browser does: multipart/form-data
// with the file part named "file" (filename "" when none was chosen).
func upload(t *testing.T, env *apptest.Env, filename, content, cookie string) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", env.URL+"/clients/import", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", env.URL)
	req.Header.Set("Accept", "text/html")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return send(t, req)
}

// exportedCSV reads /clients/export.csv and returns the rows after the
// header.
func exportedCSV(t *testing.T, env *apptest.Env, cookie string) [][]string {
	t.Helper()
	res, body := get(t, env, "/clients/export.csv", "Cookie", cookie)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %q %q", res.StatusCode, res.Header, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) == 0 || !slices.Equal(recs[0], []string{"email", "full_name", "comment"}) {
		t.Fatalf("export %q: %v", body, err)
	}
	return recs[1:]
}

// count reads the figure of the report with id.
func count(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<dd id="` + id + `">([0-9]+)</dd>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s on the report: %q", id, body)
	}
	return m[1]
}

func TestClientImportExportPages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token
	env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "kept@example.org", "full_name": "Kept Before"})

	t.Run("anonymous visitors go to the login page", func(t *testing.T) {
		for _, path := range []string{"/clients/import", "/clients/export.csv"} {
			res, _ := get(t, env, path)
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
				t.Errorf("GET %s: %d %q", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
		res, _ := upload(t, env, "clients.csv", "email,full_name,comment\nann@example.org,Ann,\n", "")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?") {
			t.Errorf("POST /clients/import: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})

	_, body := get(t, env, "/clients", "Cookie", cookie)
	if !strings.Contains(body, `href="/clients/import" id="clients-import"`) || !strings.Contains(body, `href="/clients/export.csv" id="clients-export"`) {
		t.Fatalf("the list links neither import nor export: %q", body)
	}
	res, body := get(t, env, "/clients/import", "Cookie", cookie)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `enctype="multipart/form-data"`) ||
		!strings.Contains(body, `<label for="file">`) || !strings.Contains(body, `type="file"`) {
		t.Fatalf("the import form: %d %q", res.StatusCode, body)
	}

	res, body = postForm(t, env, "/clients/import", url.Values{"file": {"email,full_name,comment"}}, cookie)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="file-error"`) {
		t.Fatalf("a form that is not multipart: %d %q", res.StatusCode, body)
	}
	res, body = upload(t, env, "", "", cookie)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="file-error"`) || !strings.Contains(body, "Choose a CSV file") {
		t.Fatalf("no file chosen: %d %q", res.StatusCode, body)
	}
	res, body = upload(t, env, "clients.csv", "mail;name\nann@example.org;Ann\n", cookie)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="file-error"`) ||
		!strings.Contains(body, "must be the header email,full_name,comment") {
		t.Fatalf("a file without the header: %d %q", res.StatusCode, body)
	}

	file := "\ufeffemail,full_name,comment\r\n" +
		"ann@example.org,Ann Lee,\"met at the fair, twice\"\r\n" + // 2
		"not an address,Nobody,\r\n" + // 3
		"ANN@example.org,Ann Again,\r\n" + // 4
		"KEPT@example.org,Kept Again,\r\n" + // 5
		"bob@example.org,,\r\n" + // 6
		"carl@example.org,Carl Dean,\r\n" // 7
	res, body = upload(t, env, "clients.csv", file, cookie)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the import: %d %q", res.StatusCode, body)
	}
	if c, s, r := count(t, body, "import-created"), count(t, body, "import-skipped"), count(t, body, "import-rejected"); c != "2" || s != "2" || r != "2" {
		t.Errorf("created %s, skipped %s, rejected %s", c, s, r)
	}
	rejected := regexp.MustCompile(`<tr id="rejected-line-([0-9]+)"><td>[0-9]+</td><td>([^<]*)</td></tr>`).FindAllStringSubmatch(body, -1)
	if len(rejected) != 2 || rejected[0][1] != "3" || html.UnescapeString(rejected[0][2]) != "This is not a valid email address." ||
		rejected[1][1] != "6" || !strings.Contains(rejected[1][2], "name") {
		t.Fatalf("the rejected lines: %q in %q", rejected, body)
	}

	t.Run("the report speaks the reader's language", func(t *testing.T) {
		res, body := upload(t, env, "clients.csv", "email,full_name,comment\nbad,Bad,\n", cookie+"; herald_lang=ru")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Отчёт об импорте") || strings.Contains(body, "not a valid email") {
			t.Errorf("in Russian: %d %q", res.StatusCode, body)
		}
	})

	want := [][]string{{"kept@example.org", "Kept Before", ""}, {"ann@example.org", "Ann Lee", "met at the fair, twice"},
		{"carl@example.org", "Carl Dean", ""}}
	testenv.Eventually(t, 30*time.Second, "the export to hold the imported clients", func() bool {
		return slices.EqualFunc(exportedCSV(t, env, cookie), want, slices.Equal)
	})
	_, body = get(t, env, "/clients", "Cookie", cookie)
	if !strings.Contains(body, "carl@example.org") {
		t.Errorf("the list does not show the imported clients: %q", body)
	}

	t.Run("another user imports and exports only their own", func(t *testing.T) {
		b := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
		other := "herald_session=" + b.Token
		if rows := exportedCSV(t, env, other); len(rows) != 0 {
			t.Fatalf("b's export before any import: %q", rows)
		}
		res, body := upload(t, env, "clients.csv", file, other)
		if res.StatusCode != http.StatusOK || count(t, body, "import-created") != "3" || count(t, body, "import-skipped") != "1" {
			t.Fatalf("b's import of the same file: %d %q", res.StatusCode, body)
		}
		testenv.Eventually(t, 30*time.Second, "b's export", func() bool {
			rows := exportedCSV(t, env, other)
			return len(rows) == 3 && !slices.ContainsFunc(rows, func(r []string) bool { return r[1] == "Kept Before" })
		})
		if rows := exportedCSV(t, env, cookie); !slices.EqualFunc(rows, want, slices.Equal) {
			t.Errorf("a's export after b's import: %q", rows)
		}
	})
}
