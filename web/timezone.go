package web

import (
	"net/http"
	"slices"
	"time"
)

// tzCookie holds the IANA name of the time zone the pages show times in,
// picked in the page footer; without it, times are in UTC.
const tzCookie = "herald_tz"

// timeZone is the time zone of the request's pages.
func timeZone(r *http.Request) *time.Location {
	if c, err := r.Cookie(tzCookie); err == nil && c.Value != "" {
		if loc, err := time.LoadLocation(c.Value); err == nil {
			return loc
		}
	}
	return time.UTC
}

// switchTimeZone is POST /time-zone, the footer's switch: an unknown zone
// is ignored.
func (h *Handler) switchTimeZone(w http.ResponseWriter, r *http.Request) {
	if tz := r.PostFormValue("tz"); slices.Contains(timeZones(), tz) {
		http.SetCookie(w, &http.Cookie{Name: tzCookie, Value: tz, Path: "/", MaxAge: 365 * 24 * 60 * 60,
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next"), "/"), http.StatusSeeOther)
}
