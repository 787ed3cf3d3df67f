package http

import (
	"net/http"
)

// me answers the caller's account, from its events (never stale).
func (id *Identity) me(w http.ResponseWriter, r *http.Request) {
	a, err := id.svc.Account(r.Context(), principal(r).UserID)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, a)
}
