package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// Unsubscribe tokens stand in a mail's unsubscribe link: the client's id
// and a MAC, keyed by the server's UNSUBSCRIBE_SECRET, over a version byte,
// the client's owner and the client. The owner is not in the token: the
// verifier takes it from the client's own history, so a token minted for
// another owner's client, an altered id or a forged MAC all fail the same
// check, and no id can be enumerated without the secret.
const (
	unsubscribeTokenVersion = 1
	unsubscribeMACLength    = 16 // bytes of HMAC-SHA256 kept: 128 bits
	unsubscribeTokenLength  = 1 + 16 + unsubscribeMACLength
)

// ErrBadUnsubscribeToken refuses a token that is malformed or not ours.
var ErrBadUnsubscribeToken = errors.New("unsubscribe token is not valid")

// UnsubscribeSigner mints and checks unsubscribe tokens with one secret.
type UnsubscribeSigner struct {
	secret []byte
}

// NewUnsubscribeSigner returns a signer; the secret must be at least 32 bytes.
func NewUnsubscribeSigner(secret string) (*UnsubscribeSigner, error) {
	if len(secret) < 32 {
		return nil, errors.New("domain: the unsubscribe secret must be at least 32 characters")
	}
	return &UnsubscribeSigner{secret: []byte(secret)}, nil
}

func (s *UnsubscribeSigner) mac(version byte, owner, client uuid.UUID) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte{version})
	m.Write(owner[:])
	m.Write(client[:])
	return m.Sum(nil)[:unsubscribeMACLength]
}

// Token returns the unsubscribe token of owner's client: 44 URL-safe
// characters.
func (s *UnsubscribeSigner) Token(owner, client uuid.UUID) string {
	b := make([]byte, 0, unsubscribeTokenLength)
	b = append(b, unsubscribeTokenVersion)
	b = append(b, client[:]...)
	b = append(b, s.mac(unsubscribeTokenVersion, owner, client)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ClientOf returns the client a token names, before its MAC is checked
// (Verify does that once the client's owner is known).
func (s *UnsubscribeSigner) ClientOf(token string) (uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != unsubscribeTokenLength || b[0] != unsubscribeTokenVersion {
		return uuid.Nil, ErrBadUnsubscribeToken
	}
	return uuid.UUID(b[1:17]), nil
}

// Verify reports whether token is the one minted for owner's client, in
// constant time.
func (s *UnsubscribeSigner) Verify(token string, owner uuid.UUID) (uuid.UUID, error) {
	client, err := s.ClientOf(token)
	if err != nil {
		return uuid.Nil, err
	}
	b, _ := base64.RawURLEncoding.DecodeString(token)
	if !hmac.Equal(b[17:], s.mac(b[0], owner, client)) {
		return uuid.Nil, ErrBadUnsubscribeToken
	}
	return client, nil
}

// UnsubscribeLinks are what a mail to a client carries to let it leave.
type UnsubscribeLinks struct {
	URL    string // https://…/unsubscribe/TOKEN: the page, and the one-click POST target
	Mailto string // unsubscribe+TOKEN@domain of MAIL_FROM (inbound mail is not processed)
}

// Links builds owner's client's unsubscribe URL under baseURL (the public
// base URL, no trailing slash) and mailto address in mailDomain.
func (s *UnsubscribeSigner) Links(baseURL, mailDomain string, owner, client uuid.UUID) UnsubscribeLinks {
	t := s.Token(owner, client)
	l := UnsubscribeLinks{URL: strings.TrimRight(baseURL, "/") + "/unsubscribe/" + url.PathEscape(t)}
	if mailDomain != "" {
		l.Mailto = "unsubscribe+" + t + "@" + mailDomain
	}
	return l
}
