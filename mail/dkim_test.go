package mail_test

import (
	"bytes"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/heraldmail/herald/mail"
)

var (
	keysOnce sync.Once
	keys     map[string]crypto.Signer
	keyPEMs  map[string][]byte
)

// testKeys makes one RSA and one Ed25519 key for the whole package: an
// RSA-2048 key takes a noticeable moment to generate.
func testKeys(t testing.TB) (map[string]crypto.Signer, map[string][]byte) {
	t.Helper()
	keysOnce.Do(func() {
		keys, keyPEMs = map[string]crypto.Signer{}, map[string][]byte{}
		for _, kind := range []string{"rsa", "ed25519"} {
			k, p, err := mail.GenerateDKIMKey(kind)
			if err != nil {
				panic(err)
			}
			keys[kind], keyPEMs[kind] = k, p
		}
	})
	return keys, keyPEMs
}

// verifyDKIM checks raw's signatures against records (DNS name → TXT
// text) and returns the one verification.
func verifyDKIM(t testing.TB, raw []byte, records map[string]string) *dkim.Verification {
	t.Helper()
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if r, ok := records[name]; ok {
				return []string{r}, nil
			}
			return nil, errors.New("no such record " + name)
		},
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if len(vs) != 1 {
		t.Fatalf("%d signatures, want 1:\n%s", len(vs), raw)
	}
	return vs[0]
}

// TestSinkReceivedMailVerifies sends signed mail, RSA and Ed25519, through
// the Sink and verifies the stored .eml files as a receiver would: the
// signature covers the message after the DATA encoding is undone.
func TestSinkReceivedMailVerifies(t *testing.T) {
	t.Parallel()
	ks, _ := testKeys(t)
	for _, kind := range []string{"rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			sink := startSink(t, mail.SinkConfig{})
			c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), From: "Herald <news@mail.herald.test>",
				DKIM: &mail.DKIM{Domain: "herald.test", Selector: "s1", Key: ks[kind]}})
			if !c.Signed() {
				t.Fatal("client with a key says it does not sign")
			}
			record, err := mail.DKIMRecord(ks[kind])
			if err != nil {
				t.Fatal(err)
			}
			// A leading dot on a body line is doubled on the wire and must be
			// undone before the signature is checked; non-ASCII text is
			// encoded by go-mail.
			res := c.Send(ctx(t), mail.Message{To: "zoe@example.org", ToName: "Zoë", Subject: "Bonjour Zoë",
				TextBody: "Line one\n.leading dot\n\n\nend  \n",
				Headers: map[string]string{
					"List-Unsubscribe":      "<https://herald.test/u/abc>",
					"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				}})
			if !res.OK() {
				t.Fatalf("send: %+v", res)
			}
			msgs, err := sink.WaitFor(ctx(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(sink.Dir(), msgs[0].File))
			if err != nil {
				t.Fatal(err)
			}
			v := verifyDKIM(t, raw, map[string]string{"s1._domainkey.herald.test": record})
			if v.Err != nil {
				t.Fatalf("signature does not verify: %v\n%s", v.Err, raw)
			}
			if v.Domain != "herald.test" {
				t.Errorf("d=%q, want herald.test", v.Domain)
			}
			for _, h := range []string{"from", "to", "subject", "date", "message-id", "mime-version", "content-type", "list-unsubscribe", "list-unsubscribe-post"} {
				if !slices.ContainsFunc(v.HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
					t.Errorf("h= %v lacks %s", v.HeaderKeys, h)
				}
			}
			if n := countFold(v.HeaderKeys, "from"); n != 2 {
				t.Errorf("From signed %d times, want 2 (oversigned)", n)
			}
			// The envelope sender and the Message-ID are in From's domain,
			// which the signing domain is, or is a parent of.
			if m := msgs[0]; !strings.HasSuffix(m.From, "@mail.herald.test") || !strings.HasSuffix(m.MessageID, "@mail.herald.test") {
				t.Errorf("envelope sender %q, Message-ID %q: want both in mail.herald.test", m.From, m.MessageID)
			}
			if !strings.Contains(msgs[0].Body, "\n.leading dot\r\n") {
				t.Errorf("body changed: %q", msgs[0].Body)
			}

			// A changed subject no longer verifies: the test can fail.
			tampered := bytes.Replace(raw, []byte("Subject: "), []byte("Subject: Re: "), 1)
			if v := verifyDKIM(t, tampered, map[string]string{"s1._domainkey.herald.test": record}); v.Err == nil {
				t.Error("a tampered subject still verifies")
			}
		})
	}
}

