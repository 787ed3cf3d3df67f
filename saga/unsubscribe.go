package saga

import (
	"html"
	"strings"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/mail"
)

// withUnsubscribe gives a mail its way out: List-Unsubscribe with the link
// and the mailto address, List-Unsubscribe-Post for the one-click POST of
// RFC 8058, and a footer with the link in the text and the HTML part, unless
// the message's own template already shows it ({{.UnsubscribeURL}}).
func withUnsubscribe(m *mail.Message, l domain.UnsubscribeLinks) {
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	v := "<" + l.URL + ">"
	if l.Mailto != "" {
		v += ", <mailto:" + l.Mailto + ">"
	}
	m.Headers["List-Unsubscribe"] = v
	m.Headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	if !strings.Contains(m.TextBody, l.URL) {
		m.TextBody = TextWithFooter(m.TextBody, l.URL)
	}
	if m.HTMLBody != "" && !strings.Contains(m.HTMLBody, html.EscapeString(l.URL)) {
		m.HTMLBody = HTMLWithFooter(m.HTMLBody, l.URL)
	}
}

// HTMLWithFooter ends an HTML body with a paragraph linking its unsubscribe
// URL, inside its body element when it has one.
func HTMLWithFooter(body, unsubscribeURL string) string {
	footer := `<hr><p>To stop receiving these emails, <a href="` + html.EscapeString(unsubscribeURL) + `">unsubscribe</a>.</p>`
	if i := lastTagFold(body, "</body>"); i >= 0 {
		return body[:i] + footer + body[i:]
	}
	return body + footer
}

// lastTagFold is the index of tag's last occurrence in s, ASCII case
// ignored (tag starts with '<'), or -1: it hops back from '<' to '<'
// instead of lowering a copy of a whole body per mail.
func lastTagFold(s, tag string) int {
	for end := len(s); ; {
		i := strings.LastIndexByte(s[:end], '<')
		if i < 0 {
			return -1
		}
		if len(s)-i >= len(tag) && strings.EqualFold(s[i:i+len(tag)], tag) {
			return i
		}
		end = i
	}
}

// TextWithFooter ends a text body with the line giving its unsubscribe URL
// (a body template with its own {{.UnsubscribeURL}} would take its place).
func TextWithFooter(body, unsubscribeURL string) string {
	if body != "" && body[len(body)-1] != '\n' {
		body += "\n"
	}
	return body + "\n-- \nTo stop receiving these emails, unsubscribe: " + unsubscribeURL + "\n"
}
