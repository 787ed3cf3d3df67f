package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/mail"
)

// `herald dkim-keygen` writes a key only its owner reads, and the record
// it prints, read back as a zone file line, verifies what the key signs.
func TestDKIMKeygen(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			file := filepath.Join(dir, kind+".pem")
			code, out, errOut := herald(t, "dkim-keygen", "--domain", "Example.com.", "--selector", "h1", "--type", kind, "--out", file)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			st, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
			}
			for _, want := range []string{"DKIM_DOMAIN=example.com\n", "DKIM_SELECTOR=h1\n", "DKIM_KEY_FILE=" + file + "\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			m := regexp.MustCompile(`(?m)^h1\._domainkey\.example\.com\. IN TXT ((?:"[^"]*" ?)+)$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no zone line for h1._domainkey.example.com. in:\n%s", out)
			}
			var record strings.Builder
			for _, s := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
				if len(s[1]) > 255 {
					t.Errorf("a TXT string of %d characters, more than 255", len(s[1]))
				}
				record.WriteString(s[1])
			}
			if !strings.HasPrefix(record.String(), "v=DKIM1; k="+kind+"; p=") {
				t.Errorf("record %q", record.String())
			}

			key, err := mail.LoadDKIMKey(file)
			if err != nil {
				t.Fatal(err)
			}
			msg := "From: Herald <news@example.com>\r\nTo: a@example.org\r\nSubject: hi\r\n\r\nHello.\r\n"
			var signed bytes.Buffer
			if err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.com", Selector: "h1", Signer: key}); err != nil {
				t.Fatal(err)
			}
			vs, err := dkim.VerifyWithOptions(&signed, &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
				if name != "h1._domainkey.example.com" {
					return nil, errors.New("no record " + name)
				}
				return []string{record.String()}, nil
			}})
			if err != nil || len(vs) != 1 || vs[0].Err != nil {
				t.Fatalf("verify with the printed record: %v %+v", err, vs)
			}
		})
	}

	// An existing file is never replaced: exit 4, the file as it was.
	file := filepath.Join(dir, "rsa.pem")
	before, _ := os.ReadFile(file)
	code, out, errOut := herald(t, "dkim-keygen", "--domain", "example.com", "--selector", "h2", "--type", "ed25519", "--out", file)
	after, _ := os.ReadFile(file)
	if code != exitRefused || out != "" || !strings.Contains(errOut, "already exists") || !bytes.Equal(before, after) {
		t.Fatalf("over an existing key: exit %d, stdout %q, stderr %q, file changed %v", code, out, errOut, !bytes.Equal(before, after))
	}

	// --json reports the same for a script.
	jsonFile := filepath.Join(dir, "j.pem")
	code, out, _ = herald(t, "dkim-keygen", "--domain", "example.com", "--selector", "h3", "--type", "ed25519", "--out", jsonFile, "--json")
	var k dkimKey
	if err := json.Unmarshal([]byte(out), &k); code != exitOK || err != nil || k.KeyFile != jsonFile ||
		k.RecordName != "h3._domainkey.example.com." || k.Settings["DKIM_SELECTOR"] != "h3" || !strings.HasPrefix(k.Record, "v=DKIM1; k=ed25519; p=") {
		t.Fatalf("--json: exit %d, %v, %s", code, err, out)
	}

	for _, args := range [][]string{
		{"dkim-keygen", "--selector", "s"},
		{"dkim-keygen", "--domain", "localhost", "--selector", "s"},
		{"dkim-keygen", "--domain", "example.com", "--selector", "s_1"},
		{"dkim-keygen", "--domain", "example.com", "--selector", "s", "--type", "dsa"},
	} {
		if code, out, _ := herald(t, append(args, "--out", filepath.Join(dir, "never.pem"))...); code != exitUsage || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want a usage error", args, code, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "never.pem")); err == nil {
		t.Error("a refused command wrote a key")
	}
}

// serve says once whether mail is signed, as one JSON line a log search
// finds by its "dkim" field; without a mail server it says nothing.
func TestLogSigning(t *testing.T) {
	key, _, err := mail.GenerateDKIMKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	smtp := mail.Endpoint{Host: "127.0.0.1", Port: 2525}
	for _, tc := range []struct {
		name string
		cfg  config.Config
		want string // a fragment of the one line; "" for none
	}{
		{"unsigned", config.Config{SMTP: smtp}, `"level":"warn","dkim":false,`},
		{"signed", config.Config{SMTP: smtp, DKIM: &mail.DKIM{Domain: "example.com", Selector: "h1", Key: key}},
			`"level":"info","dkim":true,"dkim_domain":"example.com","dkim_selector":"h1","dkim_key_type":"ed25519",`},
		{"no mail server", config.Config{}, ""},
	} {
		var buf bytes.Buffer
		logSigning(zerolog.New(&buf), tc.cfg)
		lines := strings.Count(buf.String(), "\n")
		if tc.want == "" && lines != 0 || tc.want != "" && (lines != 1 || !strings.Contains(buf.String(), tc.want)) {
			t.Errorf("%s: logged %q, want one line with %q", tc.name, buf.String(), tc.want)
		}
	}
}
