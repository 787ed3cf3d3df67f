package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// unsuppressClient is POST /clients/{id}/unsuppress, as POST
// /api/v1/clients/{id}/unsuppress: whoever may change the client lifts the
// suppression of its bounced address.
func (h *Handler) unsuppressClient(w http.ResponseWriter, r *http.Request) {
	id, ok := clientID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	out, err := h.optOuts.Unsuppress(r.Context(), meta(r), commands.UnsuppressClient{ID: id,
		Authorize: access.Changer(principal(r), access.Client)})
	switch {
	case errors.Is(err, domain.ErrNotFound):
		h.showNotFound(w, r)
	case errors.Is(err, domain.ErrConflict):
		h.redirectWithFlash(w, r, "flash.client_unsuppressed", "/clients")
	case err != nil:
		h.fail(w, r, err)
	default:
		h.settle(r, out.Result)
		h.redirectWithFlash(w, r, "flash.client_unsuppressed", "/clients")
	}
}
