package web

import (
	"net/http"
	"regexp"
)

// flashCookie carries the key of a message shown once, on the page a
// post/redirect/get lands on.
const flashCookie = "herald_flash"

var flashKey = regexp.MustCompile(`^flash\.[a-z_]+$`)

func (h *Handler) setFlash(w http.ResponseWriter, key string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: key, Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns the pending message key, if any, and clears it.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode})
	if !flashKey.MatchString(c.Value) {
		return ""
	}
	return c.Value
}

// redirectWithFlash ends an action: the message, then the page to show it.
func (h *Handler) redirectWithFlash(w http.ResponseWriter, r *http.Request, key, to string) {
	h.setFlash(w, key)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
