package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// landOn follows the post/redirect/get of a form: res must send the browser
// to path with a flash, and the page there shows it.
func landOn(t *testing.T, env *apptest.Env, res *http.Response, path, cookie string) string {
	t.Helper()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
		t.Fatalf("want a redirect to %s, got %d %q", path, res.StatusCode, res.Header.Get("Location"))
	}
	for _, c := range res.Cookies() {
		if c.Name == "herald_flash" {
			cookie += "; herald_flash=" + c.Value
		}
	}
	_, body := get(t, env, path, "Cookie", cookie)
	return body
}

var clientRow = regexp.MustCompile(`<tr id="client-([0-9a-f-]{36})">`)

func TestClientPages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token

	t.Run("anonymous visitors go to the login page", func(t *testing.T) {
		res, _ := get(t, env, "/clients?q=x")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fclients%3Fq%3Dx" {
			t.Errorf("GET /clients: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, _ = postForm(t, env, "/clients", url.Values{"email": {"ann@example.org"}, "full_name": {"Ann"}}, "")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?") {
			t.Errorf("POST /clients: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})

	_, body := get(t, env, "/clients", "Cookie", cookie)
	if !strings.Contains(body, `id="clients-empty"`) || strings.Contains(body, `id="clients"`) {
		t.Fatalf("no clients yet, but the list shows: %q", body)
	}

	res, body := postForm(t, env, "/clients", url.Values{"email": {"not an address"}, "comment": {"kept"}}, cookie)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="full_name-error"`) {
		t.Fatalf("a client without a name: %d %q", res.StatusCode, body)
	}
	res, body = postForm(t, env, "/clients", url.Values{"email": {"not an address"}, "full_name": {"Ann Lee"}}, cookie)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="email-error"`) ||
		strings.Contains(body, `id="full_name-error"`) || !strings.Contains(body, `value="Ann Lee"`) {
		t.Fatalf("the core's refusal of the email is not shown by the field: %d %q", res.StatusCode, body)
	}

	res, _ = postForm(t, env, "/clients", url.Values{"email": {"ann@example.org"}, "full_name": {"Ann Lee"}, "comment": {"met at the fair"}}, cookie)
	body = landOn(t, env, res, "/clients", cookie)
	if !strings.Contains(body, "Client added.") || !strings.Contains(body, "ann@example.org") {
		t.Fatalf("the list after adding Ann: %q", body)
	}
	m := clientRow.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no client row: %q", body)
	}
	id := m[1]
	var fromAPI struct {
		FullName string `json:"full_name"`
		Comment  string `json:"comment"`
		Version  int64  `json:"version"`
	}
	env.Do("GET", "/api/v1/clients/"+id, nil, apptest.Bearer(a.Token)...).Decode(t, &fromAPI)
	if fromAPI.FullName != "Ann Lee" || fromAPI.Comment != "met at the fair" {
		t.Fatalf("the API shows %+v", fromAPI)
	}

	res, body = postForm(t, env, "/clients", url.Values{"email": {"ANN@example.org"}, "full_name": {"Ann again"}}, cookie)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "You already have a client with this email.") {
		t.Fatalf("a second client with Ann's email: %d %q", res.StatusCode, body)
	}
	env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "bob@example.org", "full_name": "Bob Stone"})

	t.Run("search keeps the clients whose email or name contains q", func(t *testing.T) {
		testenv.Eventually(t, 30*time.Second, "Bob in the list", func() bool {
			_, body := get(t, env, "/clients", "Cookie", cookie)
			return strings.Contains(body, "bob@example.org")
		})
		_, body := get(t, env, "/clients?q=STONE", "Cookie", cookie)
		if !strings.Contains(body, "bob@example.org") || strings.Contains(body, "ann@example.org") {
			t.Errorf("q=STONE: %q", body)
		}
		_, body = get(t, env, "/clients?q=nobody", "Cookie", cookie)
		if !strings.Contains(body, `id="clients-empty"`) || !strings.Contains(body, `value="nobody"`) {
			t.Errorf("q=nobody: %q", body)
		}
	})

	t.Run("edit, with the page's version guarding a change made meanwhile", func(t *testing.T) {
		_, body := get(t, env, "/clients/"+id+"/edit", "Cookie", cookie)
		version := fmt.Sprintf(`name="version" value="%d"`, fromAPI.Version)
		if !strings.Contains(body, version) || !strings.Contains(body, "met at the fair") {
			t.Fatalf("the edit page: %q", body)
		}
		form := url.Values{"email": {"ann@example.org"}, "full_name": {"Ann Lee-Smith"}, "comment": {""},
			"version": {fmt.Sprint(fromAPI.Version)}}
		res, _ := postForm(t, env, "/clients/"+id, form, cookie)
		if body := landOn(t, env, res, "/clients", cookie); !strings.Contains(body, "Client saved.") || !strings.Contains(body, "Ann Lee-Smith") {
			t.Fatalf("the list after the edit: %q", body)
		}
		// The same form again: its version is no longer the client's.
		form.Set("full_name", "Ann Overwritten")
		res, body = postForm(t, env, "/clients/"+id, form, cookie)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, html.EscapeString("This client was changed meanwhile")) {
			t.Fatalf("a stale edit: %d %q", res.StatusCode, body)
		}
		env.Do("GET", "/api/v1/clients/"+id, nil, apptest.Bearer(a.Token)...).Decode(t, &fromAPI)
		if fromAPI.FullName != "Ann Lee-Smith" || fromAPI.Comment != "" {
			t.Errorf("after the stale edit the API shows %+v", fromAPI)
		}
	})

	t.Run("another user's client is not found", func(t *testing.T) {
		b := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
		other := "herald_session=" + b.Token
		if res, body := get(t, env, "/clients/"+id+"/edit", "Cookie", other); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "Page not found") {
			t.Errorf("GET edit: %d", res.StatusCode)
		}
		form := url.Values{"email": {"mine@example.org"}, "full_name": {"Taken"}}
		if res, _ := postForm(t, env, "/clients/"+id, form, other); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST edit: %d", res.StatusCode)
		}
		if res, _ := postForm(t, env, "/clients/"+id+"/delete", nil, other); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST delete: %d", res.StatusCode)
		}
		if _, body := get(t, env, "/clients", "Cookie", other); strings.Contains(body, "ann@example.org") {
			t.Errorf("the other user's list shows Ann: %q", body)
		}
		if r := env.Do("GET", "/api/v1/clients/"+id, nil, apptest.Bearer(a.Token)...); r.Status != http.StatusOK {
			t.Errorf("Ann after the other user's attempts: %d", r.Status)
		}
	})

	t.Run("delete", func(t *testing.T) {
		res, _ := postForm(t, env, "/clients/"+id+"/delete", nil, cookie)
		body := landOn(t, env, res, "/clients", cookie)
		if !strings.Contains(body, "Client deleted.") || strings.Contains(body, "ann@example.org") {
			t.Fatalf("the list after deleting Ann: %q", body)
		}
		if r := env.Do("GET", "/api/v1/clients/"+id, nil, apptest.Bearer(a.Token)...); r.Status != http.StatusNotFound {
			t.Errorf("the API still has Ann: %d", r.Status)
		}
		if res, _ := get(t, env, "/clients/"+id+"/edit", "Cookie", cookie); res.StatusCode != http.StatusNotFound {
			t.Errorf("editing a deleted client: %d", res.StatusCode)
		}
	})
}

