package http

import (
	"net/http"
	"strings"

	"github.com/heraldmail/herald/domain"
)

func (h *Resources) listClients(w http.ResponseWriter, r *http.Request) {
	scope, err := readScope(r, resClient)
	if err != nil {
		respondError(w, r, err)
		return
	}
	page, err := listPage(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if msg := domain.CheckText(q); msg != "" || len(q) > 255 {
		respondError(w, r, domain.Invalid("q", "must be valid text of at most 255 bytes"))
		return
	}
	items, next, err := h.queries.ListClients(r.Context(), scope, q, page)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondPage(w, r, items, nextCursor(next))
}
