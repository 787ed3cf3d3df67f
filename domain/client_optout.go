package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Opt-out events of a client. They name the owner and the address, so the
// owner's record of opted-out addresses (which outlives a deleted client,
// see OptOut) is kept from these events alone.
type (
	// ClientUnsubscribed says the client asked for no more mail (the link
	// or the one-click POST of its mail). Only the client's own action lifts
	// it, and none is offered yet: the owner cannot.
	ClientUnsubscribed struct {
		OwnerID uuid.UUID `json:"owner_id"`
		Email   string    `json:"email"`
		At      time.Time `json:"at"`
		// Source is how: "link" (a client's request), or "carried" when a
		// client re-created or changed to an unsubscribed address inherits it.
		Source string `json:"source"`
	}
	// ClientBounced is a permanent failure (a 5xx reply) of a delivery to
	// the client's address.
	ClientBounced struct {
		Email string    `json:"email"`
		Reply string    `json:"reply"`
		At    time.Time `json:"at"`
		// NoMailbox marks a "no such mailbox" reply (5.1.1, 5.1.6, 5.1.10).
		NoMailbox bool `json:"no_mailbox,omitempty"`
	}
	// ClientSuppressed says the address bounced too often: nothing is sent
	// to it until the owner lifts the suppression.
	ClientSuppressed struct {
		OwnerID uuid.UUID `json:"owner_id"`
		Email   string    `json:"email"`
		Reason  string    `json:"reason"`
		Reply   string    `json:"reply"`
		At      time.Time `json:"at"`
	}
	// ClientUnsuppressed says the owner lifted the suppression.
	ClientUnsuppressed struct {
		OwnerID uuid.UUID `json:"owner_id"`
		Email   string    `json:"email"`
		At      time.Time `json:"at"`
	}
)

func (ClientUnsubscribed) EventType() string { return "client.unsubscribed" }
func (ClientBounced) EventType() string      { return "client.bounced" }
func (ClientSuppressed) EventType() string   { return "client.suppressed" }
func (ClientUnsuppressed) EventType() string { return "client.unsuppressed" }

func init() {
	RegisterEvents(ClientUnsubscribed{}, ClientBounced{}, ClientSuppressed{}, ClientUnsuppressed{})
}

// Why a delivery is skipped rather than sent.
const (
	SkipUnsubscribed = "unsubscribed"
	SkipSuppressed   = "suppressed"
)

// BounceLimits is after how many hard bounces an address is suppressed
// (SUPPRESS_AFTER_NO_MAILBOX and SUPPRESS_AFTER_BOUNCES).
type BounceLimits struct {
	NoMailbox int // replies saying the mailbox does not exist; default 1
	Other     int // any other permanent failure; default 3
}

// DefaultBounceLimits are the limits when none are set.
func DefaultBounceLimits() BounceLimits { return BounceLimits{NoMailbox: 1, Other: 3} }

func (l BounceLimits) withDefaults() BounceLimits {
	d := DefaultBounceLimits()
	if l.NoMailbox <= 0 {
		l.NoMailbox = d.NoMailbox
	}
	if l.Other <= 0 {
		l.Other = d.Other
	}
	return l
}

// IsHardBounce reports whether an SMTP reply is a permanent failure (5xx)
// and whether it says the mailbox does not exist (enhanced status 5.1.1 bad
// mailbox, 5.1.6 moved, 5.1.10 null MX).
func IsHardBounce(reply string) (hard, noMailbox bool) {
	reply = strings.TrimSpace(reply)
	if len(reply) < 3 || (len(reply) > 3 && reply[3] != ' ' && reply[3] != '-') {
		return false, false
	}
	if n, err := strconv.Atoi(reply[:3]); err != nil || n < 500 || n > 599 {
		return false, false
	}
	// A server that sets no enhanced status may get a generic one put
	// first ("550 5.0.0 5.1.1 …"), so the first two words are looked at.
	words := strings.Fields(strings.TrimLeft(reply[3:], "- "))
	for i, w := range words {
		if i == 2 {
			break
		}
		switch w {
		case "5.1.1", "5.1.6", "5.1.10":
			return true, true
		}
	}
	return true, false
}

