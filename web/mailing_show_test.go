package web_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// mailingShowSetup makes, as the holder of token, clients with the emails,
// a message with subject and a weekly mailing of it to them, and returns
// the mailing's id.
func mailingShowSetup(t *testing.T, env *apptest.Env, token, subject string, emails ...string) uuid.UUID {
	t.Helper()
	var clients []uuid.UUID
	for _, e := range emails {
		clients = append(clients, env.Create(token, "/api/v1/clients", map[string]any{"email": e, "full_name": "Reader " + e}))
	}
	msg := env.Create(token, "/api/v1/messages", map[string]any{"subject": subject, "body": "Hello"})
	start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	id := env.Create(token, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": clients,
		"start_at": start.Format(time.RFC3339), "end_at": start.Add(30 * 24 * time.Hour).Format(time.RFC3339),
		"periodicity": "weekly", "timezone": "Europe/Paris"})
	// The page reads the subject and the next run from the read models.
	testenv.Eventually(t, 30*time.Second, "the message and the mailing in the read models", func() bool {
		return env.Do("GET", "/api/v1/messages/"+msg.String(), nil, apptest.Bearer(token)...).Status == http.StatusOK &&
			env.Do("GET", "/api/v1/mailings/"+id.String(), nil, apptest.Bearer(token)...).Status == http.StatusOK
	})
	return id
}

// mailingShowDispatch sends mailing id now, as its owner through the API.
func mailingShowDispatch(t *testing.T, env *apptest.Env, token string, id uuid.UUID) {
	t.Helper()
	if res := env.Do("POST", "/api/v1/mailings/"+id.String()+"/dispatch", nil, apptest.Bearer(token)...); res.Status != http.StatusAccepted {
		t.Fatalf("dispatch: %d %s", res.Status, res.Body)
	}
}

// mailingShowText is the text of the element with id in body, tags
// dropped and spaces collapsed ("" when there is none).
func mailingShowText(body, id string) string {
	start := strings.Index(body, `id="`+id+`"`)
	if start < 0 {
		return ""
	}
	start = strings.Index(body[start:], ">") + start + 1
	tag := regexp.MustCompile(`<[a-z0-9]+`).FindString(body[strings.LastIndex(body[:start], "<"):])
	end := strings.Index(body[start:], "</"+strings.TrimPrefix(tag, "<")+">")
	if end < 0 {
		return ""
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body[start:start+end], " ")
	return strings.Join(strings.Fields(html.UnescapeString(text)), " ")
}

var mailingShowStateLink = regexp.MustCompile(`<li id="event-(\d+)"[^>]*>[\s\S]*?href="([^"]+)"`)

