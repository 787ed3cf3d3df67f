package http

import (
	"net/http"

	"github.com/heraldmail/herald/identity"
)

type registerRequest struct {
	Email    string `json:"email" validate:"required,max=300"` // trimmed, lower-cased and checked by the domain
	Password string `json:"password" validate:"required,min=8,max=128"`
	Name     string `json:"name" validate:"required,max=255"`
}

func (id *Identity) register(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	reg, res, err := id.svc.Register(r.Context(), commandMeta(r),
		identity.Registration{Email: req.Email, Password: req.Password, Name: req.Name, Addr: clientAddr(r)})
	if err != nil {
		respondError(w, r, throttled(err))
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+reg.ID.String())
	respondCommand(w, r, http.StatusCreated, res, reg)
}
