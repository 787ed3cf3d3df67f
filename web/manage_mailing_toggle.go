package web

import (
	"errors"
	"net/http"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/web/form"
)

// enableAnyMailing is POST /manage/mailings/{id}/enable, as
// POST /api/v1/mailings/{id}/enable.
func (h *Handler) enableAnyMailing(w http.ResponseWriter, r *http.Request) {
	h.toggleAnyMailing(w, r, true)
}

// disableAnyMailing is POST /manage/mailings/{id}/disable, as
// POST /api/v1/mailings/{id}/disable.
func (h *Handler) disableAnyMailing(w http.ResponseWriter, r *http.Request) {
	h.toggleAnyMailing(w, r, false)
}

// toggleAnyMailing enables or disables a mailing of anyone for those the
// policy lets (access.MailingToggler): staff who may read it but lack
// mailings.toggle get 403, anyone else 404, as from the API.
func (h *Handler) toggleAnyMailing(w http.ResponseWriter, r *http.Request, enable bool) {
	id, ok := manageID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	f := form.NewStaffAction(r)
	out, err := h.mailings.Toggle(r.Context(), meta(r), f.ToggleMailing(id, enable, access.MailingToggler(principal(r))))
	back := localPath(f.Back, "/manage/mailings")
	switch {
	case errors.Is(err, domain.ErrNotFound):
		h.showNotFound(w, r)
	case errors.Is(err, domain.ErrForbidden):
		h.showNotAllowed(w, r)
	case err != nil:
		refused, ok := manageRefusal(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.redirectWithFlash(w, r, refused, back)
	default:
		h.settleOn(r, "mailings", out.Result)
		done := "flash.manage_mailing_disabled"
		if enable {
			done = "flash.manage_mailing_enabled"
		}
		h.redirectWithFlash(w, r, done, back)
	}
}
