package web

import (
	"net/http"
	"slices"
	"time"
)

// tzCookie holds the IANA name of the time zone the pages show times in,
// picked in the page footer; without it, times are in UTC.
const tzCookie = "herald_tz"

// TimeZones are the zones offered in the page footer, west
// to east (the mailing form offers a longer list, mailing_form.go).
var TimeZones = []string{
	"Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Chicago",
	"America/New_York", "America/Sao_Paulo", "UTC", "Europe/London", "Europe/Lisbon", "Europe/Berlin",
	"Europe/Paris", "Europe/Warsaw", "Europe/Kyiv", "Europe/Helsinki", "Europe/Istanbul", "Europe/Moscow",
	"Europe/Samara", "Asia/Dubai", "Asia/Yekaterinburg", "Asia/Tashkent", "Asia/Almaty", "Asia/Kolkata",
	"Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Bangkok", "Asia/Irkutsk", "Asia/Shanghai",
	"Asia/Singapore", "Asia/Yakutsk", "Asia/Tokyo", "Asia/Vladivostok", "Australia/Sydney",
	"Asia/Magadan", "Asia/Kamchatka", "Pacific/Auckland",
}

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
	if tz := r.PostFormValue("tz"); slices.Contains(TimeZones, tz) {
		http.SetCookie(w, &http.Cookie{Name: tzCookie, Value: tz, Path: "/", MaxAge: 365 * 24 * 60 * 60,
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next"), "/"), http.StatusSeeOther)
}