// A mailing dispatched through the API and delivered to the sink (one
// recipient refused) shows on its page: its setting, its finished run with
// its figures, the attempts failures first with the server's reply, its
// history and its report; ?at= shows an earlier state; the runs section
// answers htmx alone; someone else's mailing is not found, staff see it
// without the owner's buttons, anonymous visitors sign in first.
func TestMailingShowPage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Sink.SetReply(func(_, to string, _ int) *mail.Reply {
		if strings.HasPrefix(to, "refused") {
			return &mail.Reply{Code: 550, Text: "5.1.1 no such user here"}
		}
		return nil
	})
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token
	id := mailingShowSetup(t, env, a.Token, "Autumn news", "fine@example.org", "refused@example.org")
	path := "/mailings/" + id.String()

	t.Run("anonymous visitors go to the login page", func(t *testing.T) {
		res, _ := get(t, env, path)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+strings.ReplaceAll(path, "/", "%2F") {
			t.Errorf("GET %s: %d %q", path, res.StatusCode, res.Header.Get("Location"))
		}
	})

	var body string
	testenv.Eventually(t, 30*time.Second, "the new mailing's page with its next run", func() bool {
		_, body = get(t, env, path, "Cookie", cookie)
		return mailingShowText(body, "mailing-subject") == "Autumn news" && strings.Contains(body, `id="mailing-next-run"`)
	})
	if got := mailingShowText(body, "runs-empty"); got != "It has not been sent yet." || strings.Contains(body, "hx-trigger") {
		t.Fatalf("before any run the runs say %q: %s", got, body)
	}
	for id, want := range map[string]string{"mailing-recipients": "2", "mailing-status": "Not sent yet", "mailing-active": "Yes",
		"mailing-periodicity": "Weekly", "mailing-timezone": "Europe/Paris", "attempts-empty": "No delivery has been attempted yet."} {
		if got := mailingShowText(body, id); got != want {
			t.Errorf("#%s is %q, want %q", id, got, want)
		}
	}
	if mailingShowText(body, "mailing-next-run") == "" || mailingShowText(body, "mailing-next-run") == "none planned" {
		t.Errorf("no next run: %q", mailingShowText(body, "mailing-next-run"))
	}
	for _, button := range []string{`id="mailing-send"`, `id="mailing-edit"`, `id="mailing-disable"`, `id="mailing-delete"`} {
		if !strings.Contains(body, button) {
			t.Errorf("the owner has no %s", button)
		}
	}

	mailingShowDispatch(t, env, a.Token, id)
	testenv.Eventually(t, 30*time.Second, "the finished run, its attempts and its report on the page", func() bool {
		_, body = get(t, env, path, "Cookie", cookie)
		return strings.Contains(body, `class="run run-finished"`) && strings.Count(body, `<tr id="attempt-`) == 2 &&
			mailingShowText(body, "report-total") == "2"
	})
	if got := mailingShowText(body, "mailing-runs"); !strings.Contains(got, "Finished · sent by hand") ||
		!strings.Contains(got, "1 sent, 1 failed, 0 deferred of 2") {
		t.Errorf("the runs: %q", got)
	}
	if strings.Contains(body, "hx-trigger") {
		t.Error("the page polls with nothing sending")
	}
	if !strings.Contains(body, `max="2" value="2"`) {
		t.Errorf("the run's progress bar is not full: %s", body)
	}
	attempts := mailingShowText(body, "mailing-attempts")
	refused, fine := strings.Index(attempts, "refused@example.org"), strings.Index(attempts, "fine@example.org")
	if refused < 0 || fine < 0 || refused > fine {
		t.Errorf("the attempts, failures first: %q", attempts)
	}
	if !strings.Contains(attempts, "Failed") || !strings.Contains(attempts, "550 5.0.0 5.1.1 no such user here") ||
		!strings.Contains(attempts, "Delivered") || !strings.Contains(body, `class="attempt-failed"`) {
		t.Errorf("the attempts lack the outcome or the server's reply: %q", attempts)
	}
	for id, want := range map[string]string{"report-runs": "1", "report-total": "2", "report-success": "1", "report-failure": "1",
		"report-deferred": "0", "mailing-status": "Started"} {
		if got := mailingShowText(body, id); got != want {
			t.Errorf("#%s is %q, want %q", id, got, want)
		}
	}
	history := mailingShowText(body, "mailing-history")
	for _, want := range []string{"Created by you", "Sending started by you", "State after event 1", "State after event 2", "request "} {
		if !strings.Contains(history, want) {
			t.Errorf("the history lacks %q: %q", want, history)
		}
	}

	t.Run("the state at an earlier instant", func(t *testing.T) {
		links := mailingShowStateLink.FindAllStringSubmatch(body, -1)
		if len(links) != 2 || links[0][1] != "1" {
			t.Fatalf("state links %v", links)
		}
		_, then := get(t, env, html.UnescapeString(links[0][2]), "Cookie", cookie)
		if !strings.Contains(mailingShowText(then, "mailing-at"), "You are looking at this mailing as it was on") {
			t.Fatalf("no notice of the instant shown: %s", then)
		}
		for id, want := range map[string]string{"state-heading": "State at that time", "mailing-status": "Not sent yet",
			"mailing-subject": "Autumn news", "mailing-recipients": "2", "runs-empty": "It has not been sent yet."} {
			if got := mailingShowText(then, id); got != want {
				t.Errorf("then, #%s is %q, want %q", id, got, want)
			}
		}
		if strings.Contains(then, `id="mailing-next-run"`) || strings.Contains(then, `id="mailing-actions"`) || strings.Contains(then, "hx-get") {
			t.Errorf("the past shows the next run, buttons or polling: %s", then)
		}
		if !strings.Contains(then, `<li id="event-2" class="later">`) || strings.Contains(then, `<li id="event-1" class="later">`) {
			t.Errorf("the events after the instant are not marked: %s", then)
		}
		_, before := get(t, env, path+"?at=2000-01-01T00:00:00Z", "Cookie", cookie)
		if got := mailingShowText(before, "mailing-not-yet"); got != "The mailing did not exist yet at that time." {
			t.Errorf("before its creation: %q", got)
		}
		if _, garbled := get(t, env, path+"?at=yesterday", "Cookie", cookie); !strings.Contains(garbled, `id="mailing-next-run"`) {
			t.Errorf("an instant the page did not link to does not show the current state")
		}
	})

	t.Run("the runs section alone for htmx", func(t *testing.T) {
		res, frag := get(t, env, path+"/progress", "Cookie", cookie, "HX-Request", "true")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(frag), `<section id="mailing-runs"`) ||
			strings.Contains(frag, "<html") || strings.Contains(frag, "hx-trigger") ||
			!strings.Contains(mailingShowText(frag, "mailing-runs"), "1 sent, 1 failed, 0 deferred of 2") {
			t.Fatalf("the fragment: %d %s", res.StatusCode, frag)
		}
		if !strings.Contains(mailingShowText(frag, "runs-done"), "Nothing is sending any more.") {
			t.Errorf("a fragment with nothing sending offers no reload: %s", frag)
		}
		if res, _ := get(t, env, path+"/progress", "Cookie", cookie); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
			t.Errorf("without htmx: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("another user's mailing is not found", func(t *testing.T) {
		b := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
		other := "herald_session=" + b.Token
		if res, body := get(t, env, path, "Cookie", other); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "Page not found") ||
			strings.Contains(body, "Autumn news") {
			t.Errorf("GET the page: %d", res.StatusCode)
		}
		if res, body := get(t, env, path+"/progress", "Cookie", other, "HX-Request", "true"); res.StatusCode != http.StatusNotFound || strings.Contains(body, "run-finished") {
			t.Errorf("GET the progress: %d", res.StatusCode)
		}
		if res, _ := get(t, env, "/mailings/"+uuid.NewString(), "Cookie", cookie); res.StatusCode != http.StatusNotFound {
			t.Errorf("an unknown mailing: %d", res.StatusCode)
		}
		if res, _ := get(t, env, "/mailings/not-an-id", "Cookie", cookie); res.StatusCode != http.StatusNotFound {
			t.Errorf("a malformed id: %d", res.StatusCode)
		}
	})

	t.Run("staff see it without the owner's buttons", func(t *testing.T) {
		s := signUpManager(t, env)
		res, body := get(t, env, path, "Cookie", "herald_session="+s.Token)
		if res.StatusCode != http.StatusOK || mailingShowText(body, "mailing-subject") != "Autumn news" ||
			!strings.Contains(mailingShowText(body, "mailing-attempts"), "5.1.1 no such user here") {
			t.Fatalf("staff: %d %s", res.StatusCode, body)
		}
		for _, button := range []string{`id="mailing-send"`, `id="mailing-edit"`, `id="mailing-delete"`} {
			if strings.Contains(body, button) {
				t.Errorf("staff are offered %s", button)
			}
		}
		if !strings.Contains(body, `id="mailing-disable"`) {
			t.Error("a manager holding mailings.toggle is not offered to disable it")
		}
		if !strings.Contains(mailingShowText(body, "mailing-history"), "Created by Owner of "+a.Email+" <"+a.Email+">") {
			t.Errorf("staff do not see who made it: %q", mailingShowText(body, "mailing-history"))
		}
	})

	t.Run("a deleted mailing keeps its history", func(t *testing.T) {
		gone := mailingShowSetup(t, env, a.Token, "Gone soon", "later@example.org")
		if res := env.Do("DELETE", "/api/v1/mailings/"+gone.String(), nil, apptest.Bearer(a.Token)...); res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.Status, res.Body)
		}
		res, body := get(t, env, "/mailings/"+gone.String(), "Cookie", cookie)
		if res.StatusCode != http.StatusOK || !strings.Contains(mailingShowText(body, "mailing-status"), "deleted") ||
			!strings.Contains(mailingShowText(body, "mailing-history"), "Deleted by you") || strings.Contains(body, `id="mailing-actions"`) {
			t.Fatalf("the deleted mailing: %d %s", res.StatusCode, body)
		}
	})
}

