package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/web/form"
)

// editClient is GET /clients/{id}/edit; another user's client is not found.
func (h *Handler) editClient(w http.ResponseWriter, r *http.Request) {
	id, ok := clientID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	c, err := h.clientRows.GetClient(r.Context(), ownClients(r), id)
	if errors.Is(err, domain.ErrNotFound) {
		h.showNotFound(w, r)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.view(w, r)
	v.Form, v.Data = form.ClientOf(c), clientFormData{ID: id}
	h.render(w, r, http.StatusOK, "client_form", v)
}
