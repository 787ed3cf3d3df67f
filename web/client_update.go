package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/web/form"
)

// updateClient is POST /clients/{id}, as PUT /api/v1/clients/{id} with
// If-Match: the version the edit page showed.
func (h *Handler) updateClient(w http.ResponseWriter, r *http.Request) {
	id, ok := clientID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	f := form.NewClient(r)
	errs := f.Validate()
	if len(errs) == 0 {
		out, err := h.clients.Update(r.Context(), meta(r), f.Update(id, ownerOnly(r)))
		switch {
		case err == nil:
			h.settle(r, out.Result)
			h.redirectWithFlash(w, r, "flash.client_updated", "/clients")
			return
		case errors.Is(err, domain.ErrNotFound):
			h.showNotFound(w, r)
			return
		}
		if errs, ok = clientErrors(err); !ok {
			h.fail(w, r, err)
			return
		}
	}
	h.renderClientForm(w, r, f, errs, id)
}
