// Package compose owns what a message becomes for one client. A message's
// subject and text body are text/template templates and its optional HTML
// body an html/template template, over the client's fields (Fields):
//
//	{{.FullName}}        the client's full name
//	{{.Email}}           the client's email address
//	{{.Comment}}         the owner's comment on the client
//	{{.UnsubscribeURL}}  the link that unsubscribes the client
//
// with if/else/with, the comparisons eq and ne, and, or, not, and one
// function of its own: default, which stands for an empty (or blank)
// field, as in {{.FullName | default "friend"}}. Anything else (another
// field, range, define, template, other functions) is refused.
//
// Prepare checks and sanitizes a message when it is written, so a mistake
// is a validation error naming the field, line and column then and never a
// failure at send time. Compile and Render make the mail of one client for
// the sender and for both previews, which therefore show the bytes sent.
// In the HTML body html/template escapes the client's fields for where they
// stand (text, attribute, URL); the HTML around them was sanitized with
// bluemonday when it was written.
package compose
