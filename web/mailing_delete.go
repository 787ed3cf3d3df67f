package web

import (
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/commands"
)

// deleteMailing is POST /mailings/{id}/delete, as
// DELETE /api/v1/mailings/{id}: only the owner may; its runs keep their
// history.
func (h *Handler) deleteMailing(w http.ResponseWriter, r *http.Request) {
	id, ok := mailingID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	res, err := h.mailings.Delete(r.Context(), meta(r), commands.DeleteMailing{ID: id,
		Authorize: access.Changer(principal(r), access.Mailing)})
	switch {
	case h.refuseMailing(w, r, err):
	case err != nil:
		h.fail(w, r, err)
	default:
		h.settleMailings(r, res)
		h.redirectWithFlash(w, r, "flash.mailing_deleted", returnTo(r))
	}
}
