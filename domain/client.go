package domain

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Client events. A client is a recipient kept by one owner; the owner never
// changes, so only the creation carries it.
type (
	ClientCreated struct {
		ClientID uuid.UUID `json:"client_id"`
		OwnerID  uuid.UUID `json:"owner_id"`
		Email    string    `json:"email"`
		FullName string    `json:"full_name"`
		Comment  string    `json:"comment"`
	}
	ClientUpdated struct {
		Email    string `json:"email"`
		FullName string `json:"full_name"`
		Comment  string `json:"comment"`
	}
	ClientDeleted struct{}
)

func (ClientCreated) EventType() string { return "client.created" }
func (ClientUpdated) EventType() string { return "client.updated" }
func (ClientDeleted) EventType() string { return "client.deleted" }

func init() { RegisterEvents(ClientCreated{}, ClientUpdated{}, ClientDeleted{}) }

// ClientStreamType names client streams.
const ClientStreamType = "client"

// Limits of client fields.
const (
	MaxEmailLength   = 254
	MaxNameLength    = 255
	MaxCommentLength = 10000
	clientEmailScope = "client_email:"
)

// ErrClientDeleted is returned by commands on a deleted client.
var ErrClientDeleted = fmt.Errorf("%w: client was deleted", ErrNotFound)

// ClientFields are what a user sets on a client.
type ClientFields struct {
	Email    string
	FullName string
	Comment  string
}

// normalize trims the fields and checks them, naming each bad field.
func (f ClientFields) normalize() (ClientFields, error) {
	f.Email = strings.TrimSpace(f.Email)
	f.FullName = strings.TrimSpace(f.FullName)
	var v ValidationError
	if msg := CheckEmail(f.Email); msg != "" {
		v.Fields = append(v.Fields, FieldError{Field: "email", Message: msg})
	}
	switch {
	case f.FullName == "":
		v.Fields = append(v.Fields, FieldError{Field: "full_name", Message: "is required"})
	case utf8.RuneCountInString(f.FullName) > MaxNameLength:
		v.Fields = append(v.Fields, FieldError{Field: "full_name", Message: fmt.Sprintf("must be at most %d characters", MaxNameLength)})
	case !utf8.ValidString(f.FullName):
		v.Fields = append(v.Fields, FieldError{Field: "full_name", Message: "must be valid UTF-8"})
	}
	if utf8.RuneCountInString(f.Comment) > MaxCommentLength {
		v.Fields = append(v.Fields, FieldError{Field: "comment", Message: fmt.Sprintf("must be at most %d characters", MaxCommentLength)})
	}
	for _, fv := range [][2]string{{"full_name", f.FullName}, {"comment", f.Comment}} {
		if msg := CheckText(fv[1]); msg != "" {
			v.Fields = append(v.Fields, FieldError{Field: fv[0], Message: msg})
		}
	}
	if len(v.Fields) > 0 {
		return f, &v
	}
	return f, nil
}

// CheckEmail returns why email is not a plain valid address, or "".
func CheckEmail(email string) string {
	if email == "" {
		return "is required"
	}
	if CheckText(email) != "" {
		return "must be a valid email"
	}
	if len(email) > MaxEmailLength {
		return fmt.Sprintf("must be at most %d characters", MaxEmailLength)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "must be a valid email"
	}
	return checkMailDomain(email[strings.LastIndexByte(email, '@')+1:])
}

