package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/heraldmail/herald/mail"
)

var dkimKeygenCommand = command{
	name:    "dkim-keygen",
	summary: "make a DKIM signing key and print the DNS record and settings that go with it",
	about: "Writes a new private key (PKCS#8 PEM, mode 0600) to --out, never over an existing file\n" +
		"(exit status 4), then prints the TXT record to publish at SELECTOR._domainkey.DOMAIN and the\n" +
		"DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE lines for .env. --domain is MAIL_FROM's domain or\n" +
		"a parent of it. Publish the record and wait for it to resolve before setting the three\n" +
		"variables: until then receivers cannot check the signatures. Reads no configuration.",
	define: func(fs *flag.FlagSet) action {
		domain := fs.String("domain", "", "the signing `DOMAIN` (d=), MAIL_FROM's domain or a parent of it (required)")
		selector := fs.String("selector", "", "the `SELECTOR` (s=) naming the key's DNS record, such as herald or mail2026 (required)")
		kind := fs.String("type", "rsa", "the key's `TYPE`: rsa (2048 bits, which every receiver checks) or ed25519 (short, not yet checked by all)")
		out := fs.String("out", "", "the `FILE` to write the private key to (default dkim-SELECTOR.pem)")
		asJSON := fs.Bool("json", false, "print one JSON document: key file, DNS record and settings")
		return func(_ context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments %q", args)
			}
			d := strings.ToLower(strings.TrimSuffix(*domain, "."))
			switch {
			case d == "" || *selector == "":
				return usageErrorf("--domain and --selector are required")
			case mail.CheckHELOName(d) != nil || strings.HasPrefix(d, "["):
				return usageErrorf("--domain: %q is not a domain name such as example.com", *domain)
			case *kind != "rsa" && *kind != "ed25519":
				return usageErrorf("--type: %q is not rsa or ed25519", *kind)
			}
			if err := mail.CheckDKIMSelector(*selector); err != nil {
				return usageErrorf("--selector: %v", err)
			}
			file := *out
			if file == "" {
				file = "dkim-" + *selector + ".pem"
			}
			k, err := dkimKeygen(d, *selector, *kind, file)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(c.out, k)
			}
			fmt.Fprintf(c.out, "Wrote the %s private key to %s (mode 0600): keep it secret, and back it up.\n\n", k.Type, k.KeyFile)
			fmt.Fprintf(c.out, "Publish this DNS record:\n\n%s\n\n", k.ZoneLine)
			fmt.Fprintf(c.out, "Once it resolves (dig +short TXT %s), put these in .env:\n\n", k.RecordName)
			for _, name := range []string{"DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_KEY_FILE"} {
				fmt.Fprintf(c.out, "%s=%s\n", name, k.Settings[name])
			}
			return nil
		}
	},
}

// errKeyFileExists refuses to replace a key: the old one may be the one
// the published record names.
var errKeyFileExists = errors.New("the key file already exists; choose another --out, or remove it if it is no longer published")

// dkimKey is what `herald dkim-keygen` reports.
type dkimKey struct {
	KeyFile    string            `json:"key_file"` // absolute path
	Type       string            `json:"type"`     // rsa or ed25519
	Domain     string            `json:"domain"`
	Selector   string            `json:"selector"`
	RecordName string            `json:"record_name"` // SELECTOR._domainkey.DOMAIN.
	Record     string            `json:"record"`      // the TXT text, whole
	ZoneLine   string            `json:"zone_line"`   // the record as a zone file line, in strings of 255
	Settings   map[string]string `json:"settings"`    // DKIM_DOMAIN, DKIM_SELECTOR, DKIM_KEY_FILE
}

// dkimKeygen makes the key, writes it to file (created, never replaced,
// readable by its owner alone) and describes its record.
func dkimKeygen(domain, selector, kind, file string) (dkimKey, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return dkimKey{}, err
	}
	key, pemBytes, err := mail.GenerateDKIMKey(kind)
	if err != nil {
		return dkimKey{}, err
	}
	record, err := mail.DKIMRecord(key)
	if err != nil {
		return dkimKey{}, err
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return dkimKey{}, fmt.Errorf("%s: %w", abs, errKeyFileExists)
	}
	if err != nil {
		return dkimKey{}, err
	}
	if _, err := f.Write(pemBytes); err != nil {
		_ = f.Close()
		_ = os.Remove(abs)
		return dkimKey{}, fmt.Errorf("write %s: %w", abs, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(abs)
		return dkimKey{}, fmt.Errorf("write %s: %w", abs, err)
	}
	name := selector + "._domainkey." + domain + "."
	return dkimKey{
		KeyFile: abs, Type: kind, Domain: domain, Selector: selector,
		RecordName: name, Record: record,
		ZoneLine: name + " IN TXT " + mail.SplitTXT(record),
		Settings: map[string]string{"DKIM_DOMAIN": domain, "DKIM_SELECTOR": selector, "DKIM_KEY_FILE": abs},
	}, nil
}