// OptOut is an address's standing with its owner: what a client created
// with it, or changed to it, inherits.
type OptOut struct {
	Unsubscribed bool
	Suppressed   bool
	Reason       string
	Reply        string
}

// ErrNotSuppressed refuses lifting a suppression that is not there.
var ErrNotSuppressed = fmt.Errorf("%w: the client is not suppressed", ErrConflict)

// Unsubscribe decides the client's own request for no more mail. Asking
// again records nothing; a deleted client's link still counts (it is the
// person's wish, and a re-created client with the address inherits it).
func (c *Client) Unsubscribe(now time.Time) error {
	if c.id == uuid.Nil {
		return NotFound("client")
	}
	if !c.unsubscribedAt.IsZero() {
		return nil
	}
	c.record(c.apply, ClientUnsubscribed{OwnerID: c.owner, Email: c.email, At: now.UTC(), Source: "link"})
	return nil
}

// Bounce records a permanent failure of a delivery to the client and
// suppresses the address once it has bounced as often as limits allow
// (counted since the last lift). A suppressed or deleted client records
// nothing more.
func (c *Client) Bounce(reply string, limits BounceLimits, now time.Time) error {
	if err := c.live(); err != nil {
		return err
	}
	hard, noMailbox := IsHardBounce(reply)
	if !hard || c.suppressed {
		return nil
	}
	limits = limits.withDefaults()
	c.record(c.apply, ClientBounced{Email: c.email, Reply: reply, At: now.UTC(), NoMailbox: noMailbox})
	reason := ""
	switch {
	case noMailbox && c.noMailbox >= limits.NoMailbox:
		reason = "no such mailbox"
	case c.bounces >= limits.Other:
		reason = fmt.Sprintf("%d permanent failures", c.bounces)
	}
	if reason != "" {
		c.record(c.apply, ClientSuppressed{OwnerID: c.owner, Email: c.email, Reason: reason, Reply: reply, At: now.UTC()})
	}
	return nil
}

// Unsuppress decides the owner's lifting of a suppression.
func (c *Client) Unsuppress(now time.Time) error {
	if err := c.live(); err != nil {
		return err
	}
	if !c.suppressed {
		return ErrNotSuppressed
	}
	c.record(c.apply, ClientUnsuppressed{OwnerID: c.owner, Email: c.email, At: now.UTC()})
	return nil
}

// Inherit carries an address's standing to this client (created with the
// address, or changed to it), so an owner cannot undo an unsubscription or
// a suppression by re-adding the address.
func (c *Client) Inherit(o OptOut, now time.Time) {
	if c.id == uuid.Nil || c.deleted {
		return
	}
	if o.Unsubscribed && c.unsubscribedAt.IsZero() {
		c.record(c.apply, ClientUnsubscribed{OwnerID: c.owner, Email: c.email, At: now.UTC(), Source: "carried"})
	}
	if o.Suppressed && !c.suppressed {
		c.record(c.apply, ClientSuppressed{OwnerID: c.owner, Email: c.email, Reason: o.Reason, Reply: o.Reply, At: now.UTC()})
	}
}

// SkipReason is why the client is not mailed ("" when it is).
func (c *Client) SkipReason() string {
	switch {
	case !c.unsubscribedAt.IsZero():
		return SkipUnsubscribed
	case c.suppressed:
		return SkipSuppressed
	}
	return ""
}

// Opt-out accessors.
func (c *Client) UnsubscribedAt() time.Time { return c.unsubscribedAt }
func (c *Client) IsSuppressed() bool        { return c.suppressed }
func (c *Client) SuppressedAt() time.Time   { return c.suppressedAt }
func (c *Client) SuppressionReason() string { return c.suppressReason }
