package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// enableMailing is POST /mailings/{id}/enable and disableMailing
// POST /mailings/{id}/disable, as POST /api/v1/mailings/{id}/enable and
// /disable: the owner may, and anyone holding mailings.toggle. Sent by htmx,
// they answer the mailing's row alone; else the list with a flash.
func (h *Handler) enableMailing(w http.ResponseWriter, r *http.Request) {
	h.toggleMailing(w, r, true)
}

func (h *Handler) disableMailing(w http.ResponseWriter, r *http.Request) {
	h.toggleMailing(w, r, false)
}

func (h *Handler) toggleMailing(w http.ResponseWriter, r *http.Request, enable bool) {
	id, ok := mailingID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	out, err := h.mailings.Toggle(r.Context(), meta(r), commands.ToggleMailing{ID: id, Enable: enable,
		Authorize: access.MailingToggler(principal(r))})
	var problem string
	switch {
	case errors.Is(err, domain.ErrMailingCompleted):
		problem = "flash.mailing_completed"
	case h.refuseMailing(w, r, err):
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.settleMailings(r, out.Result)
	if isHTMX(r) {
		h.renderMailingRow(w, r, id, problem)
		return
	}
	switch {
	case problem != "":
		h.redirectWithFlash(w, r, problem, returnTo(r))
	case enable:
		h.redirectWithFlash(w, r, "flash.mailing_enabled", returnTo(r))
	default:
		h.redirectWithFlash(w, r, "flash.mailing_disabled", returnTo(r))
	}
}
