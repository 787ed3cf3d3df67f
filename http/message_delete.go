package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/eventstore"
)

// deleteMessage refuses (409) while a mailing that is not completed uses
// the message: the command's rule.
func (h *Resources) deleteMessage(w http.ResponseWriter, r *http.Request) {
	deleteOne(w, r, access.Message, func(t target, auth commands.Authorizer) (eventstore.Result, error) {
		return h.messages.Delete(r.Context(), commandMeta(r), commands.DeleteMessage{ID: t.id, IfMatch: t.ifMatch, Authorize: auth})
	})
}
