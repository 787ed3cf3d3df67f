package web

import "net/http"

// logout is POST /logout: the session is revoked, not only forgotten by the
// browser.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if tok := sessionToken(r); tok != "" {
		if err := h.id.Logout(r.Context(), tok); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.clearSession(w)
	h.redirectWithFlash(w, r, "flash.logged_out", "/login")
}
