package compose_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/heraldmail/herald/compose"
	"github.com/heraldmail/herald/domain"
)

var ann = compose.Fields{FullName: "Ann Lee", Email: "ann@example.com", Comment: "VIP", UnsubscribeURL: "https://herald.test/u/1"}

func TestRenderFields(t *testing.T) {
	m, err := compose.Render(domain.MessageFields{
		Subject: "Hello, {{.FullName}}",
		Body:    "Dear {{.FullName}} <{{.Email}}> ({{.Comment}})\nLeave: {{.UnsubscribeURL}}",
	}, ann)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Hello, Ann Lee" {
		t.Errorf("subject %q", m.Subject)
	}
	if want := "Dear Ann Lee <ann@example.com> (VIP)\nLeave: https://herald.test/u/1"; m.Text != want {
		t.Errorf("text %q, want %q", m.Text, want)
	}
	if m.HTML != "" {
		t.Errorf("html %q without an HTML body", m.HTML)
	}
}

func TestDefault(t *testing.T) {
	f := domain.MessageFields{Subject: "Hi {{.FullName | default \"friend\"}}", Body: "{{if .Comment}}note: {{.Comment}}{{else}}none{{end}}"}
	m, err := compose.Render(f, compose.Fields{FullName: "  "})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Hi friend" || m.Text != "none" {
		t.Errorf("got %+v", m)
	}
}

func TestCheckNamesThePlace(t *testing.T) {
	cases := []struct {
		f            domain.MessageFields
		field, where string
	}{
		{domain.MessageFields{Subject: "Hi {{.Name}}", Body: "x"}, "subject", "line 1, column 5: unknown field .Name"},
		{domain.MessageFields{Subject: "Hi", Body: "a\nb {{.FullName"}, "body", "line 2"},
		{domain.MessageFields{Subject: "Hi", Body: "a\n\n  {{lower .FullName}}"}, "body", "line 3"},
		{domain.MessageFields{Subject: "Hi", Body: "x", BodyHTML: "<p>\n{{if .Email}}</p>"}, "body_html", "line 2"},
		{domain.MessageFields{Subject: "Hi", Body: "x", BodyHTML: "<p>{{range .Email}}{{end}}</p>"}, "body_html", "range is not supported"},
		{domain.MessageFields{Subject: "{{.}}", Body: "x"}, "subject", "{{.}} is not a field"},
		{domain.MessageFields{Subject: "{{.Email.Host}}", Body: "x"}, "subject", "no fields of its own"},
		{domain.MessageFields{Subject: `{{define "x"}}y{{end}}`, Body: "x"}, "subject", "define"},
		{domain.MessageFields{Subject: "s", Body: "{{printf \"%v\" .Email}}"}, "body", `function "printf" is not supported`},
	}
	for _, c := range cases {
		_, err := compose.Prepare(c.f)
		var v *domain.ValidationError
		if !errors.As(err, &v) || !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%+v: error %v, want a validation error", c.f, err)
			continue
		}
		if len(v.Fields) != 1 || v.Fields[0].Field != c.field || !strings.Contains(v.Fields[0].Message, c.where) {
			t.Errorf("%+v: %+v, want %s: …%s…", c.f, v.Fields, c.field, c.where)
		}
	}
}

func TestCheckAccepts(t *testing.T) {
	f := domain.MessageFields{Subject: "Hi {{.FullName}}", Body: "{{with .Comment}}{{.}}{{end}}",
		BodyHTML: `<p>Hi {{.FullName | default "friend"}}</p><a href="{{.UnsubscribeURL}}">leave</a>`}
	if _, err := compose.Prepare(f); err != nil {
		t.Fatal(err)
	}
}

func TestHTMLEscapesClientFields(t *testing.T) {
	f, err := compose.Prepare(domain.MessageFields{Subject: "s", Body: "t",
		BodyHTML: `<p title="{{.Comment}}">Hi {{.FullName}}</p><a href="{{.UnsubscribeURL}}">leave</a>`})
	if err != nil {
		t.Fatal(err)
	}
	m, err := compose.Render(f, compose.Fields{FullName: `<script>alert(1)</script>`, Comment: `"><b>`,
		UnsubscribeURL: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", `"><b>`, "javascript:"} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("html %q holds %q", m.HTML, bad)
		}
	}
	if !strings.Contains(m.HTML, "Hi &lt;script&gt;") {
		t.Errorf("html %q does not show the name escaped", m.HTML)
	}
}

func TestSanitizeKeepsActions(t *testing.T) {
	src := `<p onclick="x()">Hi {{.FullName | default "friend"}}</p><script>{{.Email}}</script>` +
		`<a href="{{.UnsubscribeURL}}">leave</a><table><tr><td><img src="https://x.test/a.png" alt="a"></td></tr></table>`
	got := compose.SanitizeHTML(src)
	for _, want := range []string{`Hi {{.FullName | default "friend"}}`, `href="{{.UnsubscribeURL}}"`, "<table>", `<img src="https://x.test/a.png"`} {
		if !strings.Contains(got, want) {
			t.Errorf("sanitized %q lacks %q", got, want)
		}
	}
	for _, bad := range []string{"onclick", "<script", "{{.Email}}"} {
		if strings.Contains(got, bad) {
			t.Errorf("sanitized %q keeps %q", got, bad)
		}
	}
	if again := compose.SanitizeHTML(got); again != got {
		t.Errorf("sanitizing twice changes %q into %q", got, again)
	}
}

func TestTextFromHTML(t *testing.T) {
	f, err := compose.Prepare(domain.MessageFields{Subject: "Привет, {{.FullName}}!", BodyHTML: "<h1>Здравствуйте, {{.FullName}}</h1><p>Ваш комментарий: {{.Comment}}</p>"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := compose.Render(f, compose.Fields{FullName: "Иван Петров", Comment: "постоянный <клиент>"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Привет, Иван Петров!" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, "Здравствуйте, Иван Петров") || !strings.Contains(m.Text, "постоянный <клиент>") {
		t.Errorf("text %q", m.Text)
	}
	if !strings.Contains(m.HTML, "постоянный &lt;клиент&gt;") {
		t.Errorf("html %q", m.HTML)
	}
}

func TestSubjectStaysOneLine(t *testing.T) {
	m, err := compose.Render(domain.MessageFields{Subject: "Hi {{.Comment}}", Body: "b"}, compose.Fields{Comment: "a\r\nBcc: x@y"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject %q", m.Subject)
	}
}

func TestStoredTemplateThatNoLongerCompilesIsLiteral(t *testing.T) {
	m, err := compose.Render(domain.MessageFields{Subject: "{{ oops", Body: "Hello {{.Name}}"}, ann)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "{{ oops" || m.Text != "Hello {{.Name}}" {
		t.Errorf("got %+v", m)
	}
}

func TestRenderIsBounded(t *testing.T) {
	body := strings.Repeat("{{.Comment}}", 1000)
	_, err := compose.Render(domain.MessageFields{Subject: "s", Body: body}, compose.Fields{Comment: strings.Repeat("x", 10000)})
	if !errors.Is(err, compose.ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
}
