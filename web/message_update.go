package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/web/form"
)

// updateMessage is POST /messages/{id}, as PUT /api/v1/messages/{id} with
// If-Match: the version the edit page showed. A refusal shows the form
// again with what was typed.
func (h *Handler) updateMessage(w http.ResponseWriter, r *http.Request) {
	id, ok := messageID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	f := form.NewMessage(r)
	errs, status := f.Validate(), http.StatusUnprocessableEntity
	if len(errs) == 0 {
		out, err := h.messages.Update(r.Context(), meta(r), f.Update(id, access.Changer(principal(r), access.Message)))
		switch {
		case err == nil:
			h.settleMessages(r, out.Result)
			h.redirectWithFlash(w, r, "flash.message_updated", "/messages/"+id.String())
			return
		case errors.Is(err, domain.ErrNotFound):
			h.showNotFound(w, r)
			return
		}
		if errs, status, ok = messageErrors(err, &f); !ok {
			h.fail(w, r, err)
			return
		}
	}
	h.renderMessageForm(w, r, status, f, errs, id)
}
