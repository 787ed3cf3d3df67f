package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/web/form"
)

// setUserGroups is POST /manage/users/{id}/groups, as
// PUT /api/v1/users/{id}/groups (superuser only): the account's groups with
// the form's group added or taken out. Adding managers makes it staff.
func (h *Handler) setUserGroups(w http.ResponseWriter, r *http.Request) {
	id, ok := manageID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	if !access.CanSetGroups(principal(r)) {
		h.showNotAllowed(w, r)
		return
	}
	f := form.NewUserGroups(r)
	back := localPath(f.Back, "/manage/users")
	// The groups as the account's events hold them, not as the list showed
	// them: the version the page showed still guards the change.
	a, err := h.id.Account(r.Context(), id)
	if errors.Is(err, domain.ErrNotFound) {
		h.showNotFound(w, r)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ifMatch := f.IfMatch()
	if ifMatch < 0 {
		ifMatch = a.Version
	}
	_, res, err := h.id.SetGroups(r.Context(), meta(r), id, f.Groups(a.Groups), ifMatch)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		h.showNotFound(w, r)
	case errors.Is(err, domain.ErrInvalid):
		h.redirectWithFlash(w, r, "flash.manage_group_unknown", back)
	case err != nil:
		refused, ok := manageRefusal(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.redirectWithFlash(w, r, refused, back)
	default:
		h.settleOn(r, "users", res)
		h.redirectWithFlash(w, r, "flash.manage_groups_changed", back)
	}
}
