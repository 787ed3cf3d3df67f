package http

import (
	"net/http"
)

func (h *Resources) listMessages(w http.ResponseWriter, r *http.Request) {
	scope, err := readScope(r, resMessage)
	if err != nil {
		respondError(w, r, err)
		return
	}
	page, err := listPage(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	items, next, err := h.queries.ListMessages(r.Context(), scope, page)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondPage(w, r, items, nextCursor(next))
}
