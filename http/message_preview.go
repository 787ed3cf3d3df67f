package http

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/compose"
	"github.com/heraldmail/herald/domain"
)

// previewBody is the JSON of POST /api/v1/messages/{id}/preview.
type previewBody struct {
	ClientID *uuid.UUID `json:"client_id" validate:"required"`
}

// MessagePreview is a message rendered for one client, as it is sent;
// HTML is empty when the message has no HTML body.
type MessagePreview struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// previewMessage renders a message for one of its owner's clients through
// compose, as the sender does. Whoever may read the message may preview
// it; a client of someone else is a 422 on client_id.
func (h *Resources) previewMessage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, access.Message)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var b previewBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	p := principal(r)
	m, err := h.queries.GetMessage(r.Context(), access.ReadScope(p, access.Message), id)
	if err == nil && !access.CanRead(p, access.Message, m.OwnerID) {
		err = access.Hidden(access.Message)
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	// The client is one of the message owner's that the caller may read.
	scope := access.ReadScope(p, access.Client)
	scope.Owner = m.OwnerID
	c, err := h.queries.GetClient(r.Context(), scope, *b.ClientID)
	if errors.Is(err, domain.ErrNotFound) {
		err = domain.Invalid("client_id", "is not a client of the message's owner")
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	mail, err := compose.Render(domain.MessageFields{Subject: m.Subject, Body: m.Body, BodyHTML: m.BodyHTML},
		compose.Fields{FullName: c.FullName, Email: c.Email, Comment: c.Comment})
	if err != nil {
		// What Prepare accepted renders; what remains is a mail too large.
		err = domain.Invalid("client_id", err.Error())
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, MessagePreview{Subject: mail.Subject, Text: mail.Text, HTML: mail.HTML})
}
