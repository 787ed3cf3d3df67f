package web

import (
	"net/http"

	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/web/form"
)

// submitLogin is POST /login: the identity service opens a session, whose
// token the cookie keeps; then the visitor goes where they were going.
func (h *Handler) submitLogin(w http.ResponseWriter, r *http.Request) {
	f := form.NewLogin(r)
	f.Next = localPath(f.Next, "/dashboard")
	errs := f.Validate()
	var err error
	if len(errs) == 0 {
		var s identity.Session
		s, err = h.id.Login(r.Context(), f.Credentials(clientAddr(r)))
		if err == nil {
			h.setSession(w, s)
			h.redirectWithFlash(w, r, "flash.logged_in", f.Next)
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
	h.render(w, r, refusedStatus(w, err), "login", v)
}
