package http_test

import (
	"io"
	stdhttp "net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

type optOutClientJSON struct {
	Email             string     `json:"email"`
	UnsubscribedAt    *time.Time `json:"unsubscribed_at"`
	SuppressedAt      *time.Time `json:"suppressed_at"`
	SuppressionReason string     `json:"suppression_reason"`
}

type attemptWithReason struct {
	attemptJSON
	Reason string `json:"reason"`
}

// A client unsubscribes as a mailbox provider does it (the one-click POST
// of RFC 8058 to the URL of the mail's List-Unsubscribe, from another
// origin, with no cookie), and the next run skips it; a "no such mailbox"
// reply suppresses an address at once, other permanent failures after the
// third; the reports count the skips and bounces; the owner lifts a
// suppression, and cannot undo an unsubscription by re-adding the address.
func TestUnsubscribeBouncesAndSuppression(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.SendFailurePauseRatio = 1 }))
	env.Sink.SetReply(func(_, to string, _ int) *mail.Reply {
		switch {
		case strings.HasPrefix(to, "gone@"):
			return &mail.Reply{Code: 550, Text: "5.1.1 <" + to + ">: Recipient address rejected: User unknown"}
		case strings.HasPrefix(to, "strict@"):
			return &mail.Reply{Code: 554, Text: "5.7.1 Message rejected"}
		}
		return nil
	})
	a, b := newUser(t, env), newUser(t, env)
	reader, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "reader@example.org", "full_name": "Reader"})
	gone, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "gone@example.org", "full_name": "Gone"})
	strict, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "strict@example.org", "full_name": "Strict"})
	msg, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Opt-out news", "body": "Hello"})
	m, _ := create(t, env, a, "/api/v1/mailings", mailingBody(msg, reader, gone, strict))
	path := "/api/v1/mailings/" + m.String()

	// run dispatches the mailing and waits for the run's three final
	// attempts, which it returns by email.
	run := func() map[string]attemptWithReason {
		t.Helper()
		res := env.Do("POST", path+"/dispatch", nil, a.auth()...)
		want(t, "dispatch", res, 202)
		var acc struct {
			RunID uuid.UUID `json:"run_id"`
		}
		res.Decode(t, &acc)
		got := map[string]attemptWithReason{}
		testenv.Eventually(t, 30*time.Second, "the run's three attempts", func() bool {
			res := env.Do("GET", path+"/attempts?limit=200", nil, a.auth("X-Min-Position", position(t, res))...)
			want(t, "attempts", res, 200)
			var page pageJSON[attemptWithReason]
			res.Decode(t, &page)
			clear(got)
			for _, it := range page.Items {
				if it.RunID == acc.RunID && it.Final {
					got[it.Email] = it
				}
			}
			return len(got) == 3
		})
		return got
	}
	client := func(id uuid.UUID) optOutClientJSON {
		t.Helper()
		res := env.Do("GET", "/api/v1/clients/"+id.String(), nil, a.auth()...)
		want(t, "get client", res, 200)
		var c optOutClientJSON
		res.Decode(t, &c)
		return c
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, what, cond)
	}

	first := run()
	if first["reader@example.org"].Status != "success" || first["gone@example.org"].Status != "failure" ||
		first["strict@example.org"].Status != "failure" {
		t.Fatalf("first run %+v", first)
	}
	eventually("the 5.1.1 address suppressed at once", func() bool { return client(gone).SuppressedAt != nil })
	if c := client(gone); c.SuppressionReason != "no such mailbox" || c.UnsubscribedAt != nil {
		t.Fatalf("gone %+v", c)
	}
	if c := client(strict); c.SuppressedAt != nil {
		t.Fatalf("one 5.7.1 suppressed %+v", c)
	}

	// The mail carries the one-click headers and the footer.
	msgs, err := env.Sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(msgs, func(sm mail.StoredMessage) bool {
		return sm.Subject == "Opt-out news" && slices.Contains(sm.Recipients, "reader@example.org")
	})
	if i < 0 {
		t.Fatal("no mail to reader at the sink")
	}
	mailed := msgs[i]
	lu := mailed.Header.Get("List-Unsubscribe")
	link := regexp.MustCompile(`<(http://[^>]+/unsubscribe/[A-Za-z0-9_-]{44})>`).FindStringSubmatch(lu)
	if link == nil || !regexp.MustCompile(`<mailto:unsubscribe\+[A-Za-z0-9_-]{44}@test\.localhost>`).MatchString(lu) ||
		mailed.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe %q, List-Unsubscribe-Post %q", lu, mailed.Header.Get("List-Unsubscribe-Post"))
	}
	if !strings.Contains(mailed.Body, link[1]) || !strings.HasPrefix(mailed.Body, "Hello") {
		t.Fatalf("body without the unsubscribe footer: %q", mailed.Body)
	}

	// The provider's one-click: another origin, no cookie, form-encoded.
	provider := &stdhttp.Client{}
	oneClick := func(u string) int {
		t.Helper()
		req, _ := stdhttp.NewRequest("POST", u, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://mail.provider.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := provider.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		return res.StatusCode
	}
	tok := link[1][strings.LastIndexByte(link[1], '/')+1:]
	forged := []byte(tok)
	forged[40] = map[bool]byte{true: 'B', false: 'A'}[forged[40] == 'A']
	base := link[1][:strings.LastIndexByte(link[1], '/')+1]
	if code := oneClick(base + string(forged)); code != 404 {
		t.Fatalf("altered token answered %d", code)
	}
	if code := oneClick(base + "bm90LWEtdG9rZW4"); code != 404 {
		t.Fatalf("garbage token answered %d", code)
	}
	if c := client(reader); c.UnsubscribedAt != nil {
		t.Fatal("a refused token unsubscribed")
	}
	for i := range 2 { // idempotent
		if code := oneClick(link[1]); code != 200 {
			t.Fatalf("one-click %d answered %d", i+1, code)
		}
	}
	eventually("reader unsubscribed", func() bool { return client(reader).UnsubscribedAt != nil })

	// Another owner's clients are out of reach of this owner's link: the
	// token names the client, and the MAC binds it to its owner.
	other, made := create(t, env, b, "/api/v1/clients", map[string]any{"email": "reader@example.org", "full_name": "B's reader"})
	res := env.Do("GET", "/api/v1/clients/"+other.String(), nil, b.auth("X-Min-Position", position(t, made))...)
	want(t, "b's client", res, 200)
	var bc optOutClientJSON
	res.Decode(t, &bc)
	if bc.UnsubscribedAt != nil {
		t.Fatal("another owner's client with the address was unsubscribed")
	}

	second := run()
	if r := second["reader@example.org"]; r.Status != "skipped" || r.Reason != "unsubscribed" || r.ServerResponse != "" {
		t.Fatalf("unsubscribed client in the next run: %+v", r)
	}
	if r := second["gone@example.org"]; r.Status != "skipped" || r.Reason != "suppressed" {
		t.Fatalf("suppressed client in the next run: %+v", r)
	}
	if r := second["strict@example.org"]; r.Status != "failure" || env.Sink.Attempts("reader@example.org") != 1 {
		t.Fatalf("strict %+v, reader mailed %d times", r, env.Sink.Attempts("reader@example.org"))
	}
	if c := client(strict); c.SuppressedAt != nil {
		t.Fatalf("two 5.7.1 suppressed %+v", c)
	}
	run()
	eventually("three permanent failures suppress", func() bool { return client(strict).SuppressedAt != nil })
	if c := client(strict); c.SuppressionReason != "3 permanent failures" {
		t.Fatalf("strict %+v", c)
	}
	eventually("the report counts skips and bounces", func() bool {
		r, ok := reportFor(reportsOf(t, env, a, ""), m)
		// runs 2 and 3 skip reader and gone; gone bounced once, strict thrice.
		return ok && r.Runs == 3 && r.AttemptsSkipped == 4 && r.Bounced == 4 && r.AttemptsSuccess == 1
	})

	// Lifting a suppression: the owner may, another user may not; twice is a conflict.
	want(t, "b unsuppresses", env.Do("POST", "/api/v1/clients/"+gone.String()+"/unsuppress", nil, b.auth()...), 404, "not_found")
	res = env.Do("POST", "/api/v1/clients/"+gone.String()+"/unsuppress", nil, a.auth()...)
	want(t, "unsuppress", res, 200)
	var lifted optOutClientJSON
	res.Decode(t, &lifted)
	if lifted.SuppressedAt != nil || lifted.SuppressionReason != "" {
		t.Fatalf("unsuppressed %s", res.Body)
	}
	want(t, "unsuppress again", env.Do("POST", "/api/v1/clients/"+gone.String()+"/unsuppress", nil, a.auth()...), 409, "conflict")

	// Re-adding an unsubscribed address keeps it unsubscribed.
	want(t, "delete reader", env.Do("DELETE", "/api/v1/clients/"+reader.String(), nil, a.auth()...), 204)
	res = env.Do("POST", "/api/v1/clients", map[string]any{"email": "Reader@example.org", "full_name": "Reader again"}, a.auth()...)
	want(t, "re-create reader", res, 201)
	var again optOutClientJSON
	res.Decode(t, &again)
	if again.UnsubscribedAt == nil {
		t.Fatalf("re-created client %s is not unsubscribed", res.Body)
	}
	// Nor does an import re-add a suppressed address in good standing.
	want(t, "delete strict", env.Do("DELETE", "/api/v1/clients/"+strict.String(), nil, a.auth()...), 204)
	res = env.Do("POST", "/api/v1/clients/import", "email,full_name,comment\nstrict@example.org,Strict again,\n",
		a.auth("Content-Type", "text/csv")...)
	want(t, "import strict", res, 200)
	res = env.Do("GET", "/api/v1/clients?q=strict", nil, a.auth("X-Min-Position", position(t, res))...)
	want(t, "list strict", res, 200)
	var list pageJSON[optOutClientJSON]
	res.Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].SuppressedAt == nil || list.Items[0].SuppressionReason != "3 permanent failures" {
		t.Fatalf("imported client %s is not suppressed", res.Body)
	}
}

