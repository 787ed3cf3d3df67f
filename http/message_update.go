package http

import (
	"net/http"

	"github.com/heraldmail/herald/commands"
)

func (h *Resources) putMessage(w http.ResponseWriter, r *http.Request) { h.updateMessage(w, r, false) }

func (h *Resources) patchMessage(w http.ResponseWriter, r *http.Request) { h.updateMessage(w, r, true) }

func (h *Resources) updateMessage(w http.ResponseWriter, r *http.Request, partial bool) {
	t, err := readTarget(r, resMessage)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var b messageBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	if !partial {
		b.Subject, b.Body = ptrOr(b.Subject), ptrOr(b.Body)
	}
	out, err := h.messages.Update(r.Context(), resourceMeta(r), commands.UpdateMessage{ID: t.id, Subject: b.Subject,
		Body: b.Body, IfMatch: t.ifMatch, Authorize: changer(r, "message")})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusOK, out.Result, messageRow(out))
}
