package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// sendMailing is POST /mailings/{id}/send, as
// POST /api/v1/mailings/{id}/dispatch: a run to all the mailing's clients
// starts now, and the senders deliver it after the answer. Only the owner
// may: staff who may read the mailing are refused, anyone else finds
// nothing.
func (h *Handler) sendMailing(w http.ResponseWriter, r *http.Request) {
	id, ok := mailingID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	p := principal(r)
	res, _, err := h.runs.Dispatch(r.Context(), commands.DispatchMailing{MailingID: id, Owner: p.UserID,
		Trigger: domain.TriggerManual}, meta(r))
	if errors.Is(err, domain.ErrNotFound) && access.IsStaff(p) {
		if _, lerr := h.readableMailing(r, id); lerr == nil {
			err = domain.Forbidden("only the owner may send a mailing")
		}
	}
	switch {
	case errors.Is(err, domain.ErrMailingCompleted):
		h.redirectWithFlash(w, r, "flash.mailing_completed", returnTo(r))
	case errors.Is(err, domain.ErrMailingInactive):
		h.redirectWithFlash(w, r, "flash.mailing_inactive", returnTo(r))
	case h.refuseMailing(w, r, err):
	case err != nil:
		h.fail(w, r, err)
	default:
		h.settleMailings(r, res)
		h.redirectWithFlash(w, r, "flash.mailing_sent", returnTo(r))
	}
}
