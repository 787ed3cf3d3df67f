package testenv

import (
	"fmt"
	"strings"
)

// NewsletterSubject, NewsletterText and NewsletterHTML are the personal
// newsletter the send-path benchmarks mail: every part a template over the
// client's name and email, the HTML about 4 KB (a header, eight stories, a
// footer naming the reader), the text a body of its own.
const NewsletterSubject = "{{.FullName}}, your monthly news"

// NewsletterText is the newsletter's text body.
const NewsletterText = "Hello {{.FullName}},\n\nHere is what happened this month at Example Corp.\n\n" +
	"A story: https://news.example.test/stories/1\nA story: https://news.example.test/stories/2\n" +
	"A story: https://news.example.test/stories/3\nA story: https://news.example.test/stories/4\n" +
	"A story: https://news.example.test/stories/5\nA story: https://news.example.test/stories/6\n" +
	"A story: https://news.example.test/stories/7\nA story: https://news.example.test/stories/8\n" +
	"\nThis mail was sent to {{.FullName}} <{{.Email}}>.\n"

// NewsletterHTML is the newsletter's HTML body.
func NewsletterHTML() string {
	var html strings.Builder
	html.WriteString(`<table width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">` +
		`<table width="600" cellpadding="0" cellspacing="0">` +
		`<tr><td><a href="https://news.example.test/"><img src="https://news.example.test/logo.png" alt="Example News" width="200" height="60"></a></td></tr>` +
		`<tr><td><h1>Hello {{.FullName}},</h1><p>Here is what happened this month at Example Corp. ` +
		`We picked the stories we think matter to you{{if .Comment}} ({{.Comment}}){{end}}.</p></td></tr>`)
	for i := range 8 {
		fmt.Fprintf(&html, `<tr><td><h2>Story %d: a headline long enough to wrap on a phone screen</h2>`+
			`<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit. Integer nec odio praesent libero, sed cursus ante dapibus diam. `+
			`Sed nisi, nulla quis sem at nibh elementum imperdiet. <strong>Duis sagittis ipsum</strong>, praesent mauris.</p>`+
			`<p><a href="https://news.example.test/stories/%d?utm_source=herald">Read the full story</a></p></td></tr>`, i+1, i+1)
	}
	html.WriteString(`<tr><td><p>This mail was sent to {{.FullName}} &lt;{{.Email}}&gt;. ` +
		`<a href="https://news.example.test/unsubscribe">Unsubscribe</a>.</p></td></tr></table></td></tr></table>`)
	return html.String()
}
