package web

import (
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web/form"
)

// messagePreview is what the preview page shows: the message as its
// recipients will see it, and what the caller may do to it.
type messagePreview struct {
	Message   projections.MessageRow
	From      string // the sender mailings go out as; "" when not configured
	CanChange bool
}

// showMessage is GET /messages/{id}, as GET /api/v1/messages/{id}: the
// message as a recipient will see it. One the caller may not read is not
// found.
func (h *Handler) showMessage(w http.ResponseWriter, r *http.Request) {
	if m, ok := h.loadMessage(w, r); ok {
		h.renderMessagePreview(w, r, http.StatusOK, m, nil)
	}
}

// renderMessagePreview shows m's preview with status and errs (why an
// action on it was refused); the language switch returns to the preview.
func (h *Handler) renderMessagePreview(w http.ResponseWriter, r *http.Request, status int, m projections.MessageRow, errs form.Errors) {
	v := h.view(w, r)
	v.Errors, v.Path = errs, "/messages/"+m.ID.String()
	v.Data = messagePreview{Message: m, From: h.mailFrom, CanChange: access.CanChange(principal(r), m.OwnerID)}
	h.render(w, r, status, "message_preview", v)
}
