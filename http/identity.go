package http

import (
	"errors"
	"net"
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/identity"
)

// Identity is the door of the identity area: the auth, /me and users
// endpoints, each turned into a call of the identity service. The service
// is also the API's Authenticator.
type Identity struct {
	svc *identity.Service
}

// NewIdentity returns the door of svc.
func NewIdentity(svc *identity.Service) (*Identity, error) {
	if svc == nil {
		return nil, errors.New("http: identity needs the identity service")
	}
	return &Identity{svc: svc}, nil
}

// clientAddr is the caller's IP address (RemoteAddr, which a trusted proxy
// middleware may have rewritten), the key of the per-address throttle.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// readUser reads the account a request names and answers 404 unless the
// caller may see it (their own; staff see all).
func readUser(r *http.Request) (uuid.UUID, error) {
	uid, err := pathID(r, access.User)
	if err == nil && !access.CanRead(principal(r), access.User, uid) {
		err = access.Hidden(access.User)
	}
	return uid, err
}

// readUserTarget is readUser for a command: the account and the version
// its change is based on (commands.NoIfMatch for none).
func readUserTarget(r *http.Request) (uuid.UUID, int64, error) {
	t, err := readTarget(r, access.User)
	if err != nil {
		return uuid.Nil, 0, err
	}
	if !access.CanRead(principal(r), access.User, t.id) {
		return uuid.Nil, 0, access.Hidden(access.User)
	}
	if t.ifMatch == nil {
		return t.id, commands.NoIfMatch, nil
	}
	return t.id, *t.ifMatch, nil
}
