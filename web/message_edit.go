package web

import (
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/web/form"
)

// editMessage is GET /messages/{id}/edit. A message the caller may read but
// not change (staff looking at another user's) shows its preview, saying
// so; one they may not read is not found.
func (h *Handler) editMessage(w http.ResponseWriter, r *http.Request) {
	m, ok := h.loadMessage(w, r)
	if !ok {
		return
	}
	if !access.CanChange(principal(r), m.OwnerID) {
		h.renderMessagePreview(w, r, http.StatusForbidden, m, form.Errors{form.FormField: "error.message_read_only"})
		return
	}
	v := h.view(w, r)
	v.Form, v.Data = form.MessageOf(m), messageFormData{ID: m.ID}
	h.render(w, r, http.StatusOK, "message_form", v)
}
