package http

import "net/http"

// stats is GET /api/v1/stats: the public figures, open to everyone. Without
// X-Min-Position it shares the home page's few-seconds cache; with it, the
// figures are read fresh once the stats projector has caught up.
func (h *Resources) stats(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(HeaderMinPosition) != "" {
		s, err := h.queries.PublicStats(r.Context())
		if err != nil {
			respondError(w, r, err)
			return
		}
		respond(w, r, http.StatusOK, s)
		return
	}
	s, _, err := h.home.figures(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, s)
}
