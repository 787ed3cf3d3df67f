package form

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// Message is the form of /messages/new and /messages/{id}/edit. Version is
// the message's version the edit page showed (0 on a new message). The
// bodies are kept as typed: their line breaks and spaces are what the mail
// sends. Details are what the template check said of a field (subject,
// body, body_html), shown next to it; they never come from the request.
type Message struct {
	Subject  string
	Body     string
	BodyHTML string
	Version  int64
	Details  map[string]string
}

// NewMessage reads the form of r. A browser sends a textarea's line breaks
// as CRLF; the body keeps them as LF, as the API's clients send them.
func NewMessage(r *http.Request) Message {
	v, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	body := strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	html := strings.ReplaceAll(r.PostFormValue("body_html"), "\r\n", "\n")
	return Message{Subject: strings.TrimSpace(r.PostFormValue("subject")), Body: body, BodyHTML: html, Version: v}
}

// MessageOf fills the edit form with a message as the read model shows it.
func MessageOf(m projections.MessageRow) Message {
	return Message{Subject: m.Subject, Body: m.Body, BodyHTML: m.BodyHTML, Version: m.Version}
}

// Validate reports the empty required fields: the subject, and the text
// unless there is an HTML body to make it from.
func (f Message) Validate() Errors {
	e := Errors{}
	required(e, "subject", f.Subject)
	if strings.TrimSpace(f.BodyHTML) == "" {
		required(e, "body", strings.TrimSpace(f.Body))
	}
	return e
}

// Create is the command POST /api/v1/messages sends.
func (f Message) Create(owner uuid.UUID) commands.CreateMessage {
	return commands.CreateMessage{Owner: owner, Fields: domain.MessageFields{Subject: f.Subject, Body: f.Body, BodyHTML: f.BodyHTML}}
}

// Update is the command PUT /api/v1/messages/{id} sends, pinned to the
// version the page showed, so a change made meanwhile is refused rather
// than overwritten.
func (f Message) Update(id uuid.UUID, auth commands.Authorizer) commands.UpdateMessage {
	cmd := commands.UpdateMessage{ID: id, Subject: &f.Subject, Body: &f.Body, BodyHTML: &f.BodyHTML, Authorize: auth}
	if f.Version > 0 {
		cmd.IfMatch = &f.Version
	}
	return cmd
}
