package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

func (h *Resources) createMailing(w http.ResponseWriter, r *http.Request) {
	var b mailingBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	c, err := b.parse(true)
	if err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.mailings.Create(r.Context(), commandMeta(r), commands.CreateMailing{Owner: principal(r).UserID,
		IsActive: b.IsActive, Fields: domain.MailingFields{MessageID: *c.messageID, ClientIDs: *c.clientIDs, AllClients: *c.allClients,
			StartAt: *c.startAt, EndAt: *c.endAt, Periodicity: *c.periodicity, Timezone: *c.timezone}})
	respondChanged(w, r, access.Mailing, http.StatusCreated, out, err, mailingRow)
}
