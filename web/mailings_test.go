package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// postWith posts form to path like a browser's form (or htmx, with
// "HX-Request", "true" in headers), not following redirects.
func postWith(t *testing.T, env *apptest.Env, path string, form url.Values, cookie string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", env.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", env.URL)
	req.Header.Set("Accept", "text/html")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return send(t, req)
}

var mailingRow = regexp.MustCompile(`<tr id="mailing-([0-9a-f-]{36})"`)

// mailingJSON is a mailing as GET /api/v1/mailings/{id} shows it.
type mailingJSON struct {
	MessageID   uuid.UUID   `json:"message_id"`
	ClientIDs   []uuid.UUID `json:"client_ids"`
	AllClients  bool        `json:"all_clients"`
	StartAt     time.Time   `json:"start_at"`
	EndAt       time.Time   `json:"end_at"`
	Periodicity string      `json:"periodicity"`
	Timezone    string      `json:"timezone"`
	Status      string      `json:"status"`
	IsActive    bool        `json:"is_active"`
	LastRunAt   *time.Time  `json:"last_run_at"`
	Version     int64       `json:"version"`
}

func apiMailing(t *testing.T, env *apptest.Env, token, id string) (int, mailingJSON) {
	t.Helper()
	var m mailingJSON
	res := env.Do("GET", "/api/v1/mailings/"+id, nil, apptest.Bearer(token)...)
	if res.Status == http.StatusOK {
		res.Decode(t, &m)
	}
	return res.Status, m
}

// mailingForm is a filled mailing form as the page posts it.
func mailingForm(message uuid.UUID, clients ...uuid.UUID) url.Values {
	f := url.Values{"message_id": {message.String()}, "start_at": {"2030-01-01T09:00"}, "end_at": {"2030-06-01T09:00"},
		"periodicity": {"weekly"}, "timezone": {"Europe/Moscow"}}
	for _, c := range clients {
		f.Add("client_id", c.String())
	}
	return f
}

