package web_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// Choosing every client with the form's "all your clients" box makes a
// mailing to all clients (those added later included); unpicking one
// of them turns it back into a mailing to the clients chosen.
func TestMailingFormChoosingEveryClientSendsToAllClients(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token
	msg := env.Create(a.Token, "/api/v1/messages", map[string]any{"subject": "To everyone", "body": "Hello"})
	ann := env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "ann@example.org", "full_name": "Ann Lee"})
	bob := env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "bob@example.org", "full_name": "Bob Stone"})
	testenv.Eventually(t, 30*time.Second, "the form with both clients", func() bool {
		_, body := get(t, env, "/mailings/new", "Cookie", cookie)
		return strings.Contains(body, "To everyone") && strings.Contains(body, "Choose all your clients, those you add later included (2 now)")
	})

	// The box ticked on the listing of every client (no search).
	f := mailingForm(msg)
	f.Set("listed_q", "")
	f.Set("all_matching", "1")
	f.Add("shown", ann.String())
	f.Add("shown", bob.String())
	res, _ := postWith(t, env, "/mailings", f, cookie)
	body := landOn(t, env, res, "/mailings", cookie)
	m := mailingRow.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "All clients") {
		t.Fatalf("the list after choosing every client: %q", body)
	}
	id := m[1]
	if _, got := apiMailing(t, env, a.Token, id); !got.AllClients || len(got.ClientIDs) != 0 {
		t.Fatalf("the API shows %+v", got)
	}

	// The edit page shows the box ticked; unticking Ann chooses Bob alone.
	_, body = get(t, env, "/mailings/"+id+"/edit", "Cookie", cookie)
	if !strings.Contains(body, `name="all_matching" value="1" checked`) || !strings.Contains(body, "2 clients chosen.") {
		t.Fatalf("the edit page of an all-clients mailing: %q", body)
	}
	_, before := apiMailing(t, env, a.Token, id)
	f = mailingForm(msg, bob)
	f.Set("listed_q", "")
	f.Set("listed_all", "1")
	f.Set("all_q", "")
	f.Set("all_matching", "1")
	f.Add("shown", ann.String())
	f.Add("shown", bob.String())
	f.Set("version", fmt.Sprint(before.Version))
	res, _ = postWith(t, env, "/mailings/"+id, f, cookie)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the edit: %d", res.StatusCode)
	}
	if _, got := apiMailing(t, env, a.Token, id); got.AllClients || !slices.Equal(got.ClientIDs, []uuid.UUID{bob}) {
		t.Fatalf("after unpicking Ann the API shows %+v", got)
	}
}
