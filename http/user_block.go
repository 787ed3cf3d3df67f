package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/domain"
)

// toggleUser runs block or activate for a staff member holding
// users.toggle; who may block whom beyond that is the command's rule.
func (id *Identity) toggleUser(w http.ResponseWriter, r *http.Request, block bool) {
	uid, version, err := readUserTarget(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if !access.CanToggleUser(principal(r)) {
		respondError(w, r, domain.Forbidden("blocking and activating users needs staff status and users.toggle"))
		return
	}
	toggle := id.svc.Activate
	if block {
		toggle = id.svc.Block
	}
	a, res, err := toggle(r.Context(), commandMeta(r), uid, version)
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(res.Version))
	respondCommand(w, r, http.StatusOK, res, a)
}

func (id *Identity) blockUser(w http.ResponseWriter, r *http.Request) { id.toggleUser(w, r, true) }

func (id *Identity) activateUser(w http.ResponseWriter, r *http.Request) { id.toggleUser(w, r, false) }
