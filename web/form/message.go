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
// the message's version the edit page showed (0 on a new message). The body
// is kept as typed: its line breaks and spaces are what the mail sends.
type Message struct {
	Subject string
	Body    string
	Version int64
}

// NewMessage reads the form of r. A browser sends a textarea's line breaks
// as CRLF; the body keeps them as LF, as the API's clients send them.
func NewMessage(r *http.Request) Message {
	v, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	body := strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	return Message{Subject: strings.TrimSpace(r.PostFormValue("subject")), Body: body, Version: v}
}

// MessageOf fills the edit form with a message as the read model shows it.
func MessageOf(m projections.MessageRow) Message {
	return Message{Subject: m.Subject, Body: m.Body, Version: m.Version}
}

// Validate reports the empty required fields.
func (f Message) Validate() Errors {
	e := Errors{}
	required(e, "subject", f.Subject)
	required(e, "body", strings.TrimSpace(f.Body))
	return e
}

// Create is the command POST /api/v1/messages sends.
func (f Message) Create(owner uuid.UUID) commands.CreateMessage {
	return commands.CreateMessage{Owner: owner, Fields: domain.MessageFields{Subject: f.Subject, Body: f.Body}}
}

// Update is the command PUT /api/v1/messages/{id} sends, pinned to the
// version the page showed, so a change made meanwhile is refused rather
// than overwritten.
func (f Message) Update(id uuid.UUID, auth commands.Authorizer) commands.UpdateMessage {
	cmd := commands.UpdateMessage{ID: id, Subject: &f.Subject, Body: &f.Body, Authorize: auth}
	if f.Version > 0 {
		cmd.IfMatch = &f.Version
	}
	return cmd
}
