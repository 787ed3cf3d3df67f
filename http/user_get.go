package http

import (
	"net/http"
)

func (id *Identity) getUser(w http.ResponseWriter, r *http.Request) {
	uid, err := readUser(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	a, projected, err := id.svc.User(r.Context(), uid)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if projected {
		w.Header().Set("ETag", etag(a.Version))
	}
	respond(w, r, http.StatusOK, a)
}
