package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// The clients page shows who unsubscribed and who is suppressed, and its
// button lifts a suppression.
func TestClientsPageShowsOptOuts(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("optout")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token
	newClient := func(email string) uuid.UUID {
		t.Helper()
		res := env.Do("POST", "/api/v1/clients", map[string]any{"email": email, "full_name": email}, "Authorization", "Bearer "+a.Token)
		var c struct {
			ID uuid.UUID `json:"id"`
		}
		res.Decode(t, &c)
		return c.ID
	}
	left, bounced := newClient("left@example.org"), newClient("bounced@example.org")

	// left unsubscribes through its link, bounced bounces for good.
	res, _ := postForm(t, env, strings.TrimPrefix(env.App.UnsubscribeLinks.Links(a.ID, left).URL, env.URL), url.Values{"List-Unsubscribe": {"One-Click"}}, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("unsubscribe: %d", res.StatusCode)
	}
	h, err := commands.NewOptOuts(env.App.Store, nil, domain.BounceLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.RecordBounce(context.Background(), domain.Metadata{}, commands.RecordBounce{ClientID: bounced, AttemptID: uuid.New(),
		Reply: "550 5.1.1 no such user"}); err != nil {
		t.Fatal(err)
	}
	var body string
	testenv.Eventually(t, 30*time.Second, "both opt-outs on the page", func() bool {
		_, body = get(t, env, "/clients", "Cookie", cookie)
		return strings.Contains(body, `id="client-`+left.String()+`-unsubscribed"`) &&
			strings.Contains(body, `id="client-`+bounced.String()+`-suppressed"`)
	})
	if !strings.Contains(body, "Suppressed: no such mailbox") || !strings.Contains(body, `action="/clients/`+bounced.String()+`/unsuppress"`) ||
		strings.Contains(body, `action="/clients/`+left.String()+`/unsuppress"`) {
		t.Fatalf("the list: %s", body)
	}
	res, _ = postForm(t, env, "/clients/"+bounced.String()+"/unsuppress", url.Values{}, cookie)
	body = landOn(t, env, res, "/clients", cookie)
	if strings.Contains(body, `id="client-`+bounced.String()+`-suppressed"`) || !strings.Contains(body, "The suppression is lifted") {
		t.Fatalf("after lifting: %s", body)
	}
	// Another user's lifting is refused as not found.
	b := apptest.SignUp(env, testenv.Name("other")+"@example.com", "correct horse battery")
	res, _ = postForm(t, env, "/clients/"+left.String()+"/unsuppress", url.Values{}, "herald_session="+b.Token)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("another user's unsuppress: %d", res.StatusCode)
	}
}
