package mail

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
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
	// STARTTLSOff never upgrades (smtp://…?starttls=off).
	STARTTLSOff
	// ImplicitTLS speaks TLS from the first byte (smtps://).
	ImplicitTLS
)

func (m TLSMode) String() string {
	switch m {
	case STARTTLSRequired:
		return "starttls-required"
	case STARTTLSOff:
		return "plain"
	case ImplicitTLS:
		return "implicit-tls"
	default:
		return "starttls-opportunistic"
	}
}

// Endpoint is a parsed SMTP_URL.
type Endpoint struct {
	Host     string
	Port     int
	TLS      TLSMode
	Username string // empty: no authentication
	Password string
	// Auth names the SASL mechanism (?auth=plain|login|cram-md5|…); empty
	// lets the client pick the best one the server offers.
	Auth string
}

// String is the endpoint without its password, safe to log.
func (e Endpoint) String() string {
	scheme := "smtp"
	if e.TLS == ImplicitTLS {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(e.Host, strconv.Itoa(e.Port))}
	if e.Username != "" {
		u.User = url.User(e.Username)
	}
	switch e.TLS {
	case STARTTLSRequired:
		u.RawQuery = "starttls=required"
	case STARTTLSOff:
		u.RawQuery = "starttls=off"
	}
	return u.String()
}

// ParseURL reads SMTP_URL: smtp://[user:pass@]host[:port][?starttls=required|off][&auth=mech]
// (default port 25; STARTTLS used when offered) or smtps://… (implicit TLS,
// default port 465). Without a user no authentication is attempted.
func ParseURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("not a URL: %w", redactURLError(err))
	}
	var e Endpoint
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		e.Port = 25
	case "smtps":
		e.Port, e.TLS = 465, ImplicitTLS
	default:
		return Endpoint{}, fmt.Errorf("scheme must be smtp or smtps, not %q", u.Scheme)
	}
	e.Host = u.Hostname()
	if e.Host == "" {
		return Endpoint{}, fmt.Errorf("no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Endpoint{}, fmt.Errorf("bad port %q", p)
		}
		e.Port = n
	}
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		if k != "starttls" && k != "auth" {
			return Endpoint{}, fmt.Errorf("unknown parameter %q (known: starttls, auth)", k)
		}
	}
	switch st := strings.ToLower(q.Get("starttls")); st {
	case "", "opportunistic":
	case "required", "true", "1":
		if e.TLS == ImplicitTLS {
			return Endpoint{}, fmt.Errorf("starttls=%s makes no sense with smtps (already TLS)", st)
		}
		e.TLS = STARTTLSRequired
	case "off", "false", "0", "none":
		if e.TLS == ImplicitTLS {
			return Endpoint{}, fmt.Errorf("starttls=%s makes no sense with smtps (already TLS)", st)
		}
		e.TLS = STARTTLSOff
	default:
		return Endpoint{}, fmt.Errorf("starttls must be required, opportunistic or off, not %q", st)
	}
	e.Auth = strings.ToUpper(q.Get("auth"))
	return e, nil
}

// redactURLError keeps a password out of url.Parse's error text.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
