package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
)

// putClient sets every field (those not sent become empty); patchClient
// changes only the fields sent.
func (h *Resources) putClient(w http.ResponseWriter, r *http.Request)   { h.updateClient(w, r, false) }
func (h *Resources) patchClient(w http.ResponseWriter, r *http.Request) { h.updateClient(w, r, true) }

func (h *Resources) updateClient(w http.ResponseWriter, r *http.Request, partial bool) {
	var b clientBody
	t, err := readChange(w, r, access.Client, &b)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if !partial {
		b.Email, b.FullName, b.Comment = ptrOr(b.Email), ptrOr(b.FullName), ptrOr(b.Comment)
	}
	out, err := h.clients.Update(r.Context(), commandMeta(r), commands.UpdateClient{ID: t.id, Email: b.Email,
		FullName: b.FullName, Comment: b.Comment, IfMatch: t.ifMatch, Authorize: access.Changer(principal(r), access.Client)})
	respondChanged(w, r, access.Client, http.StatusOK, out, err, clientRow)
}
