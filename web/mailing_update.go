package web

import (
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/web/form"
)

// updateMailing is POST /mailings/{id}, as PUT /api/v1/mailings/{id} with
// If-Match: the version the edit page showed. A choice that resolves to the
// clients as the read model has them leaves them out of the command, so a
// client the read model has not caught up with yet is not dropped.
func (h *Handler) updateMailing(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	m, ok := h.changeableMailing(w, r)
	if !ok {
		return
	}
	p := principal(r)
	t := mailingTarget{ID: m.ID, Owner: m.OwnerID, Current: m.ClientIDs}
	f := form.NewMailing(r.PostForm)
	chosen, err := h.resolveRecipients(r.Context(), p, t, f.Recipients)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	errs := f.Validate(len(chosen))
	if len(errs) == 0 {
		var clients []uuid.UUID
		if !slices.Equal(chosen, t.Current) {
			clients = chosen
		}
		out, err := h.mailings.Update(r.Context(), meta(r), f.Update(m.ID, clients, access.Changer(p, access.Mailing)))
		if err == nil {
			h.settleMailings(r, out.Result)
			h.redirectWithFlash(w, r, "flash.mailing_updated", "/mailings")
			return
		}
		if h.refuseMailing(w, r, err) {
			return
		}
		if errs, ok = mailingErrors(err); !ok {
			h.fail(w, r, err)
			return
		}
	}
	h.renderMailingForm(w, r, http.StatusUnprocessableEntity, f, errs, t, chosen)
}
