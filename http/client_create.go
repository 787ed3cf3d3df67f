package http

import (
	"net/http"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

func (h *Resources) createClient(w http.ResponseWriter, r *http.Request) {
	var b clientBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.clients.Create(r.Context(), resourceMeta(r), commands.CreateClient{Owner: principal(r).UserID,
		Fields: domain.ClientFields{Email: deref(b.Email), FullName: deref(b.FullName), Comment: deref(b.Comment)}})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/clients/"+out.State.ID().String())
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusCreated, out.Result, clientRow(out))
}
