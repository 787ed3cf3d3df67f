package app

import (
	"errors"

	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/internal/history"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web"
)

// wireWeb mounts the web pages beside the API, on the same router, calling
// the same identity service, queries, decorated command handlers and
// read-model waiter. It runs after the other areas: its GET / replaces the
// API's plain home page.
func wireWeb(a *App) error {
	svc, ok := a.Auth.(*identity.Service)
	if !ok {
		return errors.New("web: needs the identity service (wire identity first)")
	}
	q := a.resources.queries
	attempts, err := projections.NewAttemptQueries(a.Pool)
	if err != nil {
		return err
	}
	reports, err := projections.NewReportQueries(a.Pool)
	if err != nil {
		return err
	}
	hist, err := history.NewReader(a.Store)
	if err != nil {
		return err
	}
	h, err := web.New(web.Config{Identity: svc, Stats: q, ClientCommands: a.resources.clients, ClientQueries: q,
		MessageCommands: a.resources.messages, MessageQueries: q, MailFrom: a.Config.MailFrom,
		ReportQueries: a.reportQueries, Now: a.Now,
		UserQueries: a.userQueries, MailingCommands: a.resources.mailings, MailingQueries: q, Dispatcher: a.resources.runs,
		MailingHistory: hist, Attempts: attempts, MailingReports: reports,
		ClientImport: a.resources.clientImport, OptOuts: a.resources.optOuts, Waiter: a.Waiter, CookieSecure: a.Config.WebCookieSecure, Log: a.Log.With().Str("component", "web").Logger()})
	if err != nil {
		return err
	}
	a.Pages = h
	return nil
}
