package domain

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Message events.
type (
	MessageCreated struct {
		MessageID uuid.UUID `json:"message_id"`
		OwnerID   uuid.UUID `json:"owner_id"`
		Subject   string    `json:"subject"`
		Body      string    `json:"body"`
		// BodyHTML is absent from events recorded before messages had
		// an HTML body: those load as messages without one.
		BodyHTML string `json:"body_html,omitempty"`
	}
	MessageUpdated struct {
		Subject  string `json:"subject"`
		Body     string `json:"body"`
		BodyHTML string `json:"body_html,omitempty"`
	}
	MessageDeleted struct{}
)

func (MessageCreated) EventType() string { return "message.created" }
func (MessageUpdated) EventType() string { return "message.updated" }
func (MessageDeleted) EventType() string { return "message.deleted" }

func init() { RegisterEvents(MessageCreated{}, MessageUpdated{}, MessageDeleted{}) }

// MessageStreamType names message streams.
const MessageStreamType = "message"

// Limits of message fields. The body is bounded by the request size.
const (
	MaxSubjectLength = 255
	MaxBodyLength    = 512 * 1024
)

// ErrMessageDeleted is returned by commands on a deleted message.
var ErrMessageDeleted = fmt.Errorf("%w: message was deleted", ErrNotFound)

// MessageFields are what a user sets on a message: a subject, a text body
// and an optional HTML body, each a template over the client's fields
// (package compose checks and renders them; the domain keeps them as text).
type MessageFields struct {
	Subject  string
	Body     string
	BodyHTML string
}

func (f MessageFields) normalize() (MessageFields, error) {
	f.Subject = strings.TrimSpace(f.Subject)
	var v ValidationError
	switch {
	case f.Subject == "":
		v.Fields = append(v.Fields, FieldError{Field: "subject", Message: "is required"})
	case utf8.RuneCountInString(f.Subject) > MaxSubjectLength:
		v.Fields = append(v.Fields, FieldError{Field: "subject", Message: fmt.Sprintf("must be at most %d characters", MaxSubjectLength)})
	case strings.ContainsAny(f.Subject, "\r\n"):
		// A line break in a subject would inject mail headers.
		v.Fields = append(v.Fields, FieldError{Field: "subject", Message: "must be one line"})
	}
	// The text body may be empty when there is an HTML one: the text part
	// of the mail is then made from the HTML.
	if strings.TrimSpace(f.BodyHTML) == "" {
		f.BodyHTML = ""
	}
	switch {
	case strings.TrimSpace(f.Body) == "" && f.BodyHTML == "":
		v.Fields = append(v.Fields, FieldError{Field: "body", Message: "is required"})
	case len(f.Body) > MaxBodyLength:
		v.Fields = append(v.Fields, FieldError{Field: "body", Message: fmt.Sprintf("must be at most %d bytes", MaxBodyLength)})
	}
	if len(f.BodyHTML) > MaxBodyLength {
		v.Fields = append(v.Fields, FieldError{Field: "body_html", Message: fmt.Sprintf("must be at most %d bytes", MaxBodyLength)})
	}
	for _, fv := range [][2]string{{"subject", f.Subject}, {"body", f.Body}, {"body_html", f.BodyHTML}} {
		if msg := CheckText(fv[1]); msg != "" {
			v.Fields = append(v.Fields, FieldError{Field: fv[0], Message: msg})
		}
	}
	if len(v.Fields) > 0 {
		return f, &v
	}
	return f, nil
}

// Message is a subject and body that mailings send.
type Message struct {
	Root
	id       uuid.UUID
	owner    uuid.UUID
	subject  string
	body     string
	bodyHTML string
	deleted  bool
}

// NewMessage decides the creation of a message.
func NewMessage(id, owner uuid.UUID, f MessageFields) (*Message, error) {
	if id == uuid.Nil || owner == uuid.Nil {
		return nil, errors.New("domain: message needs an id and an owner")
	}
	f, err := f.normalize()
	if err != nil {
		return nil, err
	}
	m := &Message{}
	m.record(m.apply, MessageCreated{MessageID: id, OwnerID: owner, Subject: f.Subject, Body: f.Body, BodyHTML: f.BodyHTML})
	return m, nil
}

// LoadMessage rebuilds a message from its history.
func LoadMessage(history []Event) *Message {
	m := &Message{}
	m.replay(m.apply, history)
	return m
}

// Update decides a change; nothing is recorded when nothing changes.
func (m *Message) Update(f MessageFields) error {
	if err := m.live(); err != nil {
		return err
	}
	f, err := f.normalize()
	if err != nil {
		return err
	}
	if f == m.Fields() {
		return nil
	}
	m.record(m.apply, MessageUpdated(f))
	return nil
}

// Delete decides the deletion. Whether a mailing still uses the message is a
// cross-aggregate rule checked by the command handler.
func (m *Message) Delete() error {
	if err := m.live(); err != nil {
		return err
	}
	m.record(m.apply, MessageDeleted{})
	return nil
}

func (m *Message) live() error {
	if m.id == uuid.Nil {
		return NotFound("message")
	}
	if m.deleted {
		return ErrMessageDeleted
	}
	return nil
}

func (m *Message) apply(e Event) {
	switch e := e.(type) {
	case MessageCreated:
		m.id, m.owner, m.subject, m.body, m.bodyHTML = e.MessageID, e.OwnerID, e.Subject, e.Body, e.BodyHTML
	case MessageUpdated:
		m.subject, m.body, m.bodyHTML = e.Subject, e.Body, e.BodyHTML
	case MessageDeleted:
		m.deleted = true
	}
}

// Read accessors.
func (m *Message) ID() uuid.UUID    { return m.id }
func (m *Message) Owner() uuid.UUID { return m.owner }
func (m *Message) Subject() string  { return m.subject }
func (m *Message) Body() string     { return m.body }
func (m *Message) BodyHTML() string { return m.bodyHTML }
func (m *Message) Exists() bool     { return m.id != uuid.Nil }
func (m *Message) IsDeleted() bool  { return m.deleted }
func (m *Message) Fields() MessageFields {
	return MessageFields{Subject: m.subject, Body: m.body, BodyHTML: m.bodyHTML}
}
