package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

func (h *Resources) createClient(w http.ResponseWriter, r *http.Request) {
	var b clientBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.clients.Create(r.Context(), commandMeta(r), commands.CreateClient{Owner: principal(r).UserID,
		Fields: domain.ClientFields{Email: deref(b.Email), FullName: deref(b.FullName), Comment: deref(b.Comment)}})
	respondChanged(w, r, access.Client, http.StatusCreated, out, err, clientRow)
}
