package web

import "net/http"

// showHome is GET /: the public figures, for everyone.
func (h *Handler) showHome(w http.ResponseWriter, r *http.Request) {
	s, err := h.stats.PublicStats(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.view(w, r)
	v.Data = s
	h.render(w, r, http.StatusOK, "home", v)
}