// While a run sends (a delivery deferred by a greylisting receiver), the
// page and its runs section poll, showing the figures so far.
func TestMailingShowPollsWhileSending(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.SendRetrySchedule = []time.Duration{time.Hour} }))
	env.Sink.SetReply(func(_, to string, attempt int) *mail.Reply {
		if strings.HasPrefix(to, "grey") {
			return &mail.Reply{Code: 450, Text: "4.2.0 Greylisted, come back later"}
		}
		return nil
	})
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token
	id := mailingShowSetup(t, env, a.Token, "Greylisted", "grey@example.org", "fine@example.org")
	path := "/mailings/" + id.String()
	mailingShowDispatch(t, env, a.Token, id)

	// The runs and the attempts are read models of their own projectors:
	// the page shows both once both have caught up.
	var body string
	testenv.Eventually(t, 30*time.Second, "the run's figures and its attempts so far", func() bool {
		_, body = get(t, env, path, "Cookie", cookie)
		return strings.Contains(mailingShowText(body, "mailing-runs"), "1 sent, 0 failed, 1 deferred of 2") &&
			strings.Contains(mailingShowText(body, "mailing-attempts"), "4.2.0 Greylisted")
	})
	poll := fmt.Sprintf(`hx-get="%s/progress" hx-trigger="every 2s" hx-swap="outerHTML"`, path)
	if !strings.Contains(body, poll) || !strings.Contains(body, `class="run run-started"`) {
		t.Fatalf("the page does not poll while the run sends: %s", body)
	}
	_, frag := get(t, env, path+"/progress", "Cookie", cookie, "HX-Request", "true")
	if !strings.Contains(frag, poll) || strings.Contains(frag, `id="runs-done"`) {
		t.Fatalf("the fragment stops polling while the run sends: %s", frag)
	}
	if got := mailingShowText(body, "mailing-attempts"); !strings.Contains(got, "Deferred · retry") || !strings.Contains(got, "4.2.0 Greylisted") {
		t.Errorf("the deferred attempt: %q", got)
	}
}
