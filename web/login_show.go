package web

import (
	"net/http"

	"github.com/heraldmail/herald/web/form"
)

// showLogin is GET /login[?next=/path]; a signed-in visitor goes on at once.
func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"), "/dashboard")
	if principal(r).Authenticated() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v := h.view(w, r)
	v.Form = form.Login{Next: next}
	h.render(w, r, http.StatusOK, "login", v)
}
