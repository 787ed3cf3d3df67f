package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
)

// putMessage sets every field (those not sent become empty); patchMessage
// changes only the fields sent.
func (h *Resources) putMessage(w http.ResponseWriter, r *http.Request)   { h.updateMessage(w, r, false) }
func (h *Resources) patchMessage(w http.ResponseWriter, r *http.Request) { h.updateMessage(w, r, true) }

func (h *Resources) updateMessage(w http.ResponseWriter, r *http.Request, partial bool) {
	var b messageBody
	t, err := readChange(w, r, access.Message, &b)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if !partial {
		b.Subject, b.Body, b.BodyHTML = ptrOr(b.Subject), ptrOr(b.Body), ptrOr(b.BodyHTML)
	}
	out, err := h.messages.Update(r.Context(), commandMeta(r), commands.UpdateMessage{ID: t.id, Subject: b.Subject,
		Body: b.Body, BodyHTML: b.BodyHTML, IfMatch: t.ifMatch, Authorize: access.Changer(principal(r), access.Message)})
	respondChanged(w, r, access.Message, http.StatusOK, out, err, messageRow)
}
