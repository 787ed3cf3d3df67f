package http

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// DispatchAccepted is the 202 body of a dispatch.
type DispatchAccepted struct {
	RunID     uuid.UUID `json:"run_id"`
	MailingID uuid.UUID `json:"mailing_id"`
}

// dispatchMailing sends a mailing now to all its clients: the run is recorded
// (X-Event-Position) and queued for the senders; 202 because the sending
// happens after the answer. Owner only: staff, who may read the mailing,
// get 403; anyone else 404.
func (h *Sending) dispatchMailing(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, access.Mailing)
	if err != nil {
		respondError(w, r, err)
		return
	}
	p := principal(r)
	res, runID, err := h.runs.Dispatch(r.Context(), commands.DispatchMailing{
		MailingID: id, Owner: p.UserID, Trigger: domain.TriggerManual}, commandMeta(r))
	if errors.Is(err, domain.ErrNotFound) && access.IsStaff(p) {
		if m, lerr := h.mailings.GetMailing(r.Context(), projections.OwnerScope{All: true}, id); lerr == nil && access.CanRead(p, access.Mailing, m.OwnerID) {
			err = domain.Forbidden("only the owner may dispatch a mailing")
		}
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondCommand(w, r, http.StatusAccepted, res, DispatchAccepted{RunID: runID, MailingID: id})
}
