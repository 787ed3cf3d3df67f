package compose_test

import (
	"testing"

	"github.com/heraldmail/herald/compose"
	"github.com/heraldmail/herald/domain"
)

// FuzzRender: no template and no client makes compose panic; a template
// Prepare accepts renders the same bytes twice for the same client, and
// compiling it once (as the sender does) gives what Render (the previews)
// gives.
func FuzzRender(f *testing.F) {
	f.Add("Hi {{.FullName}}", "Dear {{.FullName | default \"friend\"}}", `<p title="{{.Comment}}">{{.Email}}</p>`, "Ann", "a@b.c", "c", "https://u")
	f.Add("{{if .Comment}}x{{else}}y{{end}}", "", `<a href="{{.UnsubscribeURL}}">x</a><script>{{.Email}}</script>`, "<b>", "", "\"'", "javascript:x")
	f.Add("Привет, {{.FullName}}", "{{with .Comment}}{{.}}{{end}}", "", "Иван", "i@example.com", "\r\n", "")
	f.Add("{{ oops", "{{.Nope}}", "<p>{{if .Email}}</p>", "", "", "", "")
	f.Fuzz(func(t *testing.T, subject, body, html, name, email, comment, unsub string) {
		c := compose.Fields{FullName: name, Email: email, Comment: comment, UnsubscribeURL: unsub}
		src := domain.MessageFields{Subject: subject, Body: body, BodyHTML: html}
		_, _ = compose.Render(src, c) // stored sources that never passed Prepare must not panic either
		prepared, err := compose.Prepare(src)
		if err != nil {
			return
		}
		sent, err1 := compose.Compile(prepared).Render(c)
		preview, err2 := compose.Render(prepared, c)
		if (err1 == nil) != (err2 == nil) || sent != preview {
			t.Fatalf("sender %+v (%v) and preview %+v (%v) differ", sent, err1, preview, err2)
		}
		again, _ := compose.Render(prepared, c)
		if again != preview {
			t.Fatalf("two renders differ: %+v and %+v", preview, again)
		}
	})
}
