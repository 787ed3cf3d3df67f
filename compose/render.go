package compose

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"

	"github.com/k3a/html2text"

	"github.com/heraldmail/herald/domain"
)

// MaxRendered bounds each rendered part: a template that repeats a long
// field could otherwise grow far beyond the body it was written as.
const MaxRendered = 4 << 20

// ErrTooLarge is returned by Render when a part outgrows MaxRendered.
var ErrTooLarge = errors.New("compose: the rendered message is too large")

// Mail is a message rendered for one client. HTML is empty when the
// message has no HTML body; Text is then the text body, and otherwise the
// text body or, when that is empty, text made from the rendered HTML.
type Mail struct {
	Subject string
	Text    string
	HTML    string
}

// Template is a message compiled once to be rendered for many clients.
type Template struct {
	subject, text executor
	html          executor // nil without an HTML body
}

type executor interface {
	Execute(w io.Writer, data any) error
}

// literal renders its source unchanged: a stored template that no longer
// compiles (written before messages were templates, or under a rule since
// tightened) is sent as written rather than not at all.
type literal string

func (l literal) Execute(w io.Writer, _ any) error {
	_, err := io.WriteString(w, string(l))
	return err
}

// Compile prepares a stored message for rendering. It does not fail: what
// Prepare accepted compiles, and a part that does not is rendered literally.
func Compile(f domain.MessageFields) *Template {
	t := &Template{subject: compileText(partSubject, f.Subject), text: compileText(partText, f.Body)}
	if strings.TrimSpace(f.BodyHTML) != "" {
		if h, err := parseHTML(f.BodyHTML); err == nil {
			t.html = h
		} else {
			t.html = literal(htmltemplate.HTMLEscapeString(f.BodyHTML))
		}
	}
	return t
}

func compileText(name, src string) executor {
	if t, err := parseText(name, src); err == nil {
		return t
	}
	return literal(src)
}

// Render is the mail of the client c: the same bytes for the same fields.
func (t *Template) Render(c Fields) (Mail, error) {
	var m Mail
	var err error
	if m.Subject, err = execute(t.subject, c); err != nil {
		return Mail{}, err
	}
	// A field holding a line break must not break the subject header.
	m.Subject = strings.Join(strings.Fields(m.Subject), " ")
	if m.Text, err = execute(t.text, c); err != nil {
		return Mail{}, err
	}
	if t.html == nil {
		return m, nil
	}
	if m.HTML, err = execute(t.html, c); err != nil {
		return Mail{}, err
	}
	if strings.TrimSpace(m.Text) == "" {
		m.Text = html2text.HTML2TextWithOptions(m.HTML, html2text.WithUnixLineBreaks(), html2text.WithListSupport())
	}
	return m, nil
}

// Render compiles f and renders it for c.
func Render(f domain.MessageFields, c Fields) (Mail, error) {
	return Compile(f).Render(c)
}

func execute(e executor, c Fields) (string, error) {
	var b strings.Builder
	if err := e.Execute(&limited{w: &b, left: MaxRendered}, c); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return "", ErrTooLarge
		}
		return "", fmt.Errorf("compose: %w", err)
	}
	return b.String(), nil
}

// limited fails a write past its budget.
type limited struct {
	w    io.Writer
	left int
}

func (l *limited) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, ErrTooLarge
	}
	l.left -= len(p)
	return l.w.Write(p)
}
