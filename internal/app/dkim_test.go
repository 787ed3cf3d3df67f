package app_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// With DKIM configured, both kinds of mail the application sends are
// signed and verify against the key's record: the account mail (the
// verification of a sign-up) and a mailing's message, which also passes
// the shared send-rate limiter.
func TestAccountAndMailingMailAreSigned(t *testing.T) {
	t.Parallel()
	key, pemBytes, err := mail.GenerateDKIMKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	record, err := mail.DKIMRecord(key)
	if err != nil {
		t.Fatal(err)
	}
	env := apptest.Start(t, apptest.WithEnv("DKIM_DOMAIN", "test.localhost", "DKIM_SELECTOR", "t1",
		"DKIM_KEY_FILE", keyFile, "SEND_RATE", "50"))

	owner := apptest.SignUp(env, testenv.Name("u")+"@example.org", "correct horse battery")
	to := testenv.Name("c") + "@example.org"
	c := env.Create(owner.Token, "/api/v1/clients", map[string]any{"email": to, "full_name": "Signed"})
	msg := env.Create(owner.Token, "/api/v1/messages", map[string]any{"subject": "Signed news", "body": "Hi"})
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	env.Create(owner.Token, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": []uuid.UUID{c},
		"start_at": start.Format(time.RFC3339), "end_at": start.Add(48 * time.Hour).Format(time.RFC3339), "periodicity": "once"})

	var msgs []mail.StoredMessage
	testenv.Eventually(t, 30*time.Second, "the mailing's message at the sink", func() bool {
		msgs, err = env.Sink.Messages()
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(msgs, func(m mail.StoredMessage) bool { return slices.Contains(m.Recipients, to) })
	})
	lookup := func(name string) ([]string, error) {
		if name == "t1._domainkey.test.localhost" {
			return []string{record}, nil
		}
		return nil, errors.New("no record " + name)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		raw, err := os.ReadFile(filepath.Join(env.Sink.Dir(), m.File))
		if err != nil {
			t.Fatal(err)
		}
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "test.localhost" {
			t.Fatalf("mail to %v (%q) does not verify: %v %+v", m.Recipients, m.Subject, err, vs)
		}
		for _, r := range m.Recipients {
			seen[r] = true
		}
	}
	if !seen[owner.Email] || !seen[to] {
		t.Fatalf("verified mail to %v, want the account's (%s) and the mailing's (%s)", seen, owner.Email, to)
	}
}
