package http

import (
	"net/http"

	"github.com/heraldmail/herald/commands"
)

func (h *Resources) putMailing(w http.ResponseWriter, r *http.Request) { h.updateMailing(w, r, false) }

func (h *Resources) patchMailing(w http.ResponseWriter, r *http.Request) { h.updateMailing(w, r, true) }

func (h *Resources) updateMailing(w http.ResponseWriter, r *http.Request, partial bool) {
	t, err := readTarget(r, resMailing)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var b mailingBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	c, err := b.parse(!partial)
	if err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.mailings.Update(r.Context(), resourceMeta(r), commands.UpdateMailing{ID: t.id, MessageID: c.messageID,
		ClientIDs: c.clientIDs, StartAt: c.startAt, EndAt: c.endAt, Periodicity: c.periodicity, Timezone: c.timezone,
		IsActive: b.IsActive, IfMatch: t.ifMatch, Authorize: changer(r, "mailing")})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusOK, out.Result, mailingRow(out))
}
