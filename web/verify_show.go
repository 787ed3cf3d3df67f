package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/domain"
)

// verifyEmail is GET /verify?token=, the link of the verification mail.
func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	_, _, err := h.id.Verify(r.Context(), meta(r), r.URL.Query().Get("token"))
	switch {
	case err == nil:
		h.redirectWithFlash(w, r, "flash.email_verified", "/login")
	case errors.Is(err, domain.ErrInvalid), errors.Is(err, domain.ErrNotFound):
		h.render(w, r, http.StatusBadRequest, "verify", h.view(w, r))
	default:
		h.fail(w, r, err)
	}
}