// staffUser signs up an account and puts it in groups (managers makes it
// staff), waiting until its session carries them.
func staffUser(t *testing.T, env *apptest.Env, groups ...string) apptest.Account {
	t.Helper()
	a := apptest.SignUp(env, testenv.Name("staff")+"@example.com", "correct horse battery")
	uq, err := projections.NewUserQueries(env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	users, err := commands.NewUserHandler(env.App.Store, uq, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	meta := domain.Metadata{ActorID: uuid.New(), CorrelationID: uuid.New(), Command: "SetGroups"}
	if _, _, err := users.SetGroups(context.Background(), meta, a.ID, append([]string{domain.GroupUsers}, groups...), commands.NoIfMatch); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("groups %v on /me", groups), func() bool {
		var me struct {
			Groups []string `json:"groups"`
		}
		res := env.Do("GET", "/api/v1/me", nil, apptest.Bearer(a.Token)...)
		res.Decode(t, &me)
		return slices.Contains(me.Groups, groups[len(groups)-1])
	})
	return a
}

func TestMailingPages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token
	msg := env.Create(a.Token, "/api/v1/messages", map[string]any{"subject": "Spring news", "body": "Hello"})
	ann := env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "ann@example.org", "full_name": "Ann Lee"})
	bob := env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "bob@example.org", "full_name": "Bob Stone"})
	readers := make([]uuid.UUID, 150)
	for i := range readers {
		readers[i] = env.Create(a.Token, "/api/v1/clients", map[string]any{"email": fmt.Sprintf("r%03d@example.org", i), "full_name": "Reader"})
	}
	b := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	other := "herald_session=" + b.Token
	othersMsg := env.Create(b.Token, "/api/v1/messages", map[string]any{"subject": "Not yours", "body": "B"})

	t.Run("anonymous visitors go to the login page", func(t *testing.T) {
		for _, p := range []string{"/mailings", "/mailings/new", "/mailings/" + uuid.NewString() + "/edit"} {
			res, _ := get(t, env, p)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+url.QueryEscape(p) {
				t.Errorf("GET %s: %d %q", p, res.StatusCode, res.Header.Get("Location"))
			}
		}
		for _, p := range []string{"/mailings", "/mailings/" + uuid.NewString() + "/disable", "/mailings/" + uuid.NewString() + "/send"} {
			res, _ := postWith(t, env, p, mailingForm(msg, ann), "")
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?") {
				t.Errorf("POST %s: %d %q", p, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})

	_, body := get(t, env, "/mailings", "Cookie", cookie)
	if !strings.Contains(body, `id="mailings-empty"`) || strings.Contains(body, `id="mailings"`) {
		t.Fatalf("no mailings yet, but the list shows: %q", body)
	}
	// The form lists the owner's messages and clients once the read models
	// have them.
	testenv.Eventually(t, 30*time.Second, "the form with the message and all 152 clients", func() bool {
		_, body := get(t, env, "/mailings/new", "Cookie", cookie)
		return strings.Contains(body, "Spring news") && strings.Contains(body, "Choose all your clients, those you add later included (152 now)")
	})

	t.Run("the form refuses what is wrong next to each field", func(t *testing.T) {
		f := mailingForm(msg)
		res, body := postWith(t, env, "/mailings", f, cookie)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="client_ids-error"`) ||
			!strings.Contains(body, `value="2030-01-01T09:00"`) || !strings.Contains(body, `<option value="Europe/Moscow" selected>`) {
			t.Fatalf("no clients: %d %q", res.StatusCode, body)
		}
		f = mailingForm(msg, ann)
		f.Set("end_at", "2029-12-31T09:00")
		res, body = postWith(t, env, "/mailings", f, cookie)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="end_at-error"`) ||
			!strings.Contains(body, "The end must be after the start.") || strings.Contains(body, `id="client_ids-error"`) {
			t.Fatalf("end before start: %d %q", res.StatusCode, body)
		}
		for _, unknown := range []uuid.UUID{uuid.New(), othersMsg} {
			res, body = postWith(t, env, "/mailings", mailingForm(unknown, ann), cookie)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="message_id-error"`) ||
				strings.Contains(body, "Not yours") {
				t.Fatalf("message %s: %d %q", unknown, res.StatusCode, body)
			}
		}
		othersClient := env.Create(b.Token, "/api/v1/clients", map[string]any{"email": "theirs@example.org", "full_name": "Theirs"})
		res, body = postWith(t, env, "/mailings", mailingForm(msg, ann, othersClient), cookie)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="client_ids-error"`) {
			t.Fatalf("another user's client: %d %q", res.StatusCode, body)
		}
		f = mailingForm(msg, ann)
		f.Set("start_at", "soon")
		if res, body = postWith(t, env, "/mailings", f, cookie); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="start_at-error"`) {
			t.Fatalf("a start that is no time: %d %q", res.StatusCode, body)
		}
		if _, body := get(t, env, "/mailings", "Cookie", cookie); !strings.Contains(body, `id="mailings-empty"`) {
			t.Errorf("a refused form made a mailing: %q", body)
		}
	})

	var picked string
	t.Run("create with clients picked one by one", func(t *testing.T) {
		res, _ := postWith(t, env, "/mailings", mailingForm(msg, ann, bob), cookie)
		body := landOn(t, env, res, "/mailings", cookie)
		m := mailingRow.FindStringSubmatch(body)
		if !strings.Contains(body, "Mailing created.") || m == nil || !strings.Contains(body, "Spring news") || !strings.Contains(body, "2 recipients") {
			t.Fatalf("the list after creating: %q", body)
		}
		picked = m[1]
		_, got := apiMailing(t, env, a.Token, picked)
		if !slices.Equal(got.ClientIDs, []uuid.UUID{ann, bob}) || got.MessageID != msg || got.Periodicity != "weekly" ||
			got.Timezone != "Europe/Moscow" || !got.StartAt.Equal(time.Date(2030, 1, 1, 6, 0, 0, 0, time.UTC)) || !got.IsActive {
			t.Fatalf("the API shows %+v", got)
		}
	})

	var all string
	t.Run("a search keeps the form, and all its matches are one box", func(t *testing.T) {
		q := mailingForm(msg, ann)
		q.Set("filled", "1")
		q.Set("q", "reader")
		_, body := get(t, env, "/mailings/new?"+q.Encode(), "Cookie", cookie)
		for _, want := range []string{`value="2030-06-01T09:00"`, `<option value="weekly" selected>`, `name="listed_q" value="reader"`,
			html.EscapeString("Choose every client matching “reader” (150)"), "1 client chosen.", `name="client_id" value="` + ann.String() + `"`} {
			if !strings.Contains(body, want) {
				t.Fatalf("the search page lacks %s: %q", want, body)
			}
		}
		if n := strings.Count(body, `name="shown"`); n != 50 || !strings.Contains(body, `id="client-more"`) {
			t.Fatalf("the search lists %d clients", n)
		}
		// "All matching" chosen (the page then shows the listed readers
		// ticked), and one of them unticked: Ann, and 149 of the 150 readers.
		f := mailingForm(msg, ann)
		f.Set("q", "reader")
		f.Set("listed_q", "reader")
		f.Set("all_matching", "1")
		f.Add("all_q", "reader")
		f.Add("shown", readers[0].String())
		f.Add("shown", readers[1].String())
		f.Add("client_id", readers[1].String())
		res, _ := postWith(t, env, "/mailings", f, cookie)
		body = landOn(t, env, res, "/mailings", cookie)
		if !strings.Contains(body, "150 recipients") {
			t.Fatalf("the list after choosing all readers: %q", body)
		}
		for _, m := range mailingRow.FindAllStringSubmatch(body, -1) {
			if m[1] != picked {
				all = m[1]
			}
		}
		_, got := apiMailing(t, env, a.Token, all)
		if len(got.ClientIDs) != 150 || !slices.Contains(got.ClientIDs, ann) || slices.Contains(got.ClientIDs, readers[0]) ||
			!slices.Contains(got.ClientIDs, readers[149]) || slices.Contains(got.ClientIDs, bob) {
			t.Fatalf("the mailing has %d clients", len(got.ClientIDs))
		}
	})

	t.Run("edit, with the page's version guarding a change made meanwhile", func(t *testing.T) {
		_, before := apiMailing(t, env, a.Token, all)
		_, body := get(t, env, "/mailings/"+all+"/edit", "Cookie", cookie)
		for _, want := range []string{fmt.Sprintf(`name="version" value="%d"`, before.Version), `name="keep" value="1"`,
			`value="2030-01-01T09:00"`, "150 clients chosen.", `<option value="` + msg.String() + `" selected>`} {
			if !strings.Contains(body, want) {
				t.Fatalf("the edit page lacks %s: %q", want, body)
			}
		}
		// Keep the clients, one less, and send daily.
		f := mailingForm(msg)
		f.Set("periodicity", "daily")
		f.Set("keep", "1")
		f.Set("except", ann.String())
		f.Set("version", fmt.Sprint(before.Version))
		res, _ := postWith(t, env, "/mailings/"+all, f, cookie)
		if body := landOn(t, env, res, "/mailings", cookie); !strings.Contains(body, "Mailing saved.") || !strings.Contains(body, "149 recipients") {
			t.Fatalf("the list after the edit: %q", body)
		}
		_, got := apiMailing(t, env, a.Token, all)
		if got.Periodicity != "daily" || len(got.ClientIDs) != 149 || slices.Contains(got.ClientIDs, ann) {
			t.Fatalf("after the edit the API shows %s with %d clients", got.Periodicity, len(got.ClientIDs))
		}
		// The same form again: its version is no longer the mailing's.
		f.Set("periodicity", "monthly")
		res, body = postWith(t, env, "/mailings/"+all, f, cookie)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "This mailing was changed meanwhile") {
			t.Fatalf("a stale edit: %d %q", res.StatusCode, body)
		}
		if _, got := apiMailing(t, env, a.Token, all); got.Periodicity != "daily" {
			t.Errorf("after the stale edit the API shows %s", got.Periodicity)
		}
	})

	t.Run("disable and enable, as a plain form and with htmx", func(t *testing.T) {
		res, _ := postWith(t, env, "/mailings/"+picked+"/disable", url.Values{"next": {"/mailings?status=created"}}, cookie)
		if body := landOn(t, env, res, "/mailings?status=created", cookie); !strings.Contains(body, "Mailing disabled.") {
			t.Fatalf("the list after disabling: %q", body)
		}
		if _, got := apiMailing(t, env, a.Token, picked); got.IsActive {
			t.Fatal("the API shows the mailing active")
		}
		res, body := postWith(t, env, "/mailings/"+picked+"/enable", url.Values{"next": {"/mailings"}}, cookie, "HX-Request", "true")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), `<tr id="mailing-`+picked+`"`) ||
			strings.Contains(body, "<html") || !strings.Contains(body, `data-action="disable"`) || !strings.Contains(body, `hx-post="/mailings/`+picked+`/disable"`) {
			t.Fatalf("htmx enable: %d %q", res.StatusCode, body)
		}
		if _, got := apiMailing(t, env, a.Token, picked); !got.IsActive {
			t.Fatal("the API shows the mailing inactive")
		}
		// An off-site next is not followed.
		res, _ = postWith(t, env, "/mailings/"+picked+"/enable", url.Values{"next": {"//evil.example/"}}, cookie)
		if res.Header.Get("Location") != "/mailings" {
			t.Errorf("next=//evil.example/ sent the browser to %q", res.Header.Get("Location"))
		}
	})

	t.Run("send now starts a run", func(t *testing.T) {
		res, _ := postWith(t, env, "/mailings/"+picked+"/send", url.Values{"next": {"/mailings"}}, cookie)
		if body := landOn(t, env, res, "/mailings", cookie); !strings.Contains(body, "Sending started") {
			t.Fatalf("the list after sending: %q", body)
		}
		testenv.Eventually(t, 30*time.Second, "the run in the read model", func() bool {
			_, got := apiMailing(t, env, a.Token, picked)
			return got.Status == "started" && got.LastRunAt != nil
		})
		if _, body := get(t, env, "/mailings?status=started", "Cookie", cookie); !strings.Contains(body, `id="mailing-`+picked+`"`) || strings.Contains(body, all) {
			t.Errorf("the started mailings: %q", body)
		}
		// A disabled mailing is not sent.
		postWith(t, env, "/mailings/"+all+"/disable", nil, cookie)
		res, _ = postWith(t, env, "/mailings/"+all+"/send", nil, cookie)
		if body := landOn(t, env, res, "/mailings", cookie); !strings.Contains(body, "This mailing is disabled") {
			t.Fatalf("sending a disabled mailing: %q", body)
		}
		if _, body := get(t, env, "/mailings?active=no", "Cookie", cookie); !strings.Contains(body, `id="mailing-`+all+`"`) || strings.Contains(body, picked) {
			t.Errorf("the disabled mailings: %q", body)
		}
	})

	t.Run("another user's mailing is not found", func(t *testing.T) {
		if res, _ := get(t, env, "/mailings/"+picked+"/edit", "Cookie", other); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET edit: %d", res.StatusCode)
		}
		for _, p := range []string{"", "/enable", "/disable", "/send", "/delete"} {
			if res, _ := postWith(t, env, "/mailings/"+picked+p, mailingForm(othersMsg), other); res.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s: %d", p, res.StatusCode)
			}
		}
		if _, body := get(t, env, "/mailings", "Cookie", other); strings.Contains(body, picked) {
			t.Errorf("the other user's list shows the mailing: %q", body)
		}
		if status, got := apiMailing(t, env, a.Token, picked); status != http.StatusOK || !got.IsActive || got.Periodicity != "weekly" {
			t.Errorf("the mailing after the other user's attempts: %d %+v", status, got)
		}
	})

	t.Run("staff see everyone's mailings but get only the buttons they may use", func(t *testing.T) {
		groups, err := commands.NewGroupHandler(env.App.Store)
		if err != nil {
			t.Fatal(err)
		}
		meta := domain.Metadata{ActorID: uuid.New(), CorrelationID: uuid.New(), Command: "SetUpGroups"}
		if _, err := groups.CreateDefaultGroups(context.Background(), meta); err != nil {
			t.Fatal(err)
		}
		// Managers are staff and hold nothing more here: each staff member
		// gets the permissions of one more group.
		for name, perms := range map[string][]string{domain.GroupManagers: nil, "see_mailings": {domain.PermMailingsViewAll},
			"toggle_mailings": {domain.PermMailingsViewAll, domain.PermMailingsToggle}} {
			_, res, err := groups.EnsureGroup(context.Background(), meta, name, perms)
			if err != nil {
				t.Fatal(err)
			}
			// Sessions read permissions from the users read model.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err = env.App.Waiter.WaitFor(ctx, []string{"users"}, res.LastPosition)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
		viewer := "herald_session=" + staffUser(t, env, domain.GroupManagers, "see_mailings").Token
		var body string
		testenv.Eventually(t, 30*time.Second, "the owner's mailing on the viewer's list", func() bool {
			_, body = get(t, env, "/mailings?owner="+a.ID.String(), "Cookie", viewer)
			return strings.Contains(body, `id="mailing-`+picked+`"`)
		})
		if !strings.Contains(body, `id="mailing-`+picked+`"`) || !strings.Contains(body, `id="filter-owner"`) ||
			!strings.Contains(body, `<td class="owner">`+a.ID.String()+`</td>`) {
			t.Fatalf("the viewer's list: %q", body)
		}
		for _, button := range []string{"/edit", "toggle-", `class="send"`, `class="delete"`} {
			if strings.Contains(body, button) {
				t.Errorf("the viewer's list offers %s", button)
			}
		}
		if res, body := get(t, env, "/mailings/"+picked+"/edit", "Cookie", viewer); res.StatusCode != http.StatusForbidden || !strings.Contains(body, `id="refused"`) {
			t.Errorf("GET edit as the viewer: %d", res.StatusCode)
		}
		for _, p := range []string{"", "/disable", "/send", "/delete"} {
			if res, _ := postWith(t, env, "/mailings/"+picked+p, mailingForm(msg, ann), viewer); res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s as the viewer: %d", p, res.StatusCode)
			}
		}
		if status, got := apiMailing(t, env, a.Token, picked); status != http.StatusOK || !got.IsActive || got.Periodicity != "weekly" {
			t.Errorf("the mailing after the viewer's attempts: %d %+v", status, got)
		}
		if _, body := get(t, env, "/mailings?owner="+b.ID.String(), "Cookie", viewer); strings.Contains(body, picked) {
			t.Errorf("the owner filter shows another owner's mailing: %q", body)
		}

		toggler := "herald_session=" + staffUser(t, env, domain.GroupManagers, "toggle_mailings").Token
		testenv.Eventually(t, 30*time.Second, "the toggle on the toggler's list", func() bool {
			_, body = get(t, env, "/mailings", "Cookie", toggler)
			return strings.Contains(body, `id="toggle-`+picked+`"`)
		})
		if !strings.Contains(body, `id="toggle-`+picked+`"`) || strings.Contains(body, "/"+picked+"/edit") || strings.Contains(body, `class="send"`) {
			t.Fatalf("the toggler's list: %q", body)
		}
		res, body := postWith(t, env, "/mailings/"+picked+"/disable", nil, toggler, "HX-Request", "true")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-action="enable"`) || strings.Contains(body, "/edit") {
			t.Fatalf("htmx disable as the toggler: %d %q", res.StatusCode, body)
		}
	})

	t.Run("delete", func(t *testing.T) {
		res, _ := postWith(t, env, "/mailings/"+picked+"/delete", url.Values{"next": {"/mailings"}}, cookie)
		body := landOn(t, env, res, "/mailings", cookie)
		if !strings.Contains(body, "Mailing deleted.") || strings.Contains(body, picked) {
			t.Fatalf("the list after deleting: %q", body)
		}
		if status, _ := apiMailing(t, env, a.Token, picked); status != http.StatusNotFound {
			t.Errorf("the API still has the mailing: %d", status)
		}
		if res, _ := get(t, env, "/mailings/"+picked+"/edit", "Cookie", cookie); res.StatusCode != http.StatusNotFound {
			t.Errorf("editing a deleted mailing: %d", res.StatusCode)
		}
	})
}
