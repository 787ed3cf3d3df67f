package http

import "net/http"

// logout ends the session of the token the request carries.
func (id *Identity) logout(w http.ResponseWriter, r *http.Request) {
	token, _ := bearerToken(r)
	if err := id.svc.Logout(r.Context(), token); err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusNoContent, nil)
}
