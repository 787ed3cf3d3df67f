package web

import "net/http"

// showDashboard is GET /dashboard, the signed-in visitor's start page.
func (h *Handler) showDashboard(w http.ResponseWriter, r *http.Request) {
	a, err := h.id.Account(r.Context(), principal(r).UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.view(w, r)
	v.Data = a
	h.render(w, r, http.StatusOK, "dashboard", v)
}
