package domain

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func fieldsOf(err error) map[string]bool {
	var v *ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	out := map[string]bool{}
	for _, f := range v.Fields {
		out[f.Field] = true
	}
	return out
}

func TestClientLifeAndRules(t *testing.T) {
	id, owner := uuid.New(), uuid.New()
	if _, err := NewClient(id, owner, ClientFields{Email: "not-an-email", FullName: ""}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad fields: err = %v", err)
	} else if f := fieldsOf(err); !f["email"] || !f["full_name"] {
		t.Fatalf("fields named: %v", f)
	}
	for _, bad := range []string{"a@b", "A <a@b.io>", "a@b.io ,c@d.io", "@b.io"} {
		if CheckEmail(bad) == "" {
			t.Errorf("email %q accepted", bad)
		}
	}
	c, err := NewClient(id, owner, ClientFields{Email: "  Ann@Example.org ", FullName: " Ann "})
	if err != nil {
		t.Fatal(err)
	}
	if c.Email() != "Ann@Example.org" || c.FullName() != "Ann" || len(c.Changes()) != 1 {
		t.Fatalf("created %+v", c)
	}
	c = LoadClient(c.Changes())
	if c.Version() != 1 || c.Owner() != owner || c.ID() != id {
		t.Fatalf("loaded %+v", c)
	}
	if err := c.Update(c.Fields()); err != nil || len(c.Changes()) != 0 {
		t.Fatalf("no-op update recorded %v (%v)", c.Changes(), err)
	}
	if err := c.Update(ClientFields{Email: "b@example.org", FullName: "B", Comment: "vip"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := c.Update(ClientFields{Email: "c@example.org", FullName: "C"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of deleted: %v", err)
	}
	if got := LoadClient(nil).Update(ClientFields{}); !errors.Is(got, ErrNotFound) {
		t.Fatalf("update of missing: %v", got)
	}
}

func TestMessageRules(t *testing.T) {
	_, err := NewMessage(uuid.New(), uuid.New(), MessageFields{Subject: "a\r\nBcc: x@y.z", Body: " "})
	if f := fieldsOf(err); !f["subject"] || !f["body"] {
		t.Fatalf("fields named: %v (%v)", f, err)
	}
	m, err := NewMessage(uuid.New(), uuid.New(), MessageFields{Subject: "Hello", Body: "Hi"})
	if err != nil {
		t.Fatal(err)
	}
	m = LoadMessage(m.Changes())
	if err := m.Update(MessageFields{Subject: string(make([]rune, 256)), Body: "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long subject: %v", err)
	}
	if err := m.Delete(); err != nil || !m.IsDeleted() {
		t.Fatalf("delete: %v", err)
	}
}

func validMailing() MailingFields {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return MailingFields{MessageID: uuid.New(), ClientIDs: []uuid.UUID{uuid.New(), uuid.New()},
		StartAt: start, EndAt: start.Add(30 * 24 * time.Hour), Periodicity: Daily}
}

func TestMailingInvariants(t *testing.T) {
	f := validMailing()
	f.EndAt = f.StartAt
	f.Periodicity = "hourly"
	f.Timezone = "Mars/Olympus"
	f.MessageID = uuid.Nil
	_, err := NewMailing(uuid.New(), uuid.New(), f, true)
	got := fieldsOf(err)
	for _, want := range []string{"end_at", "periodicity", "timezone", "message_id"} {
		if !got[want] {
			t.Errorf("field %s not named: %v", want, err)
		}
	}
	f = validMailing()
	f.ClientIDs = nil
	if _, err := NewMailing(uuid.New(), uuid.New(), f, true); !fieldsOf(err)["client_ids"] {
		t.Fatalf("no clients: %v", err)
	}
	f = validMailing()
	f.Timezone = "Local"
	if _, err := NewMailing(uuid.New(), uuid.New(), f, true); !fieldsOf(err)["timezone"] {
		t.Fatalf("Local zone accepted: %v", err)
	}

	f = validMailing()
	f.ClientIDs = append(f.ClientIDs, f.ClientIDs[0]) // duplicates collapse
	m, err := NewMailing(uuid.New(), uuid.New(), f, true)
	if err != nil {
		t.Fatal(err)
	}
	m = LoadMailing(m.Changes())
	if m.Timezone() != "UTC" || len(m.ClientIDs()) != 2 || m.Status() != StatusCreated || !m.IsActive() {
		t.Fatalf("created %+v", m)
	}
	if err := m.Enable(); err != nil || len(m.Changes()) != 0 {
		t.Fatalf("enable of enabled recorded %v (%v)", m.Changes(), err)
	}
	if err := m.Disable(); err != nil || m.IsActive() {
		t.Fatalf("disable: %v", err)
	}
	if err := m.Enable(); err != nil || !m.IsActive() {
		t.Fatalf("enable: %v", err)
	}
	removed := f.ClientIDs[0]
	if !m.RemoveClient(removed) || m.RemoveClient(removed) || len(m.ClientIDs()) != 1 {
		t.Fatalf("remove client: %v", m.ClientIDs())
	}
	run := uuid.New()
	now := time.Date(2026, 12, 1, 9, 0, 1, 0, time.UTC)
	if err := m.Start(run, now); err != nil || m.Status() != StatusStarted || m.LastRunAt() != now {
		t.Fatalf("start: %v %s", err, m.Status())
	}
	f2 := m.Fields()
	f2.Timezone = "Europe/Paris"
	if err := m.Update(f2); err != nil {
		t.Fatalf("update of started: %v", err)
	}
	if err := m.Complete(now, "end passed"); err != nil || m.Status() != StatusCompleted {
		t.Fatalf("complete: %v", err)
	}
	n := len(m.Changes())
	if err := m.Complete(now, "again"); err != nil || len(m.Changes()) != n {
		t.Fatalf("second complete recorded: %v", err)
	}
	if err := m.Update(validMailing()); !errors.Is(err, ErrMailingCompleted) || !errors.Is(err, ErrConflict) {
		t.Fatalf("update of completed: %v", err)
	}
	if err := m.Disable(); err != nil {
		t.Fatalf("disable of completed: %v", err)
	}
	if err := m.Enable(); !errors.Is(err, ErrMailingCompleted) {
		t.Fatalf("re-enable of completed: %v", err)
	}
	if m.RemoveClient(f.ClientIDs[1]) {
		t.Fatal("client removed from a completed mailing")
	}
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := m.Disable(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("disable of deleted: %v", err)
	}

	// Replaying everything gives the same state as deciding it did.
	r := LoadMailing(m.Changes())
	if r.Status() != m.Status() || r.IsActive() != m.IsActive() || !r.IsDeleted() || r.Timezone() != "Europe/Paris" ||
		r.Version() != int64(len(m.Changes())) {
		t.Fatalf("replayed %+v, decided %+v", r, m)
	}
}

func TestMailingPause(t *testing.T) {
	m, err := NewMailing(uuid.New(), uuid.New(), validMailing(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Pause("smtp down"); err != nil || m.IsActive() {
		t.Fatalf("pause: %v", err)
	}
	n := len(m.Changes())
	if err := m.Pause("again"); err != nil || len(m.Changes()) != n {
		t.Fatal("pause of paused recorded")
	}
	if err := m.Enable(); err != nil || !m.IsActive() {
		t.Fatalf("enable after pause: %v", err)
	}
	if s := m.Schedule(); !s.Valid() || s.Location != time.UTC {
		t.Fatalf("schedule %+v", s)
	}
}

func TestTextThatPostgreSQLRefusesIsInvalid(t *testing.T) {
	if _, err := NewClient(uuid.New(), uuid.New(), ClientFields{Email: "a@example.org", FullName: "A\x00", Comment: "\xff"}); !fieldsOf(err)["full_name"] || !fieldsOf(err)["comment"] {
		t.Fatalf("NUL/invalid UTF-8 accepted: %v", err)
	}
	if CheckEmail("a\x00@example.org") == "" {
		t.Fatal("NUL in email accepted")
	}
	if _, err := NewMessage(uuid.New(), uuid.New(), MessageFields{Subject: "S", Body: "a\x00b"}); !fieldsOf(err)["body"] {
		t.Fatalf("NUL body accepted: %v", err)
	}
	f := validMailing()
	f.Timezone = "UTC\x00"
	if _, err := NewMailing(uuid.New(), uuid.New(), f, true); !fieldsOf(err)["timezone"] {
		t.Fatalf("NUL zone accepted: %v", err)
	}
}
