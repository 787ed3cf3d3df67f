package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"
)

// summary is the totals of the report in scope: the caller's mailings, or
// everyone's for staff allowed reports.view_all (?owner_id= narrows).
func (h *Reports) summary(w http.ResponseWriter, r *http.Request) {
	scope, err := listScope(r, access.Report)
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
