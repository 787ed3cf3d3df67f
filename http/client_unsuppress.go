package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/commands"
)

// unsuppressClient is POST /api/v1/clients/{id}/unsuppress: the owner (or
// whoever may change the client) lifts the suppression of a bounced
// address and answers the client. An unsubscription is the client's own
// and is not lifted here.
func (h *Resources) unsuppressClient(w http.ResponseWriter, r *http.Request) {
	t, err := readTarget(r, access.Client)
	if err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.optOuts.Unsuppress(r.Context(), commandMeta(r), commands.UnsuppressClient{ID: t.id,
		Authorize: access.Changer(principal(r), access.Client)})
	respondChanged(w, r, access.Client, http.StatusOK, out, err, clientRow)
}
