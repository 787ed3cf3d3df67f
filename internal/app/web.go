package app

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web"
)

// wireWeb mounts the web pages beside the API, on the same router, calling
// the same identity service and public stats query. It runs after the other
// areas: its GET / replaces the API's plain home page.
//
// WEB_COOKIE_SECURE (true/false) marks the session cookie Secure; unset, it
// follows PUBLIC_BASE_URL's scheme (https means Secure).
func wireWeb(a *App) error {
	svc, ok := a.Auth.(*identity.Service)
	if !ok {
		return errors.New("web: needs the identity service (wire identity first)")
	}
	secure, err := webCookieSecure(a.Config.PublicBaseURL)
	if err != nil {
		return err
	}
	stats, err := projections.NewResourceQueries(a.Pool)
	if err != nil {
		return err
	}
	h, err := web.New(web.Config{Identity: svc, Stats: stats, CookieSecure: secure,
		Log: a.Log.With().Str("component", "web").Logger()})
	if err != nil {
		return err
	}
	a.Modules = append(a.Modules, h)
	return nil
}

func webCookieSecure(publicBaseURL string) (bool, error) {
	if raw, ok := os.LookupEnv("WEB_COOKIE_SECURE"); ok && raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return false, fmt.Errorf("WEB_COOKIE_SECURE: must be true or false, got %q", raw)
		}
		return b, nil
	}
	u, err := url.Parse(publicBaseURL)
	return err == nil && u.Scheme == "https", nil
}
