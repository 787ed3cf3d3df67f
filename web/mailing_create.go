package web

import (
	"net/http"

	"github.com/heraldmail/herald/web/form"
)

// createMailing is POST /mailings, as POST /api/v1/mailings: the caller's
// message to the clients the form's choice resolves to.
func (h *Handler) createMailing(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	p := principal(r)
	t := mailingTarget{Owner: p.UserID}
	f := form.NewMailing(r.PostForm)
	chosen, err := h.resolveRecipients(r.Context(), p, t, f.Recipients)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	errs := f.Validate(len(chosen))
	if len(errs) == 0 {
		out, err := h.mailings.Create(r.Context(), meta(r), f.Create(p.UserID, chosen))
		if err == nil {
			h.settleMailings(r, out.Result)
			h.redirectWithFlash(w, r, "flash.mailing_created", "/mailings")
			return
		}
		var ok bool
		if errs, ok = mailingErrors(err); !ok {
			h.fail(w, r, err)
			return
		}
	}
	h.renderMailingForm(w, r, http.StatusUnprocessableEntity, f, errs, t, chosen)
}
