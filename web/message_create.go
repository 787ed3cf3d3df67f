package web

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/web/form"
)

// createMessage is POST /messages, as POST /api/v1/messages.
func (h *Handler) createMessage(w http.ResponseWriter, r *http.Request) {
	f := form.NewMessage(r)
	errs, status := f.Validate(), http.StatusUnprocessableEntity
	if len(errs) == 0 {
		out, err := h.messages.Create(r.Context(), meta(r), f.Create(principal(r).UserID))
		if err == nil {
			h.settleMessages(r, out.Result)
			h.redirectWithFlash(w, r, "flash.message_created", "/messages")
			return
		}
		var ok bool
		if errs, status, ok = messageErrors(err, &f); !ok {
			h.fail(w, r, err)
			return
		}
	}
	h.renderMessageForm(w, r, status, f, errs, uuid.Nil)
}