func countFold(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			n++
		}
	}
	return n
}

// TestUnsignedWithoutKey: without DKIM the message carries no signature.
func TestUnsignedWithoutKey(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint()})
	if c.Signed() {
		t.Fatal("client without a key says it signs")
	}
	if res := c.Send(ctx(t), mail.Message{To: "a@example.org", Subject: "s", TextBody: "b"}); !res.OK() {
		t.Fatalf("%+v", res)
	}
	msgs, err := sink.WaitFor(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if h := msgs[0].Header.Get("DKIM-Signature"); h != "" {
		t.Fatalf("unsigned client signed: %s", h)
	}
}

func TestDKIMConfigRefused(t *testing.T) {
	t.Parallel()
	ks, _ := testKeys(t)
	ep := mail.Endpoint{Host: "127.0.0.1", Port: 25}
	for _, tc := range []struct {
		name, from string
		d          mail.DKIM
		want       string
	}{
		{"other domain", "news@herald.test", mail.DKIM{Domain: "example.com", Selector: "s1", Key: ks["rsa"]}, "DKIM_DOMAIN"},
		{"child of the sender", "news@herald.test", mail.DKIM{Domain: "mail.herald.test", Selector: "s1", Key: ks["rsa"]}, "DKIM_DOMAIN"},
		{"suffix but not parent", "news@myherald.test", mail.DKIM{Domain: "herald.test", Selector: "s1", Key: ks["rsa"]}, "DKIM_DOMAIN"},
		{"top-level domain", "news@herald.test", mail.DKIM{Domain: "test", Selector: "s1", Key: ks["rsa"]}, "DKIM_DOMAIN"},
		{"bad selector", "news@herald.test", mail.DKIM{Domain: "herald.test", Selector: "s 1", Key: ks["rsa"]}, "DKIM_SELECTOR"},
		{"no key", "news@herald.test", mail.DKIM{Domain: "herald.test", Selector: "s1"}, "DKIM_KEY_FILE"},
	} {
		_, err := mail.NewClient(mail.Config{Endpoint: ep, From: tc.from, DKIM: &tc.d})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one naming %s", tc.name, err, tc.want)
		}
	}
	for _, ok := range []string{"herald.test", "HERALD.test", "herald.test."} {
		if err := mail.CheckDKIMDomain(ok, "news@mail.herald.test"); err != nil {
			t.Errorf("%s for mail.herald.test: %v", ok, err)
		}
	}
}

func TestParseDKIMKey(t *testing.T) {
	t.Parallel()
	ks, pems := testKeys(t)
	for kind, p := range pems {
		k, err := mail.ParseDKIMKey(p)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(ks[kind].Public()) {
			t.Errorf("%s: parsed key differs", kind)
		}
	}
	for _, bad := range []string{"", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := mail.ParseDKIMKey([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := mail.LoadDKIMKey(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestSplitTXT(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 300)
	got := mail.SplitTXT(long)
	want := `"` + strings.Repeat("a", 255) + `" "` + strings.Repeat("a", 45) + `"`
	if got != want {
		t.Fatalf("SplitTXT = %s", got)
	}
	if got := mail.SplitTXT("v=DKIM1"); got != `"v=DKIM1"` {
		t.Fatalf("SplitTXT short = %s", got)
	}
}
