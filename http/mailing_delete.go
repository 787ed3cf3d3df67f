package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/eventstore"
)

func (h *Resources) deleteMailing(w http.ResponseWriter, r *http.Request) {
	deleteOne(w, r, access.Mailing, func(t target, auth commands.Authorizer) (eventstore.Result, error) {
		return h.mailings.Delete(r.Context(), commandMeta(r), commands.DeleteMailing{ID: t.id, IfMatch: t.ifMatch, Authorize: auth})
	})
}
