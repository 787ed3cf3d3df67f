package web

import (
	"net/http"

	"github.com/heraldmail/herald/web/form"
)

// submitRegister is POST /register: the account is created and the
// verification mail sent, as POST /api/v1/auth/register does.
func (h *Handler) submitRegister(w http.ResponseWriter, r *http.Request) {
	f := form.NewRegister(r)
	errs := f.Validate()
	var err error
	if len(errs) == 0 {
		_, _, err = h.id.Register(r.Context(), meta(r), f.Registration(clientAddr(r)))
		if err == nil {
			h.redirectWithFlash(w, r, "flash.registered", "/login")
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
	h.render(w, r, refusedStatus(w, err), "register", v)
}
