package app_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/mtatest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

type attempt struct {
	Email          string     `json:"email"`
	Status         string     `json:"status"`
	ServerResponse string     `json:"server_response"`
	Attempt        int        `json:"attempt"`
	AttemptedAt    time.Time  `json:"attempted_at"`
	Final          bool       `json:"final"`
	RetryAt        *time.Time `json:"retry_at"`
}

// Herald against Debian's Postfix as a strict receiver would run it:
// strict_rfc821_envelopes, a fully qualified HELO required, STARTTLS with a
// private CA that Herald trusts through SMTP_TLS_CA_FILE, postgrey
// greylisting one recipient and another refused with 550. The account mail
// and the mailing cross it; the greylisted delivery is deferred, survives
// a restart of Herald and is delivered on the retry schedule; the refused
// one fails once, final; the once mailing completes only after the
// greylisted delivery, and its 5.1.1 suppresses the address. What the
// receiver stores is read back: a personal mail in a text and an HTML part,
// DKIM-signed (the signature verified against the key's published record),
// with its unsubscribe link in the headers and both parts.
func TestMailingThroughStrictPostfixWithGreylisting(t *testing.T) {
	t.Parallel()
	mta := mtatest.Start(t, mtatest.Options{GreylistDelay: 2 * time.Second})
	dkimKey, dkimLookup := dkimKeyFile(t, "herald.test", "s1")
	env := apptest.Start(t, apptest.WithEnv(
		"SMTP_URL", mta.URL(),
		"SMTP_TLS_CA_FILE", mta.CAFile(),
		"MAIL_FROM", "Herald News <news@herald.test>",
		"SEND_RETRY_SCHEDULE", "4s,8s,1h",
		"DKIM_DOMAIN", "herald.test", "DKIM_SELECTOR", "s1", "DKIM_KEY_FILE", dkimKey,
	))

	// The verification mail crosses the relay (its envelope and HELO
	// would be refused otherwise) and names the sender's domain.
	owner := apptest.SignUpThrough(env, func(email string) []string {
		var bodies []string
		for _, d := range mta.MessagesTo(t, email) {
			checkDelivered(t, d)
			body := d.Body
			if strings.EqualFold(d.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
				var err error
				if body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body))); err != nil {
					t.Fatal(err)
				}
			}
			bodies = append(bodies, string(body))
		}
		return bodies
	}, testenv.Name("owner")+"@"+mtatest.Domain, "correct horse battery")
	auth := apptest.Bearer(owner.Token)
	create := func(path string, body any) uuid.UUID { return env.Create(owner.Token, path, body) }

	ok := "reader@" + mtatest.Domain
	clients := []uuid.UUID{
		create("/api/v1/clients", map[string]any{"email": ok, "full_name": "Reader"}),
		create("/api/v1/clients", map[string]any{"email": mtatest.RejectRecipient, "full_name": "Nobody"}),
		create("/api/v1/clients", map[string]any{"email": mtatest.GreyRecipient, "full_name": "Grey"}),
	}
	msg := create("/api/v1/messages", map[string]any{"subject": "Спасибо, {{.FullName}} — thank you",
		"body":      "Hello {{.FullName}}, from Herald.\nСтрока по-русски.\n",
		"body_html": "<p>Hello <b>{{.FullName}}</b>, from Herald.</p><p>Строка по-русски.</p>"})
	// A once mailing whose window is open: the scheduler runs it at once.
	now := time.Now().UTC().Truncate(time.Second)
	mailing := create("/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": clients,
		"start_at": now.Add(-time.Minute).Format(time.RFC3339), "end_at": now.Add(time.Hour).Format(time.RFC3339),
		"periodicity": "once", "timezone": "UTC"})
	path := "/api/v1/mailings/" + mailing.String()

	attempts := func() map[string][]attempt {
		t.Helper()
		res := env.Do("GET", path+"/attempts", nil, auth...)
		if res.Status == 404 {
			return nil // the read model has not shown the mailing yet
		}
		if res.Status != 200 {
			t.Fatalf("attempts: %d %s", res.Status, res.Body)
		}
		var page struct {
			Items []attempt `json:"items"`
		}
		res.Decode(t, &page)
		per := map[string][]attempt{}
		for _, a := range page.Items {
			per[a.Email] = append(per[a.Email], a)
		}
		return per
	}
	status := func() string {
		t.Helper()
		var m struct {
			Status string `json:"status"`
		}
		if res := env.Do("GET", path, nil, auth...); res.Status == 200 {
			res.Decode(t, &m)
		}
		return m.Status
	}

	// The first pass: delivered, refused for good, greylisted and deferred.
	var per map[string][]attempt
	testenv.Eventually(t, 30*time.Second, "every client attempted once", func() bool {
		per = attempts()
		return len(per) == 3
	})
	if as := per[ok]; len(as) != 1 || as[0].Status != "success" || !as[0].Final {
		t.Fatalf("%s: %+v", ok, as)
	}
	if as := per[mtatest.RejectRecipient]; len(as) != 1 || as[0].Status != "failure" || !as[0].Final || as[0].RetryAt != nil ||
		!strings.HasPrefix(as[0].ServerResponse, "550 5.1.1") {
		t.Fatalf("%s: %+v, want one final 550 5.1.1", mtatest.RejectRecipient, as)
	}
	grey := per[mtatest.GreyRecipient]
	if len(grey) != 1 || grey[0].Status != "failure" || grey[0].Final || grey[0].RetryAt == nil ||
		!strings.HasPrefix(grey[0].ServerResponse, "450 4.2.0") || !grey[0].RetryAt.Equal(grey[0].AttemptedAt.Add(4*time.Second)) {
		t.Fatalf("%s: %+v, want a 450 4.2.0 deferred 4 s", mtatest.GreyRecipient, grey)
	}
	testenv.Eventually(t, 30*time.Second, "the mailing started", func() bool { return status() == "started" })

	// Herald restarts while the delivery is deferred: the retry is in the
	// store, not in the process.
	env.Restart()

	testenv.Eventually(t, 30*time.Second, "the greylisted delivery retried", func() bool {
		per = attempts()
		return len(per[mtatest.GreyRecipient]) == 2
	})
	retry := per[mtatest.GreyRecipient][1]
	if retry.Status != "success" || !retry.Final || retry.Attempt != 2 || retry.RetryAt != nil ||
		retry.AttemptedAt.Before(*grey[0].RetryAt) {
		t.Fatalf("retry %+v, want a final success not before %v", retry, grey[0].RetryAt)
	}
	testenv.Eventually(t, 30*time.Second, "the mailing completed", func() bool { return status() == "completed" })

	// At the receiver: one copy for each accepted recipient, none for the
	// refused one, every one over TLS with the configured names.
	for _, rcpt := range []string{ok, mtatest.GreyRecipient} {
		got := waitDelivered(t, mta, rcpt, 1, 10*time.Second)
		if len(got) != 1 {
			t.Fatalf("%s received %d copies", rcpt, len(got))
		}
		checkDelivered(t, got[0])
		checkPersonal(t, got[0], dkimLookup, map[string]string{ok: "Reader", mtatest.GreyRecipient: "Grey"}[rcpt])
		if id := got[0].Header.Get("Message-Id"); !strings.Contains(id, "."+clientOf(t, clients, rcpt, ok).String()+"@herald.test>") {
			t.Fatalf("%s: Message-ID %q, want the delivery key at the sender's domain", rcpt, id)
		}
	}
	if got := mta.MessagesTo(t, mtatest.RejectRecipient); len(got) != 0 {
		t.Fatalf("the refused recipient has %d messages", len(got))
	}
	// "No such mailbox" (5.1.1) once is enough: the address is suppressed.
	testenv.Eventually(t, 30*time.Second, "the refused address suppressed", func() bool {
		var c struct {
			SuppressedAt      *time.Time `json:"suppressed_at"`
			SuppressionReason string     `json:"suppression_reason"`
		}
		res := env.Do("GET", "/api/v1/clients/"+clients[1].String(), nil, auth...)
		if res.Status != 200 {
			t.Fatalf("the refused client: %d %s", res.Status, res.Body)
		}
		res.Decode(t, &c)
		return c.SuppressedAt != nil && c.SuppressionReason != ""
	})
	if as := attempts()[ok]; len(as) != 1 {
		t.Fatalf("%s attempted %d times", ok, len(as))
	}
}

