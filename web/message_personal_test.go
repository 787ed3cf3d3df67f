package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// The form takes an HTML body and names a template's mistake by its field
// and place; the preview renders the mail for the chosen client, as sent.
func TestMessageTemplatesAndPersonalPreview(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("web")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token

	res, body := postForm(t, env, "/messages", url.Values{"subject": {"Hi {{.FullName}}"}, "body": {""},
		"body_html": {"<p>Dear\r\n{{.Name}}</p>"}}, cookie)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="body_html-error"`) ||
		!strings.Contains(body, "<code>line 2, column 2: unknown field .Name") || strings.Contains(body, `id="body-error"`) ||
		!strings.Contains(body, "{{.Name}}&lt;/p&gt;</textarea>") {
		t.Fatalf("a template with an unknown field: %d %q", res.StatusCode, body)
	}

	var ivan, ann struct {
		ID uuid.UUID `json:"id"`
	}
	r := env.Do("POST", "/api/v1/clients", map[string]any{"email": "ann@example.org", "full_name": "Ann"}, apptest.Bearer(a.Token)...)
	r.Decode(t, &ann)
	r = env.Do("POST", "/api/v1/clients", map[string]any{"email": "ivan@example.org", "full_name": "Иван <Петров>", "comment": "VIP"}, apptest.Bearer(a.Token)...)
	r.Decode(t, &ivan)

	res, _ = postForm(t, env, "/messages", url.Values{"subject": {"Привет, {{.FullName}}"}, "body": {""},
		"body_html": {`<p onclick="x()">Dear {{.FullName}} ({{.Comment | default "-"}})</p><script>alert(1)</script>`}}, cookie)
	body = landOn(t, env, res, "/messages", cookie)
	m := messageRow.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no message listed: %q", body)
	}
	// The clients come from their read model: wait until it lists both.
	testenv.Eventually(t, 30*time.Second, "both clients offered", func() bool {
		res, body = get(t, env, "/messages/"+m[1]+"?client="+ivan.ID.String(), "Cookie", cookie)
		return res.StatusCode == http.StatusOK && strings.Contains(body, ann.ID.String()) && strings.Contains(body, ivan.ID.String())
	})
	for _, want := range []string{
		`<dd id="preview-subject">Привет, Иван &lt;Петров&gt;</dd>`,
		`<div class="message-html" id="preview-html"><p>Dear Иван &lt;Петров&gt; (VIP)</p></div>`,
		`id="preview-body">Dear Иван &lt;Петров&gt; (VIP)</div>`,
		`<option value="` + ivan.ID.String() + `" selected>`,
		`<option value="` + ann.ID.String() + `">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the preview for Иван lacks %s: %q", want, body)
		}
	}
	if strings.Contains(body, "alert(1)") || strings.Contains(body, "onclick") {
		t.Errorf("the preview shows what the sanitizer removes: %q", body)
	}
	// Without ?client= the first client is shown.
	_, body = get(t, env, "/messages/"+m[1], "Cookie", cookie)
	if !strings.Contains(body, `<dd id="preview-subject">Привет, Ann</dd>`) || !strings.Contains(body, "<p>Dear Ann (-)</p>") {
		t.Errorf("the default preview is not the first client's: %q", body)
	}
}
