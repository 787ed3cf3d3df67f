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

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

var messageRow = regexp.MustCompile(`<tr id="message-([0-9a-f-]{36})">`)

// messageJSON is a message as the API shows it.
type messageJSON struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Version int64  `json:"version"`
}

func apiMessage(t *testing.T, env *apptest.Env, token, id string) (int, messageJSON) {
	t.Helper()
	var m messageJSON
	res := env.Do("GET", "/api/v1/messages/"+id, nil, apptest.Bearer(token)...)
	if res.Status == http.StatusOK {
		res.Decode(t, &m)
	}
	return res.Status, m
}

func TestMessagePages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token

	t.Run("anonymous visitors go to the login page", func(t *testing.T) {
		for _, path := range []string{"/messages", "/messages/new", "/messages/" + uuid.NewString()} {
			res, _ := get(t, env, path)
			if want := "/login?next=" + url.QueryEscape(path); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
				t.Errorf("GET %s: %d %q, want %s", path, res.StatusCode, res.Header.Get("Location"), want)
			}
		}
		res, _ := postForm(t, env, "/messages", url.Values{"subject": {"S"}, "body": {"B"}}, "")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?") {
			t.Errorf("POST /messages: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})

	_, body := get(t, env, "/messages", "Cookie", cookie)
	if !strings.Contains(body, `id="messages-empty"`) || strings.Contains(body, `id="messages"`) {
		t.Fatalf("no messages yet, but the list shows: %q", body)
	}

	t.Run("errors are shown by their fields and the text typed is kept", func(t *testing.T) {
		res, body := postForm(t, env, "/messages", url.Values{"subject": {"  "}, "body": {" \r\n "}}, cookie)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="subject-error"`) || !strings.Contains(body, `id="body-error"`) {
			t.Fatalf("an empty message: %d %q", res.StatusCode, body)
		}
		long := strings.Repeat("s", domain.MaxSubjectLength+1)
		res, body = postForm(t, env, "/messages", url.Values{"subject": {long}, "body": {"kept <b>as typed</b>"}}, cookie)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="subject-error"`) ||
			!strings.Contains(body, "at most 255 characters") || strings.Contains(body, `id="body-error"`) ||
			!strings.Contains(body, "kept &lt;b&gt;as typed&lt;/b&gt;</textarea>") {
			t.Fatalf("the core's refusal of a long subject is not shown by the field: %d %q", res.StatusCode, body)
		}
	})

	res, _ := postForm(t, env, "/messages", url.Values{"subject": {"Spring news"}, "body": {"Hello,\r\n\r\n  the <garden> opens."}}, cookie)
	body = landOn(t, env, res, "/messages", cookie)
	m := messageRow.FindStringSubmatch(body)
	if !strings.Contains(body, "Message saved.") || m == nil || !strings.Contains(body, "Spring news") {
		t.Fatalf("the list after writing a message: %q", body)
	}
	id := m[1]
	if !strings.Contains(body, `action="/messages/`+id+`/delete"`) || !strings.Contains(body, `href="/messages/`+id+`/edit"`) {
		t.Errorf("the owner's list has no edit or delete for the message: %q", body)
	}
	status, fromAPI := apiMessage(t, env, a.Token, id)
	if status != http.StatusOK || fromAPI.Subject != "Spring news" || fromAPI.Body != "Hello,\n\n  the <garden> opens." {
		t.Fatalf("the API shows %d %+v (line breaks are LF, as typed otherwise)", status, fromAPI)
	}

	t.Run("the preview shows the sender, the subject and the text as sent", func(t *testing.T) {
		res, body := get(t, env, "/messages/"+id, "Cookie", cookie)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("preview: %d", res.StatusCode)
		}
		for _, want := range []string{
			`<dd id="preview-from">Herald &lt;herald@test.localhost&gt;</dd>`,
			`<dd id="preview-subject">Spring news</dd>`,
			`<div class="message-body" id="preview-body">Hello,` + "\n\n" + `  the &lt;garden&gt; opens.</div>`,
			`id="message-edit"`, `id="message-delete"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the preview lacks %s: %q", want, body)
			}
		}
		if strings.Contains(body, "style=") {
			t.Error("the preview has an inline style")
		}
	})

	t.Run("edit, with the page's version guarding a change made meanwhile", func(t *testing.T) {
		_, body := get(t, env, "/messages/"+id+"/edit", "Cookie", cookie)
		if !strings.Contains(body, fmt.Sprintf(`name="version" value="%d"`, fromAPI.Version)) ||
			!strings.Contains(body, ">\nHello,\n\n  the &lt;garden&gt; opens.</textarea>") || !strings.Contains(body, `value="Spring news"`) {
			t.Fatalf("the edit page: %q", body)
		}
		form := url.Values{"subject": {"Summer news"}, "body": {"\r\nThe pool opens."}, "version": {fmt.Sprint(fromAPI.Version)}}
		res, _ := postForm(t, env, "/messages/"+id, form, cookie)
		body = landOn(t, env, res, "/messages/"+id, cookie)
		if !strings.Contains(body, "Message changed.") || !strings.Contains(body, `<dd id="preview-subject">Summer news</dd>`) {
			t.Fatalf("the preview after the edit: %q", body)
		}
		// A body's leading line break survives the edit form's textarea.
		if _, body := get(t, env, "/messages/"+id+"/edit", "Cookie", cookie); !strings.Contains(body, ">\n\nThe pool opens.</textarea>") {
			t.Errorf("the edit page loses the leading line break: %q", body)
		}
		// The same form again: its version is no longer the message's.
		form.Set("subject", "Overwritten")
		res, body = postForm(t, env, "/messages/"+id, form, cookie)
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, html.EscapeString("This message was changed meanwhile")) ||
			!strings.Contains(body, `value="Overwritten"`) {
			t.Fatalf("a stale edit: %d %q", res.StatusCode, body)
		}
		if _, fromAPI = apiMessage(t, env, a.Token, id); fromAPI.Subject != "Summer news" || fromAPI.Body != "\nThe pool opens." {
			t.Errorf("after the stale edit the API shows %+v", fromAPI)
		}
		// The core's refusal of an edit is shown by its field too.
		form = url.Values{"subject": {strings.Repeat("x", 300)}, "body": {"B"}, "version": {fmt.Sprint(fromAPI.Version)}}
		if res, body := postForm(t, env, "/messages/"+id, form, cookie); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="subject-error"`) {
			t.Errorf("an edit with a long subject: %d %q", res.StatusCode, body)
		}
	})

	t.Run("another user's message is not found", func(t *testing.T) {
		b := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
		other := "herald_session=" + b.Token
		for _, path := range []string{"/messages/" + id, "/messages/" + id + "/edit", "/messages/not-a-uuid"} {
			if res, body := get(t, env, path, "Cookie", other); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "Page not found") {
				t.Errorf("GET %s: %d", path, res.StatusCode)
			}
		}
		form := url.Values{"subject": {"Taken"}, "body": {"over"}}
		if res, _ := postForm(t, env, "/messages/"+id, form, other); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST edit: %d", res.StatusCode)
		}
		if res, _ := postForm(t, env, "/messages/"+id+"/delete", nil, other); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST delete: %d", res.StatusCode)
		}
		if _, body := get(t, env, "/messages", "Cookie", other); strings.Contains(body, "Summer news") || strings.Contains(body, `<th scope="col">Owner</th>`) {
			t.Errorf("the other user's list shows the message or an owner column: %q", body)
		}
		if status, m := apiMessage(t, env, a.Token, id); status != http.StatusOK || m.Subject != "Summer news" {
			t.Errorf("the message after the other user's attempts: %d %+v", status, m)
		}
	})

	t.Run("staff read everyone's messages but change none", func(t *testing.T) {
		s := signUpManager(t, env)
		staff := "herald_session=" + s.Token
		env.Create(s.Token, "/api/v1/messages", map[string]any{"subject": "Staff memo", "body": "Mine."})
		var body string
		testenv.Eventually(t, 30*time.Second, "the staff's own message in the list", func() bool {
			_, body = get(t, env, "/messages", "Cookie", staff)
			return strings.Contains(body, "Staff memo")
		})
		if !strings.Contains(body, "Summer news") || !strings.Contains(body, "<th scope=\"col\">Owner</th>") ||
			!strings.Contains(body, "<code>"+a.ID.String()+"</code>") || !strings.Contains(body, ">You</td>") {
			t.Fatalf("the staff list lacks the user's message or the owners: %q", body)
		}
		if strings.Contains(body, `href="/messages/`+id+`/edit"`) || strings.Contains(body, `action="/messages/`+id+`/delete"`) {
			t.Errorf("the staff list offers to change the user's message: %q", body)
		}
		if n := strings.Count(body, `/delete"`); n != 1 {
			t.Errorf("the staff list has %d delete buttons, want 1 (their own message)", n)
		}
		res, body := get(t, env, "/messages/"+id, "Cookie", staff)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Summer news") || strings.Contains(body, `id="message-edit"`) ||
			strings.Contains(body, `id="message-delete"`) {
			t.Errorf("the staff preview: %d %q", res.StatusCode, body)
		}
		res, body = get(t, env, "/messages/"+id+"/edit", "Cookie", staff)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "only its owner may change") || strings.Contains(body, `id="message-save"`) {
			t.Errorf("the staff edit page: %d %q", res.StatusCode, body)
		}
		form := url.Values{"subject": {"Staff was here"}, "body": {"over"}}
		if res, body := postForm(t, env, "/messages/"+id, form, staff); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "only its owner may change") {
			t.Errorf("POST edit by staff: %d %q", res.StatusCode, body)
		}
		if res, body := postForm(t, env, "/messages/"+id+"/delete", nil, staff); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "only its owner may change") {
			t.Errorf("POST delete by staff: %d %q", res.StatusCode, body)
		}
		if status, m := apiMessage(t, env, a.Token, id); status != http.StatusOK || m.Subject != "Summer news" {
			t.Errorf("the message after staff's attempts: %d %+v", status, m)
		}
	})

	t.Run("a message a mailing sends is not deleted", func(t *testing.T) {
		client := env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "ann@example.org", "full_name": "Ann"})
		start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		mailing := env.Create(a.Token, "/api/v1/mailings", map[string]any{"message_id": id, "client_ids": []uuid.UUID{client},
			"start_at": start.Format(time.RFC3339), "end_at": start.Add(30 * 24 * time.Hour).Format(time.RFC3339),
			"periodicity": "weekly", "timezone": "Europe/Paris"})
		mailingRead := func(status int) func() bool {
			return func() bool {
				return env.Do("GET", "/api/v1/mailings/"+mailing.String(), nil, apptest.Bearer(a.Token)...).Status == status
			}
		}
		testenv.Eventually(t, 30*time.Second, "the mailing in its read model", mailingRead(http.StatusOK))
		res, body := postForm(t, env, "/messages/"+id+"/delete", nil, cookie)
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "a mailing that is not completed still sends it") ||
			!strings.Contains(body, `<dd id="preview-subject">Summer news</dd>`) ||
			!strings.Contains(body, `name="next" value="/messages/`+id+`"`) {
			t.Fatalf("deleting a message in use: %d %q", res.StatusCode, body)
		}
		if status, _ := apiMessage(t, env, a.Token, id); status != http.StatusOK {
			t.Fatalf("the message in use is gone: %d", status)
		}
		if r := env.Do("DELETE", "/api/v1/mailings/"+mailing.String(), nil, apptest.Bearer(a.Token)...); r.Status != http.StatusNoContent {
			t.Fatalf("delete the mailing: %d %s", r.Status, r.Body)
		}
		testenv.Eventually(t, 30*time.Second, "the mailing gone from its read model", mailingRead(http.StatusNotFound))
	})

	t.Run("delete", func(t *testing.T) {
		res, _ := postForm(t, env, "/messages/"+id+"/delete", nil, cookie)
		body := landOn(t, env, res, "/messages", cookie)
		if !strings.Contains(body, "Message deleted.") || strings.Contains(body, "Summer news") || !strings.Contains(body, `id="messages-empty"`) {
			t.Fatalf("the list after deleting the message: %q", body)
		}
		if status, _ := apiMessage(t, env, a.Token, id); status != http.StatusNotFound {
			t.Errorf("the API still has the message: %d", status)
		}
		if res, _ := get(t, env, "/messages/"+id, "Cookie", cookie); res.StatusCode != http.StatusNotFound {
			t.Errorf("previewing a deleted message: %d", res.StatusCode)
		}
		if res, _ := postForm(t, env, "/messages/"+id+"/delete", nil, cookie); res.StatusCode != http.StatusNotFound {
			t.Errorf("deleting it again: %d", res.StatusCode)
		}
	})
}

// The list pages through many messages with a Next link.
func TestMessageListPages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token
	for i := range 21 {
		env.Create(a.Token, "/api/v1/messages", map[string]any{"subject": fmt.Sprintf("Issue %02d", i), "body": "News."})
	}
	next := regexp.MustCompile(`href="([^"]+)" id="messages-next"`)
	var link string
	testenv.Eventually(t, 30*time.Second, "a second page of messages", func() bool {
		_, body := get(t, env, "/messages", "Cookie", cookie)
		m := next.FindStringSubmatch(body)
		if m == nil || len(messageRow.FindAllString(body, -1)) != 20 {
			return false
		}
		link = html.UnescapeString(m[1])
		return true
	})
	_, body := get(t, env, link, "Cookie", cookie)
	if n := len(messageRow.FindAllString(body, -1)); n != 1 || strings.Contains(body, `id="messages-next"`) || !strings.Contains(body, "Issue 20") {
		t.Errorf("the last page has %d rows: %q", n, body)
	}
}
