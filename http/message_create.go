package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

func (h *Resources) createMessage(w http.ResponseWriter, r *http.Request) {
	var b messageBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.messages.Create(r.Context(), commandMeta(r), commands.CreateMessage{Owner: principal(r).UserID,
		Fields: domain.MessageFields{Subject: deref(b.Subject), Body: deref(b.Body), BodyHTML: deref(b.BodyHTML)}})
	respondChanged(w, r, access.Message, http.StatusCreated, out, err, messageRow)
}
