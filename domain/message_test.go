package domain

import (
	"errors"
	"testing"

	"github.com/google/uuid"
)

// Message events recorded before messages had an HTML body load as
// messages without one; an HTML body alone is enough, and an update that
// only removes it is recorded.
func TestMessageHTMLBody(t *testing.T) {
	id, owner := uuid.New(), uuid.New()
	created, err := DecodeEvent("message.created", []byte(`{"message_id":"`+id.String()+`","owner_id":"`+owner.String()+`","subject":"S","body":"B"}`))
	if err != nil {
		t.Fatal(err)
	}
	updated, err := DecodeEvent("message.updated", []byte(`{"subject":"S2","body":"B2"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := LoadMessage([]Event{created, updated})
	if m.Subject() != "S2" || m.Body() != "B2" || m.BodyHTML() != "" {
		t.Fatalf("old events give %+v", m.Fields())
	}

	if _, err := NewMessage(id, owner, MessageFields{Subject: "S", Body: " "}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no body at all: %v", err)
	}
	n, err := NewMessage(id, owner, MessageFields{Subject: "S", BodyHTML: "<p>hi</p>"})
	if err != nil {
		t.Fatal(err)
	}
	if c := n.Changes()[0].(MessageCreated); c.BodyHTML != "<p>hi</p>" || c.Body != "" {
		t.Fatalf("created %+v", c)
	}
	m = LoadMessage(n.Changes())
	if err := m.Update(MessageFields{Subject: "S", Body: "text", BodyHTML: "  "}); err != nil {
		t.Fatal(err)
	}
	if u := m.Changes()[0].(MessageUpdated); u.BodyHTML != "" || m.BodyHTML() != "" {
		t.Fatalf("update removing the HTML body: %+v", u)
	}
}
