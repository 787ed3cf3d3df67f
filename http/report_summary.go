package http

import (
	"net/http"
)

func (h *Reports) summary(w http.ResponseWriter, r *http.Request) {
	scope, err := reportScope(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	s, err := h.q.Summary(r.Context(), scope)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, s)
}
