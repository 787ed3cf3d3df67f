package web

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/web/form"
)

// createClient is POST /clients, as POST /api/v1/clients.
func (h *Handler) createClient(w http.ResponseWriter, r *http.Request) {
	f := form.NewClient(r)
	errs := f.Validate()
	if len(errs) == 0 {
		out, err := h.clients.Create(r.Context(), meta(r), f.Create(principal(r).UserID))
		if err == nil {
			h.settle(r, out.Result)
			h.redirectWithFlash(w, r, "flash.client_created", "/clients")
			return
		}
		var ok bool
		if errs, ok = clientErrors(err); !ok {
			h.fail(w, r, err)
			return
		}
	}
	h.renderClientForm(w, r, f, errs, uuid.Nil)
}
