package web

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/web/form"
)

// newMailing is GET /mailings/new: a form in the caller's time zone that
// sends once, from this minute to 30 days on, or, when the form's client search sent it (?filled=1), the form as
// it was, listing the matches of ?q= (htmx asks for it too as boxes are
// ticked, and takes the count of the choice from it).
func (h *Handler) newMailing(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	tz := timeZone(r)
	start := time.Now().In(tz).Truncate(time.Minute)
	f := form.Mailing{Periodicity: "once", Timezone: tz.String(),
		StartAt: start.Format(form.LocalTime), EndAt: start.AddDate(0, 0, newMailingDays).Format(form.LocalTime)}
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

// newMailingDays is how long a new mailing's window is open unless its
// owner says otherwise.
const newMailingDays = 30