// checkMailDomain returns why host cannot be the domain of a recipient, or
// "". Mail goes to a host name of at least two DNS labels: no address
// literal ([127.0.0.1]), no bare IP, no label that DNS refuses. A domain
// outside ASCII is refused rather than sent as is: the SMTP envelope needs
// its ASCII form, which the caller can give (xn--…).
func checkMailDomain(host string) string {
	switch {
	case strings.HasPrefix(host, "["):
		return "must be an address at a domain name, not an address literal"
	case !isASCII(host):
		return "must have its domain in ASCII: write an internationalized domain in its xn-- form"
	case len(host) > 253:
		return "must be a valid email"
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(labels) < 2 {
		return "must be a valid email"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Sprintf("must be a valid email: %q is not a valid domain label", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Sprintf("must be a valid email: %q is not a valid domain label", l)
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "must be an address at a domain name, not an IP address"
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// CheckText returns why s cannot be stored as text, or "": PostgreSQL text
// and jsonb refuse the NUL character, and invalid UTF-8 would be mangled.
func CheckText(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain the NUL character"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	}
	return ""
}

// EmailKey is the case-insensitive form under which an email is unique.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ClientEmailScope is the uniqueness scope of client emails of one owner.
func ClientEmailScope(owner uuid.UUID) string { return clientEmailScope + owner.String() }

// Client is a recipient of one owner's mailings.
type Client struct {
	Root
	id       uuid.UUID
	owner    uuid.UUID
	email    string
	fullName string
	comment  string
	deleted  bool

	unsubscribedAt time.Time
	suppressed     bool
	suppressedAt   time.Time
	suppressReason string
	// bounces and noMailbox count hard bounces since the last lift.
	bounces, noMailbox int
}

// NewClient decides the creation of a client.
func NewClient(id, owner uuid.UUID, f ClientFields) (*Client, error) {
	if id == uuid.Nil || owner == uuid.Nil {
		return nil, errors.New("domain: client needs an id and an owner")
	}
	f, err := f.normalize()
	if err != nil {
		return nil, err
	}
	c := &Client{}
	c.record(c.apply, ClientCreated{ClientID: id, OwnerID: owner, Email: f.Email, FullName: f.FullName, Comment: f.Comment})
	return c, nil
}

// LoadClient rebuilds a client from its history; an empty history gives a
// client that does not exist (Exists is false).
func LoadClient(history []Event) *Client {
	c := &Client{}
	c.replay(c.apply, history)
	return c
}

// Update decides a change of the client's fields. Nothing is recorded when
// nothing changes.
func (c *Client) Update(f ClientFields) error {
	if err := c.live(); err != nil {
		return err
	}
	f, err := f.normalize()
	if err != nil {
		return err
	}
	if f.Email == c.email && f.FullName == c.fullName && f.Comment == c.comment {
		return nil
	}
	c.record(c.apply, ClientUpdated(f))
	return nil
}

// Delete decides the deletion of the client.
func (c *Client) Delete() error {
	if err := c.live(); err != nil {
		return err
	}
	c.record(c.apply, ClientDeleted{})
	return nil
}

func (c *Client) live() error {
	if c.id == uuid.Nil {
		return NotFound("client")
	}
	if c.deleted {
		return ErrClientDeleted
	}
	return nil
}

func (c *Client) apply(e Event) {
	switch e := e.(type) {
	case ClientCreated:
		c.id, c.owner = e.ClientID, e.OwnerID
		c.email, c.fullName, c.comment = e.Email, e.FullName, e.Comment
	case ClientUpdated:
		c.email, c.fullName, c.comment = e.Email, e.FullName, e.Comment
	case ClientDeleted:
		c.deleted = true
	case ClientUnsubscribed:
		c.unsubscribedAt = e.At
	case ClientBounced:
		c.bounces++
		if e.NoMailbox {
			c.noMailbox++
		}
	case ClientSuppressed:
		c.suppressed, c.suppressReason, c.suppressedAt = true, e.Reason, e.At
	case ClientUnsuppressed:
		c.suppressed, c.suppressReason, c.suppressedAt, c.bounces, c.noMailbox = false, "", time.Time{}, 0, 0
	}
}

// Read accessors.
func (c *Client) ID() uuid.UUID    { return c.id }
func (c *Client) Owner() uuid.UUID { return c.owner }
func (c *Client) Email() string    { return c.email }
func (c *Client) FullName() string { return c.fullName }
func (c *Client) Comment() string  { return c.comment }
func (c *Client) Exists() bool     { return c.id != uuid.Nil }
func (c *Client) IsDeleted() bool  { return c.deleted }
func (c *Client) Fields() ClientFields {
	return ClientFields{Email: c.email, FullName: c.fullName, Comment: c.comment}
}
