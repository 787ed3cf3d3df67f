package http

import (
	"errors"
	"net"
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
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

// identityMeta is the audit metadata of an identity command made by request
// r: the caller, and the request id as correlation.
func identityMeta(r *http.Request) domain.Metadata {
	corr, err := uuid.Parse(RequestID(r.Context()))
	if err != nil {
		corr = uuid.New()
	}
	return domain.Metadata{ActorID: principal(r).UserID, CorrelationID: corr}
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