// The unsubscribe page: GET asks and changes nothing, the button's POST
// answers, a bad link is a 404 page; no login anywhere.
func TestUnsubscribePage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles("api", "projector"))
	a := newUser(t, env)
	id, created := create(t, env, a, "/api/v1/clients", map[string]any{"email": "page@example.org", "full_name": "Page"})
	var owner struct {
		OwnerID uuid.UUID `json:"owner_id"`
	}
	created.Decode(t, &owner)
	link := env.App.UnsubscribeLinks.Links(owner.OwnerID, id)
	page := func(method, u string, lang string) (int, string) {
		t.Helper()
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader("List-Unsubscribe=One-Click")
		}
		req, _ := stdhttp.NewRequest(method, u, body)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Accept-Language", lang)
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := (&stdhttp.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := page("GET", link.URL, "en")
	if code != 200 || !strings.Contains(body, `id="unsubscribe-question"`) || !strings.Contains(body, "page@example.org") ||
		!strings.Contains(body, `action="/unsubscribe/`) {
		t.Fatalf("GET: %d %s", code, body)
	}
	code, body = page("GET", link.URL, "ru")
	if code != 200 || !strings.Contains(body, "Отписаться") {
		t.Fatalf("GET in Russian: %d %s", code, body)
	}
	var c optOutClientJSON
	res := env.Do("GET", "/api/v1/clients/"+id.String(), nil, a.auth("X-Min-Position", position(t, created))...)
	want(t, "client", res, 200)
	res.Decode(t, &c)
	if c.UnsubscribedAt != nil {
		t.Fatal("GET unsubscribed")
	}
	code, body = page("POST", link.URL, "en")
	if code != 200 || !strings.Contains(body, `id="unsubscribe-done"`) {
		t.Fatalf("POST: %d %s", code, body)
	}
	code, body = page("GET", env.URL+"/unsubscribe/AAAA"+link.URL[len(link.URL)-40:], "en")
	if code != 404 || !strings.Contains(body, `id="unsubscribe-invalid"`) {
		t.Fatalf("bad link: %d %s", code, body)
	}
}
