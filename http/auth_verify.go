package http

import (
	"net/http"
)

type verifyRequest struct {
	Token string `json:"token" validate:"required,max=128"`
}

func (id *Identity) verifyPost(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	id.verify(w, r, req.Token)
}

// verifyGet serves the link of the verification mail.
func (id *Identity) verifyGet(w http.ResponseWriter, r *http.Request) {
	id.verify(w, r, r.URL.Query().Get("token"))
}

func (id *Identity) verify(w http.ResponseWriter, r *http.Request, token string) {
	a, res, err := id.svc.Verify(r.Context(), commandMeta(r), token)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondCommand(w, r, http.StatusOK, res, a)
}
