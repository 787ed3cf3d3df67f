package mail

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// CheckHELOName reports whether name may follow EHLO (RFC 5321 4.1.1.1): a
// fully qualified domain name (at least two labels of letters, digits and
// hyphens, the last not all digits) or an address literal ([192.0.2.1],
// [IPv6:2001:db8::1]). A bare host name such as "localhost" or "vm" is
// refused: strict servers and spam filters reject or score it.
func CheckHELOName(name string) error {
	if strings.HasPrefix(name, "[") {
		if checkAddressLiteral(name) {
			return nil
		}
		return fmt.Errorf("%q is not an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]", name)
	}
	if !isFQDN(name) {
		return fmt.Errorf("%q is not a fully qualified domain name such as mail.example.com", name)
	}
	return nil
}

// DefaultHELOName is the EHLO name used when none is configured: the
// domain of from (MAIL_FROM), which must be fully qualified.
func DefaultHELOName(from string) (string, error) {
	domain := domainOf(from)
	if !isFQDN(domain) {
		return "", fmt.Errorf("MAIL_FROM's domain %q is not a fully qualified domain name: set SMTP_HELO_NAME or use a fully qualified MAIL_FROM", domain)
	}
	return domain, nil
}

func isFQDN(name string) bool {
	if len(name) > 253 || !strings.Contains(name, ".") {
		return false
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	// An all-digit last label is an IPv4 address written bare; RFC 5321
	// wants it as an address literal.
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

func checkAddressLiteral(s string) bool {
	inner, ok := strings.CutPrefix(s, "[")
	if !ok {
		return false
	}
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return false
	}
	if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
		a, err := netip.ParseAddr(v6)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	a, err := netip.ParseAddr(inner)
	return err == nil && a.Is4()
}

// domainOf is what follows the last "@" of an address ("" without one).
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}

// messageID completes the caller's Message-ID: a bare local part gets
// "@" + domain, an empty one is generated. The domain is MAIL_FROM's, so the
// id names the sender and not the machine it runs on.
func messageID(id, domain string) string {
	id = strings.Trim(id, "<>")
	switch {
	case id == "":
		return rand.Text() + "@" + domain
	case !strings.Contains(id, "@"):
		return id + "@" + domain
	}
	return id
}

// LoadRootCAs returns the system's trusted roots plus the PEM certificates
// in file (SMTP_TLS_CA_FILE): a relay whose certificate comes from a private
// CA, or is self-signed, is then verified like any other. A file that cannot
// be read or holds no certificate is an error.
func LoadRootCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		// No system roots (a minimal container): the file alone is trusted.
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("CA file " + file + " holds no PEM certificate")
	}
	return pool, nil
}
