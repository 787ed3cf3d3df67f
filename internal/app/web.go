package app

import (
	"errors"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web"
)

// wireWeb mounts the web pages beside the API, on the same router, calling
// the same identity service, queries and decorated command handlers. It runs
// after the other areas: its GET / replaces the API's plain home page, and
// the read models it waits for are registered by then.
func wireWeb(a *App) error {
	svc, ok := a.Auth.(*identity.Service)
	if !ok {
		return errors.New("web: needs the identity service (wire identity first)")
	}
	q, err := projections.NewResourceQueries(a.Pool)
	if err != nil {
		return err
	}
	// A second handler over the same store behaves as the API's: the
	// handler keeps no state of its own, and the decorator is shared.
	clients, err := commands.NewClientHandler(a.Store, q, a.Now)
	if err != nil {
		return err
	}
	h, err := web.New(web.Config{Identity: svc, Stats: q, ClientCommands: a.Commands.Clients(clients), ClientQueries: q,
		Waiter: projections.NewWaiter(a.Pool, a.Bus.Prefix, a.Projectors...), CookieSecure: a.Config.WebCookieSecure,
		Log: a.Log.With().Str("component", "web").Logger()})
	if err != nil {
		return err
	}
	a.Pages = h
	return nil
}
