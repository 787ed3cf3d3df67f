package web

import (
	"net/http"

	"github.com/heraldmail/herald/web/form"
)

// showPasswordReset is GET /password-reset: the email form, or with
// ?token= (the reset mail's link) the new password form.
func (h *Handler) showPasswordReset(w http.ResponseWriter, r *http.Request) {
	v := h.view(w, r)
	v.Form = form.PasswordReset{Token: r.URL.Query().Get("token")}
	h.render(w, r, http.StatusOK, "password_reset", v)
}
