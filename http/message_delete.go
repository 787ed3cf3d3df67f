package http

import (
	"net/http"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/eventstore"
)

func (h *Resources) deleteMessage(w http.ResponseWriter, r *http.Request) {
	deleteOne(w, r, "message", func(t target, auth commands.Authorizer) (eventstore.Result, error) {
		return h.messages.Delete(r.Context(), resourceMeta(r), commands.DeleteMessage{ID: t.id, IfMatch: t.ifMatch, Authorize: auth})
	})
}