func clientOf(t *testing.T, clients []uuid.UUID, rcpt, ok string) uuid.UUID {
	t.Helper()
	switch rcpt {
	case ok:
		return clients[0]
	case mtatest.RejectRecipient:
		return clients[1]
	case mtatest.GreyRecipient:
		return clients[2]
	}
	t.Fatalf("unknown recipient %s", rcpt)
	return uuid.Nil
}

// checkDelivered checks what Postfix recorded of the session: the envelope
// sender, the HELO name (MAIL_FROM's domain), TLS, and the Message-ID's
// domain.
func checkDelivered(t *testing.T, d mtatest.Delivered) {
	t.Helper()
	if d.Sender != "news@herald.test" {
		t.Fatalf("envelope sender %q", d.Sender)
	}
	received := d.Header.Get("Received")
	if !strings.HasPrefix(received, "from herald.test ") || !strings.Contains(received, "with ESMTPS") {
		t.Fatalf("Received: %s\nwant HELO herald.test over TLS", received)
	}
	if id := d.Header.Get("Message-Id"); !strings.HasSuffix(id, "@herald.test>") {
		t.Fatalf("Message-ID %q not at the sender's domain", id)
	}
}

// checkPersonal checks a mailing's mail as the receiver stored it: signed
// for the sender's domain (the signature verifies over the stored bytes,
// Postfix's own headers above it), a personal subject, and a text and an
// HTML part greeting name.
func checkPersonal(t *testing.T, d mtatest.Delivered, lookup func(string) ([]string, error), name string) {
	t.Helper()
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(d.Raw), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "herald.test" {
		t.Fatalf("%s: DKIM %v %+v", d.Recipient, err, vs)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(d.Header.Get("Subject"))
	if err != nil || subject != "Спасибо, "+name+" — thank you" {
		t.Fatalf("%s: subject %q (%v)", d.Recipient, subject, err)
	}
	media, params, err := mime.ParseMediaType(d.Header.Get("Content-Type"))
	if err != nil || media != "multipart/alternative" {
		t.Fatalf("%s: Content-Type %q (%v)", d.Recipient, d.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	r := multipart.NewReader(bytes.NewReader(d.Body), params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", d.Recipient, err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "Hello "+name+", from Herald.") || !strings.Contains(parts["text/plain"], "Строка по-русски.") {
		t.Fatalf("%s: text part %q", d.Recipient, parts["text/plain"])
	}
	if !strings.Contains(parts["text/html"], "<b>"+name+"</b>") {
		t.Fatalf("%s: HTML part %q", d.Recipient, parts["text/html"])
	}
	// The way out (RFC 8058), in the headers and in both parts' footers.
	list := d.Header.Get("List-Unsubscribe")
	link := strings.TrimSuffix(strings.TrimPrefix(strings.Split(list, ", ")[0], "<"), ">")
	if !strings.Contains(link, "/unsubscribe/") || !strings.Contains(list, "<mailto:unsubscribe+") ||
		d.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("%s: List-Unsubscribe %q, List-Unsubscribe-Post %q", d.Recipient, list, d.Header.Get("List-Unsubscribe-Post"))
	}
	if !strings.Contains(parts["text/plain"], link) || !strings.Contains(parts["text/html"], `href="`+link+`"`) {
		t.Fatalf("%s: a part lacks the unsubscribe link %s", d.Recipient, link)
	}
}

// dkimKeyFile writes a new Ed25519 DKIM key for selector s of domain and
// returns its file and a DNS lookup that publishes its record.
func dkimKeyFile(t *testing.T, domain, s string) (string, func(string) ([]string, error)) {
	t.Helper()
	key, pemBytes, err := mail.GenerateDKIMKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(file, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	record, err := mail.DKIMRecord(key)
	if err != nil {
		t.Fatal(err)
	}
	return file, func(name string) ([]string, error) {
		if name == s+"._domainkey."+domain {
			return []string{record}, nil
		}
		return nil, errors.New("no record " + name)
	}
}

func waitDelivered(t *testing.T, mta *mtatest.MTA, rcpt string, n int, timeout time.Duration) []mtatest.Delivered {
	t.Helper()
	var got []mtatest.Delivered
	testenv.Eventually(t, timeout, "delivery to "+rcpt, func() bool {
		got = mta.MessagesTo(t, rcpt)
		return len(got) >= n
	})
	return got
}
