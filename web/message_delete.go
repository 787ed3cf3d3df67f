package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/web/form"
)

// deleteMessage is POST /messages/{id}/delete, as DELETE
// /api/v1/messages/{id}. A refusal (a mailing that is not completed still
// sends the message, or the caller may only read it) shows the message's
// preview with the reason; the message stays.
func (h *Handler) deleteMessage(w http.ResponseWriter, r *http.Request) {
	id, ok := messageID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	res, err := h.messages.Delete(r.Context(), meta(r), commands.DeleteMessage{ID: id, Authorize: access.Changer(principal(r), access.Message)})
	var refusal form.Errors
	var status int
	switch {
	case err == nil:
		h.settleMessages(r, res)
		h.redirectWithFlash(w, r, "flash.message_deleted", "/messages")
		return
	case errors.Is(err, domain.ErrNotFound):
		h.showNotFound(w, r)
		return
	case errors.Is(err, domain.ErrConflict):
		// Without a version to match, the only conflict a deletion meets is
		// a live mailing that needs the message.
		refusal, status = form.Errors{form.FormField: "error.message_in_use"}, http.StatusConflict
	case errors.Is(err, domain.ErrForbidden):
		refusal, status = form.Errors{form.FormField: "error.message_read_only"}, http.StatusForbidden
	default:
		h.fail(w, r, err)
		return
	}
	if m, ok := h.loadMessage(w, r); ok {
		h.renderMessagePreview(w, r, status, m, refusal)
	}
}
