package mail

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// TLSMode is how the Client secures its connections.
type TLSMode int

const (
	// STARTTLSOpportunistic upgrades with STARTTLS when the server offers it
	// (smtp://, the default).
	STARTTLSOpportunistic TLSMode = iota
	// STARTTLSRequired refuses a server that does not offer STARTTLS
	// (smtp://…?starttls=required).
	STARTTLSRequired
	// STARTTLSNone never upgrades (smtp://…?starttls=none).
	STARTTLSNone
	// ImplicitTLS speaks TLS from the first byte (smtps://).
	ImplicitTLS
)

func (m TLSMode) String() string {
	switch m {
	case STARTTLSRequired:
		return "starttls-required"
	case STARTTLSNone:
		return "plain"
	case ImplicitTLS:
		return "implicit-tls"
	default:
		return "starttls-opportunistic"
	}
}

// Endpoint is a parsed SMTP_URL. The zero Endpoint means "not configured".
type Endpoint struct {
	Host     string
	Port     int
	TLS      TLSMode
	Username string // empty: no authentication
	Password string
	// Auth is the SASL mechanism, upper case as go-mail names it (PLAIN,
	// LOGIN, CRAM-MD5, SCRAM-SHA-256…); empty lets the client pick the best
	// one the server offers.
	Auth string
}

// String is the endpoint as a URL without its password, safe to log.
func (e Endpoint) String() string {
	if e.Host == "" {
		return ""
	}
	scheme := "smtp"
	if e.TLS == ImplicitTLS {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(e.Host, strconv.Itoa(e.Port))}
	if e.Username != "" {
		u.User = url.User(e.Username)
	}
	var q []string
	switch e.TLS {
	case STARTTLSRequired:
		q = append(q, "starttls=required")
	case STARTTLSNone:
		q = append(q, "starttls=none")
	}
	if e.Auth != "" {
		q = append(q, "auth="+url.QueryEscape(e.Auth))
	}
	u.RawQuery = strings.Join(q, "&")
	return u.String()
}

// authMechanisms are the values of ?auth= that go-mail implements. The
// -NOENC variants send PLAIN or LOGIN credentials even without TLS, which
// go-mail otherwise refuses to do.
var authMechanisms = []gomail.SMTPAuthType{
	gomail.SMTPAuthPlain, gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLogin, gomail.SMTPAuthLoginNoEnc,
	gomail.SMTPAuthCramMD5, gomail.SMTPAuthXOAUTH2, gomail.SMTPAuthNTLM,
	gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthSCRAMSHA1PLUS, gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA256PLUS,
}

// ParseURL reads SMTP_URL, the one place its syntax is defined:
//
//	smtp://[user[:pass]@]host[:port][?starttls=none|opportunistic|required][&auth=mechanism]
//	smtps://[user[:pass]@]host[:port][?auth=mechanism]
//
// smtp:// defaults to port 587 and STARTTLS when the server offers it
// (starttls=off is accepted for none); smtps:// speaks TLS from the first
// byte and defaults to port 465. Without a user no authentication is
// attempted. Error texts never contain the password.
func ParseURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the input, password included.
		return Endpoint{}, errors.New("must be a URL such as smtp://user:pass@host:587 or smtps://host:465")
	}
	var e Endpoint
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		e.Port, e.TLS = 587, STARTTLSOpportunistic
	case "smtps":
		e.Port, e.TLS = 465, ImplicitTLS
	default:
		return Endpoint{}, fmt.Errorf("scheme must be smtp or smtps, got %q", u.Scheme)
	}
	e.Host = u.Hostname()
	if e.Host == "" {
		return Endpoint{}, errors.New("must name a host, such as smtp://host:587")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Endpoint{}, fmt.Errorf("port must be a number from 1 to 65535, got %q", p)
		}
		e.Port = n
	}
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k, vs := range q {
		if k != "starttls" && k != "auth" {
			return Endpoint{}, fmt.Errorf("unknown parameter %q (known: starttls, auth)", k)
		}
		if len(vs) > 1 {
			return Endpoint{}, fmt.Errorf("parameter %q given %d times", k, len(vs))
		}
	}
	if q.Has("starttls") {
		st := strings.ToLower(q.Get("starttls"))
		if e.TLS == ImplicitTLS {
			return Endpoint{}, errors.New("starttls does not apply to smtps:// (TLS from the first byte)")
		}
		switch st {
		case "opportunistic":
			e.TLS = STARTTLSOpportunistic
		case "required":
			e.TLS = STARTTLSRequired
		case "none", "off":
			e.TLS = STARTTLSNone
		default:
			return Endpoint{}, fmt.Errorf("starttls must be none, opportunistic or required, got %q", st)
		}
	}
	if q.Has("auth") {
		mech := strings.ToUpper(q.Get("auth"))
		if !slices.Contains(authMechanisms, gomail.SMTPAuthType(mech)) {
			names := make([]string, len(authMechanisms))
			for i, m := range authMechanisms {
				names[i] = strings.ToLower(string(m))
			}
			return Endpoint{}, fmt.Errorf("auth must be one of %s, got %q", strings.Join(names, "|"), q.Get("auth"))
		}
		if e.Username == "" {
			return Endpoint{}, fmt.Errorf("auth=%s needs a user in the URL (smtp://user:pass@host)", q.Get("auth"))
		}
		e.Auth = mech
	}
	return e, nil
}

// MustParseURL is ParseURL for URLs known to be valid (tests, constants);
// it panics on an invalid one.
func MustParseURL(raw string) Endpoint {
	e, err := ParseURL(raw)
	if err != nil {
		panic("mail: SMTP_URL: " + err.Error())
	}
	return e
}
