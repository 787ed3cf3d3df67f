package web

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/web/form"
)

// newMailing is GET /mailings/new: an empty form in the caller's time
// zone, or, when the form's client search sent it (?filled=1), the form as
// it was, listing the matches of ?q= (htmx asks for it too as boxes are
// ticked, and takes the count of the choice from it).
func (h *Handler) newMailing(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	f := form.Mailing{Periodicity: "once", Timezone: timeZone(r).String()}
	t := mailingTarget{ID: uuid.Nil, Owner: p.UserID}
	if r.URL.Query().Get("filled") == "1" {
		f = form.NewMailing(r.URL.Query())
	}
	chosen, err := h.resolveRecipients(r.Context(), p, t, f.Recipients)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderMailingForm(w, r, http.StatusOK, f, nil, t, chosen)
}
