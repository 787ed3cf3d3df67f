package web

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/web/form"
)

// newMessage is GET /messages/new.
func (h *Handler) newMessage(w http.ResponseWriter, r *http.Request) {
	v := h.view(w, r)
	v.Form, v.Data = form.Message{}, messageFormData{ID: uuid.Nil}
	h.render(w, r, http.StatusOK, "message_form", v)
}
