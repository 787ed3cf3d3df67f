package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/domain"
)

type setGroupsRequest struct {
	Groups []string `json:"groups" validate:"required,max=32,dive,required,max=63"`
}

// setGroups replaces an account's groups (superuser only). Adding managers
// makes the account staff.
func (id *Identity) setGroups(w http.ResponseWriter, r *http.Request) {
	uid, version, err := readUserTarget(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if !access.CanSetGroups(principal(r)) {
		respondError(w, r, domain.Forbidden("only a superuser changes group membership"))
		return
	}
	var req setGroupsRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	a, res, err := id.svc.SetGroups(r.Context(), commandMeta(r), uid, req.Groups, version)
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(res.Version))
	respondCommand(w, r, http.StatusOK, res, a)
}
