package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/eventstore"
)

func (h *Resources) deleteClient(w http.ResponseWriter, r *http.Request) {
	deleteOne(w, r, access.Client, func(t target, auth commands.Authorizer) (eventstore.Result, error) {
		return h.clients.Delete(r.Context(), commandMeta(r), commands.DeleteClient{ID: t.id, IfMatch: t.ifMatch, Authorize: auth})
	})
}
