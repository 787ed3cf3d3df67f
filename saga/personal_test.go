package saga

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/compose"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// Each client gets their own mail, rendered from the message's templates
// with their fields, exactly as the preview renders it.
func TestSenderSendsEachClientTheirPersonalMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	fields, err := compose.Prepare(domain.MessageFields{Subject: "Привет, {{.FullName}}!",
		BodyHTML: `<p>Dear {{.FullName}}{{if .Comment}} ({{.Comment}}){{end}}</p>`})
	if err != nil {
		t.Fatal(err)
	}
	msgID := uuid.Must(uuid.NewV7())
	msg, err := domain.NewMessage(msgID, e.owner, fields)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.MessageStreamType, ID: msgID}, Expected: eventstore.NoStream, Events: newEvents(msg.Changes())})

	ids := e.clients(1)
	ivan := uuid.Must(uuid.NewV7())
	c, err := domain.NewClient(ivan, e.owner, domain.ClientFields{Email: "ivan-" + ivan.String()[:8] + "@example.test",
		FullName: "Иван <Петров>", Comment: "VIP"})
	if err != nil {
		t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.ClientStreamType, ID: ivan}, Expected: eventstore.NoStream, Events: newEvents(c.Changes())})
	ids = append(ids, ivan)

	start := e.clock.Now().Add(30 * 24 * time.Hour)
	mid := uuid.Must(uuid.NewV7())
	ml, err := domain.NewMailing(mid, e.owner, domain.MailingFields{MessageID: msgID, ClientIDs: ids, StartAt: start,
		EndAt: start.Add(24 * time.Hour), Periodicity: domain.Daily, Timezone: "UTC"}, true)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.MailingStreamType, ID: mid}, Expected: eventstore.NoStream, Events: newEvents(ml.Changes())})
	run := e.dispatchNow(mid)
	if f := e.waitFinished(run); f.Sent != 2 {
		t.Fatalf("finished %+v", f)
	}
	msgs, err := e.sink.WaitFor(e.ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range msgs {
		got[m.Subject] = m.HTML
		if !strings.Contains(m.Body, strings.TrimSuffix(strings.TrimPrefix(m.Subject, "Привет, "), "!")) {
			t.Errorf("text part %q does not greet %q", m.Body, m.Subject)
		}
	}
	want := map[string]string{
		"Привет, Client 0!":      "<p>Dear Client 0</p>",
		"Привет, Иван <Петров>!": "<p>Dear Иван &lt;Петров&gt; (VIP)</p>",
	}
	for subject, html := range want {
		if got[subject] != html {
			t.Errorf("mail %q: html %q, want %q (got %v)", subject, got[subject], html, got)
		}
	}
	preview, err := compose.Render(fields, compose.Fields{FullName: "Иван <Петров>", Email: "x", Comment: "VIP"})
	if err != nil || preview.HTML != want["Привет, Иван <Петров>!"] {
		t.Errorf("preview %+v (%v) differs from what was sent", preview, err)
	}
}
