package web

import (
	"net/http"
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
