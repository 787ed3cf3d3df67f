package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/web/form"
)

// blockUser is POST /manage/users/{id}/block, as POST /api/v1/users/{id}/block.
func (h *Handler) blockUser(w http.ResponseWriter, r *http.Request) { h.toggleUser(w, r, true) }

// activateUser is POST /manage/users/{id}/activate, as
// POST /api/v1/users/{id}/activate.
func (h *Handler) activateUser(w http.ResponseWriter, r *http.Request) { h.toggleUser(w, r, false) }

// toggleUser blocks or activates for staff holding users.toggle; who may
// block whom beyond that (not oneself; a superuser only by a superuser) is
// the command's rule, whose refusal the list shows.
func (h *Handler) toggleUser(w http.ResponseWriter, r *http.Request, block bool) {
	id, ok := manageID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	if !access.CanToggleUser(principal(r)) {
		h.showNotAllowed(w, r)
		return
	}
	f := form.NewStaffAction(r)
	toggle, done := h.id.Activate, "flash.manage_user_activated"
	if block {
		toggle, done = h.id.Block, "flash.manage_user_blocked"
	}
	_, res, err := toggle(r.Context(), meta(r), id, f.IfMatch())
	back := localPath(f.Back, "/manage/users")
	switch {
	case errors.Is(err, domain.ErrNotFound):
		h.showNotFound(w, r)
	case err != nil:
		refused, ok := manageRefusal(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.redirectWithFlash(w, r, refused, back)
	default:
		h.settleOn(r, "users", res)
		h.redirectWithFlash(w, r, done, back)
	}
}
