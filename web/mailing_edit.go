package web

import (
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web/form"
)

// editMailing is GET /mailings/{id}/edit: the mailing's setting, its
// clients kept as they are; when the form's client search sent it
// (?filled=1), the form as it was, listing the matches of ?q= (or htmx,
// counting the choice as boxes are ticked). A mailing
// the caller may not see is not found; one they may see but not change
// (staff) is refused.
func (h *Handler) editMailing(w http.ResponseWriter, r *http.Request) {
	m, ok := h.changeableMailing(w, r)
	if !ok {
		return
	}
	p := principal(r)
	t := mailingTarget{ID: m.ID, Owner: m.OwnerID, Current: m.ClientIDs}
	f := form.MailingOf(m)
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

// changeableMailing is the mailing of the path if the caller may change
// it; otherwise it answers (not found, refused) and ok is false.
func (h *Handler) changeableMailing(w http.ResponseWriter, r *http.Request) (projections.MailingRow, bool) {
	id, ok := mailingID(r)
	if !ok {
		h.showNotFound(w, r)
		return projections.MailingRow{}, false
	}
	m, err := h.readableMailing(r, id)
	if err == nil && !access.CanChange(principal(r), m.OwnerID) {
		err = domain.Forbidden("staff may read another user's mailing but not change it")
	}
	if h.refuseMailing(w, r, err) {
		return m, false
	}
	if err != nil {
		h.fail(w, r, err)
		return m, false
	}
	return m, true
}
