package mail_test

import (
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldmail/herald/mail"
)

// A mail with an HTML body is multipart/alternative, text first, both
// parts UTF-8, and a Cyrillic subject travels as RFC 2047 words.
func TestHTMLMailIsMultipartAlternative(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint()})
	text := "Здравствуйте, Иван!\n\nВаша скидка ждёт вас.\n"
	html := `<p>Здравствуйте, <b>Иван</b>!</p><p><a href="https://example.org/?a=1&amp;b=2">Скидка</a></p>`
	res := c.Send(ctx(t), mail.Message{To: "ivan@example.org", ToName: "Иван Петров", Subject: "Привет, Иван Петров!",
		TextBody: text, HTMLBody: html})
	if !res.OK() {
		t.Fatalf("send: %+v", res)
	}
	msgs, err := sink.WaitFor(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.Subject != "Привет, Иван Петров!" {
		t.Errorf("subject %q", m.Subject)
	}
	raw, err := os.ReadFile(filepath.Join(sink.Dir(), m.File))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Header.Get("Subject"), "=?UTF-8?") {
		t.Errorf("raw subject %q is not RFC 2047", m.Header.Get("Subject"))
	}
	for i, b := range raw {
		if b >= 0x80 {
			t.Fatalf("byte %d of the mail is not ASCII: the parts should be encoded", i)
		}
	}
	mt, _, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Errorf("content type %q (%v)", m.Header.Get("Content-Type"), err)
	}
	if got := strings.ReplaceAll(m.Body, "\r\n", "\n"); got != text {
		t.Errorf("text part %q, want %q", got, text)
	}
	if m.HTML != html {
		t.Errorf("html part %q, want %q", m.HTML, html)
	}
	s := string(raw)
	plain, rich := strings.Index(s, "Content-Type: text/plain; charset=UTF-8"), strings.Index(s, "Content-Type: text/html; charset=UTF-8")
	if plain < 0 || rich < plain {
		t.Errorf("the parts are not text then HTML, both UTF-8:\n%s", s)
	}
}
