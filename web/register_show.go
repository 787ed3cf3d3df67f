package web

import (
	"net/http"

	"github.com/heraldmail/herald/web/form"
)

// showRegister is GET /register.
func (h *Handler) showRegister(w http.ResponseWriter, r *http.Request) {
	v := h.view(w, r)
	v.Form = form.Register{}
	h.render(w, r, http.StatusOK, "register", v)
}
