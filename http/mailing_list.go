package http

import (
	"net/http"
	"strconv"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

func (h *Resources) listMailings(w http.ResponseWriter, r *http.Request) {
	scope, err := readScope(r, resMailing)
	if err != nil {
		respondError(w, r, err)
		return
	}
	page, err := listPage(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var f projections.MailingFilter
	q := r.URL.Query()
	switch s := q.Get("status"); s {
	case "", string(domain.StatusCreated), string(domain.StatusStarted), string(domain.StatusCompleted):
		f.Status = s
	default:
		respondError(w, r, domain.Invalid("status", "must be one of created, started, completed"))
		return
	}
	if s := q.Get("is_active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			respondError(w, r, domain.Invalid("is_active", "must be true or false"))
			return
		}
		f.IsActive = &b
	}
	items, next, err := h.queries.ListMailings(r.Context(), scope, f, page)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondPage(w, r, items, nextCursor(next))
}
