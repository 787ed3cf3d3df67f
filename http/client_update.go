package http

import (
	"net/http"

	"github.com/heraldmail/herald/commands"
)

// updateClient is PUT (partial=false: every field is set, absent ones
// become empty) and PATCH (only the fields sent change).
func (h *Resources) putClient(w http.ResponseWriter, r *http.Request) { h.updateClient(w, r, false) }

func (h *Resources) patchClient(w http.ResponseWriter, r *http.Request) { h.updateClient(w, r, true) }

func (h *Resources) updateClient(w http.ResponseWriter, r *http.Request, partial bool) {
	t, err := readTarget(r, resClient)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var b clientBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	if !partial {
		b.Email, b.FullName, b.Comment = ptrOr(b.Email), ptrOr(b.FullName), ptrOr(b.Comment)
	}
	out, err := h.clients.Update(r.Context(), resourceMeta(r), commands.UpdateClient{ID: t.id, Email: b.Email,
		FullName: b.FullName, Comment: b.Comment, IfMatch: t.ifMatch, Authorize: changer(r, "client")})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusOK, out.Result, clientRow(out))
}
