package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
)

// enableMailing and disableMailing answer the mailing with is_active set:
// the owner may, and anyone holding mailings.toggle (mailingToggler).
func (h *Resources) enableMailing(w http.ResponseWriter, r *http.Request) {
	h.toggleMailing(w, r, true)
}
func (h *Resources) disableMailing(w http.ResponseWriter, r *http.Request) {
	h.toggleMailing(w, r, false)
}

func (h *Resources) toggleMailing(w http.ResponseWriter, r *http.Request, enable bool) {
	t, err := readTarget(r, access.Mailing)
	if err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.mailings.Toggle(r.Context(), commandMeta(r), commands.ToggleMailing{ID: t.id, Enable: enable,
		IfMatch: t.ifMatch, Authorize: access.MailingToggler(principal(r))})
	respondChanged(w, r, access.Mailing, http.StatusOK, out, err, mailingRow)
}
