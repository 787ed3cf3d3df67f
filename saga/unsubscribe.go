package saga

import (
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/mail"
)

// withUnsubscribe gives a mail its way out: List-Unsubscribe with the link
// and the mailto address, List-Unsubscribe-Post for the one-click POST of
// RFC 8058, and a footer line with the link in the text body.
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
	m.TextBody = TextWithFooter(m.TextBody, l.URL)
}

// TextWithFooter ends a text body with the line giving its unsubscribe URL
// (a body template with its own {{.UnsubscribeURL}} would take its place).
func TextWithFooter(body, unsubscribeURL string) string {
	if body != "" && body[len(body)-1] != '\n' {
		body += "\n"
	}
	return body + "\n-- \nTo stop receiving these emails, unsubscribe: " + unsubscribeURL + "\n"
}
