package http_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

type previewJSON struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// A message is a template over the client's fields: a mistake is a 422
// naming the field and line when written, and the preview renders it for
// one of the owner's clients as the sender does.
func TestMessagePreviewAndTemplateErrors(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	a, b := newUser(t, env), newUser(t, env)

	res := env.Do("POST", "/api/v1/messages", map[string]any{"subject": "Hi {{.Name}}", "body": "x",
		"body_html": "<p>\n{{if .Email}}</p>"}, a.auth()...)
	want(t, "bad templates", res, 422, "validation_failed")
	var p struct {
		Errors []struct{ Field, Message string } `json:"errors"`
	}
	res.Decode(t, &p)
	if len(p.Errors) != 2 || p.Errors[0].Field != "subject" || !strings.Contains(p.Errors[0].Message, "line 1, column 5: unknown field .Name") ||
		p.Errors[1].Field != "body_html" || !strings.HasPrefix(p.Errors[1].Message, "line 2") {
		t.Fatalf("errors %+v", p.Errors)
	}

	cid, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "ivan@example.org", "full_name": "Иван <Петров>", "comment": "VIP"})
	msgID, res := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Привет, {{.FullName}}", "body": "",
		"body_html": `<p onclick="x()">Dear {{.FullName}} ({{.Comment}})</p><script>alert(1)</script>`})
	var m struct {
		BodyHTML string `json:"body_html"`
	}
	res.Decode(t, &m)
	if m.BodyHTML != "<p>Dear {{.FullName}} ({{.Comment}})</p>" {
		t.Fatalf("stored body_html %q", m.BodyHTML)
	}
	want(t, "PATCH a bad body", env.Do("PATCH", "/api/v1/messages/"+msgID.String(), map[string]any{"body": "{{.FullName"}, a.auth()...), 422, "validation_failed")

	path := "/api/v1/messages/" + msgID.String() + "/preview"
	res = env.Do("POST", path, map[string]any{"client_id": cid}, a.auth("X-Min-Position", position(t, res))...)
	want(t, "preview", res, 200)
	var got previewJSON
	res.Decode(t, &got)
	if got.Subject != "Привет, Иван <Петров>" || got.HTML != "<p>Dear Иван &lt;Петров&gt; (VIP)</p>" ||
		!strings.Contains(got.Text, "Dear Иван <Петров> (VIP)") {
		t.Fatalf("preview %+v", got)
	}

	// B may not read A's message; A may not preview for B's client.
	want(t, "B previews", env.Do("POST", path, map[string]any{"client_id": cid}, b.auth()...), 404, "not_found")
	bc, _ := create(t, env, b, "/api/v1/clients", map[string]any{"email": "b@example.org", "full_name": "B"})
	res = env.Do("POST", path, map[string]any{"client_id": bc}, a.auth()...)
	if f := fieldsNamed(t, res); res.Status != 422 || !slices.Equal(f, []string{"client_id"}) {
		t.Fatalf("preview for B's client: %d %s", res.Status, res.Body)
	}
	want(t, "no client", env.Do("POST", path, map[string]any{}, a.auth()...), 422, "validation_failed")
	want(t, "unknown message", env.Do("POST", "/api/v1/messages/"+uuid.NewString()+"/preview", map[string]any{"client_id": cid}, a.auth()...), 404, "not_found")
}
