package web

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/web/form"
)

// newClient is GET /clients/new.
func (h *Handler) newClient(w http.ResponseWriter, r *http.Request) {
	v := h.view(w, r)
	v.Form, v.Data = form.Client{}, clientFormData{ID: uuid.Nil}
	h.render(w, r, http.StatusOK, "client_form", v)
}
