package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// deleteClient is POST /clients/{id}/delete, as DELETE /api/v1/clients/{id}.
func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request) {
	id, ok := clientID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	res, err := h.clients.Delete(r.Context(), meta(r), commands.DeleteClient{ID: id, Authorize: ownerOnly(r)})
	switch {
	case errors.Is(err, domain.ErrNotFound):
		h.showNotFound(w, r)
	case err != nil:
		h.fail(w, r, err)
	default:
		h.settle(r, res)
		h.redirectWithFlash(w, r, "flash.client_deleted", "/clients")
	}
}
