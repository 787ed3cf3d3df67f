package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
)

// putMailing sets every field (those not sent become empty); patchMailing
// changes only the fields sent.
func (h *Resources) putMailing(w http.ResponseWriter, r *http.Request)   { h.updateMailing(w, r, false) }
func (h *Resources) patchMailing(w http.ResponseWriter, r *http.Request) { h.updateMailing(w, r, true) }

func (h *Resources) updateMailing(w http.ResponseWriter, r *http.Request, partial bool) {
	var b mailingBody
	t, err := readChange(w, r, access.Mailing, &b)
	if err != nil {
		respondError(w, r, err)
		return
	}
	c, err := b.parse(!partial)
	if err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.mailings.Update(r.Context(), commandMeta(r), commands.UpdateMailing{ID: t.id, MessageID: c.messageID,
		ClientIDs: c.clientIDs, AllClients: c.allClients, StartAt: c.startAt, EndAt: c.endAt, Periodicity: c.periodicity, Timezone: c.timezone,
		IsActive: b.IsActive, IfMatch: t.ifMatch, Authorize: access.Changer(principal(r), access.Mailing)})
	respondChanged(w, r, access.Mailing, http.StatusOK, out, err, mailingRow)
}
