package web

import (
	"net/http"

	"github.com/heraldmail/herald/web/form"
)

// submitPasswordReset is POST /password-reset: it asks for the reset mail
// (answered the same whether the account exists or not), or, with the
// mailed token, sets the new password, which ends every session.
func (h *Handler) submitPasswordReset(w http.ResponseWriter, r *http.Request) {
	f := form.NewPasswordReset(r)
	errs := f.Validate()
	var err error
	if len(errs) == 0 {
		if f.Confirming() {
			_, _, err = h.id.ConfirmPasswordReset(r.Context(), meta(r), f.Token, f.Password)
		} else {
			err = h.id.RequestPasswordReset(r.Context(), meta(r), f.Email, clientAddr(r))
		}
		switch {
		case err == nil && f.Confirming():
			h.clearSession(w)
			h.redirectWithFlash(w, r, "flash.password_changed", "/login")
			return
		case err == nil:
			h.redirectWithFlash(w, r, "flash.reset_requested", "/login")
			return
		}
		var ok bool
		if errs, ok = fieldErrors(err); !ok {
			h.fail(w, r, err)
			return
		}
	}
	v := h.view(w, r)
	f.Password = ""
	v.Form, v.Errors = f, errs
	h.render(w, r, refusedStatus(w, err), "password_reset", v)
}
