package mail

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIM is what the Client signs every message with (RFC 6376): the signing
// domain (d=), the selector (s=) naming the DNS record that publishes the
// public key, and the private key, RSA or Ed25519.
type DKIM struct {
	Domain   string
	Selector string
	Key      crypto.Signer
}

// KeyType names the key's algorithm as the DNS record's k= tag does:
// "rsa" or "ed25519".
func (d DKIM) KeyType() string { return keyType(d.Key) }

// signedHeaders are the fields a signature covers when the message has
// them. From is listed twice: a second From added on the way, which some
// clients would show instead of the first, then breaks the signature.
var signedHeaders = []string{
	"From", "From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Reply-To",
	"List-Unsubscribe", "List-Unsubscribe-Post",
}

// sign returns the DKIM-Signature field (name to final CRLF) for msg, the
// message as it will be sent before dot-stuffing. The relaxed
// canonicalizations survive relays that rewrap header lines or trailing
// blanks.
func (d *DKIM) sign(msg []byte) (string, error) {
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 d.Domain,
		Selector:               d.Selector,
		Signer:                 d.Key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             presentHeaders(msg),
	})
	if err != nil {
		return "", err
	}
	if _, err := s.Write(msg); err != nil {
		_ = s.Close()
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	return s.Signature(), nil
}

// presentHeaders is signedHeaders less the fields msg's header lacks (From
// stays, twice): a field the signature names but the message lacks would
// make a relay that adds it, a mailing list's List-Unsubscribe for one,
// break the signature for no gain.
func presentHeaders(msg []byte) []string {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	have := map[string]bool{}
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if name, _, ok := bytes.Cut(line, []byte(":")); ok {
			have[strings.ToLower(string(bytes.TrimSpace(name)))] = true
		}
	}
	out := make([]string, 0, len(signedHeaders))
	for _, k := range signedHeaders {
		if k == "From" || have[strings.ToLower(k)] {
			out = append(out, k)
		}
	}
	return out
}

// CheckDKIMDomain reports whether a signature by dkimDomain aligns with the
// From address from (DMARC's relaxed alignment, RFC 7489 3.1.1): the
// domains must be the same or dkimDomain a parent of from's. Otherwise a
// receiver that applies DMARC treats the signed mail as unsigned.
func CheckDKIMDomain(dkimDomain, from string) error {
	fromDomain := strings.ToLower(domainOf(from))
	d := strings.ToLower(strings.TrimSuffix(dkimDomain, "."))
	if d == fromDomain || strings.HasSuffix(fromDomain, "."+d) {
		if !strings.Contains(d, ".") {
			return fmt.Errorf("%q is a top-level domain, not the sender's", dkimDomain)
		}
		return nil
	}
	return fmt.Errorf("%q is neither MAIL_FROM's domain %q nor a parent of it: receivers applying DMARC would not count the signature", dkimDomain, fromDomain)
}

// CheckDKIMSelector reports whether s can be a selector: one or more DNS
// labels (letters, digits, hyphens) separated by dots.
func CheckDKIMSelector(s string) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("%q is not a selector such as herald or mail2026", s)
	}
	for l := range strings.SplitSeq(s, ".") {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(strings.ToLower(l), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return fmt.Errorf("%q is not a selector such as herald or mail2026 (letters, digits and hyphens)", s)
		}
	}
	return nil
}

// LoadDKIMKey reads a private key for signing from a PEM file: PKCS#8 (RSA
// or Ed25519, what `herald dkim-keygen` writes) or PKCS#1 (RSA).
func LoadDKIMKey(file string) (crypto.Signer, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := ParseDKIMKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return k, nil
}

// ParseDKIMKey parses a PEM private key as LoadDKIMKey does. An RSA key
// under 1024 bits is refused (receivers ignore such signatures, RFC 8301).
func ParseDKIMKey(raw []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("no PEM block: want a PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("a %q PEM block: want a PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, fmt.Errorf("an RSA key of %d bits: receivers ignore DKIM keys under 1024 bits, use 2048", k.N.BitLen())
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("a %T key: DKIM signs with RSA or Ed25519", key)
}

// GenerateDKIMKey makes a new key, "rsa" (2048 bits) or "ed25519", and
// returns it with its PKCS#8 PEM encoding.
func GenerateDKIMKey(kind string) (crypto.Signer, []byte, error) {
	var key crypto.Signer
	switch kind {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		key = k
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		key = k
	default:
		return nil, nil, fmt.Errorf("key type %q: want rsa or ed25519", kind)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// DKIMRecord is the TXT record's text that publishes key's public half at
// SELECTOR._domainkey.DOMAIN: "v=DKIM1; k=rsa; p=…". An RSA key's p= is the
// DER SubjectPublicKeyInfo, an Ed25519 key's the raw 32 bytes (RFC 8463).
func DKIMRecord(key crypto.Signer) (string, error) {
	var der []byte
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		b, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		der = b
	case ed25519.PublicKey:
		der = pub
	default:
		return "", fmt.Errorf("a %T key: DKIM signs with RSA or Ed25519", pub)
	}
	return "v=DKIM1; k=" + keyType(key) + "; p=" + base64.StdEncoding.EncodeToString(der), nil
}

// SplitTXT cuts a TXT record's text into the quoted strings of at most 255
// characters a zone file needs ("v=DKIM1; …" "…"); resolvers join them.
func SplitTXT(text string) string {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, `"`+text[:255]+`"`)
		text = text[255:]
	}
	parts = append(parts, `"`+text+`"`)
	return strings.Join(parts, " ")
}

func keyType(key crypto.Signer) string {
	if key == nil {
		return ""
	}
	switch key.Public().(type) {
	case *rsa.PublicKey:
		return "rsa"
	case ed25519.PublicKey:
		return "ed25519"
	}
	return ""
}