// The list pages through many clients with a Next link that keeps q.
func TestClientListPages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token
	for i := range 21 {
		env.Create(a.Token, "/api/v1/clients", map[string]any{"email": fmt.Sprintf("c%02d@example.org", i), "full_name": "Reader"})
	}
	env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "other@example.org", "full_name": "Someone"})
	next := regexp.MustCompile(`href="([^"]+)" id="clients-next"`)
	var link string
	testenv.Eventually(t, 30*time.Second, "a second page of readers", func() bool {
		_, body := get(t, env, "/clients?q=reader", "Cookie", cookie)
		m := next.FindStringSubmatch(body)
		if m == nil || len(clientRow.FindAllString(body, -1)) != 20 {
			return false
		}
		link = html.UnescapeString(m[1])
		return true
	})
	if !strings.Contains(link, "q=reader") {
		t.Fatalf("the next link %q drops the search", link)
	}
	_, body := get(t, env, link, "Cookie", cookie)
	if n := len(clientRow.FindAllString(body, -1)); n != 1 || strings.Contains(body, `id="clients-next"`) || strings.Contains(body, "other@example.org") {
		t.Errorf("the last page has %d rows: %q", n, body)
	}
}

// Staff holding clients.view_all list everyone's clients, as the API does,
// with their owners, and get no edit or delete button for others'; the
// server refuses those anyway.
func TestClientsListForStaff(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	owner := apptest.SignUp(env, testenv.Name("owner")+"@example.com", "correct horse battery")
	id := env.Create(owner.Token, "/api/v1/clients", map[string]any{"email": "dora@example.org", "full_name": "Dora Owned"})
	manager := signUpManager(t, env)
	cookie := "herald_session=" + manager.Token

	var body string
	testenv.Eventually(t, 30*time.Second, "the owner's client in the manager's list", func() bool {
		_, body = get(t, env, "/clients", "Cookie", cookie)
		return strings.Contains(body, `id="client-`+id.String()+`"`)
	})
	row := body[strings.Index(body, `id="client-`+id.String()+`"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, owner.ID.String()) || strings.Contains(row, "/edit") || strings.Contains(row, "/delete") {
		t.Fatalf("the owner's client as the manager sees it: %q", row)
	}
	if res, _ := postForm(t, env, "/clients/"+id.String(), url.Values{"email": {"x@example.org"}, "full_name": {"X"}, "version": {"1"}}, cookie); res.StatusCode < 400 {
		t.Fatalf("the manager edited another user's client: %d", res.StatusCode)
	}
	if res, _ := postForm(t, env, "/clients/"+id.String()+"/delete", url.Values{}, cookie); res.StatusCode < 400 {
		t.Fatalf("the manager deleted another user's client: %d", res.StatusCode)
	}

	// The owner sees only their own, with the buttons and no owner column.
	_, body = get(t, env, "/clients", "Cookie", "herald_session="+owner.Token)
	if !strings.Contains(body, `/clients/`+id.String()+`/edit`) || strings.Contains(body, `class="owner"`) {
		t.Fatalf("the owner's list: %q", body)
	}
}
