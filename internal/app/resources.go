package app

import (
	"time"

	"github.com/heraldmail/herald/commands"
	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/projections"
)

// wireResources wires clients, messages and mailings: their
// command handlers, the read models they are queried through, the public
// stats and the home page.
func wireResources(a *App) error {
	q, err := projections.NewResourceQueries(a.Pool)
	if err != nil {
		return err
	}
	clients, err := commands.NewClientHandler(a.Store, q, a.Now)
	if err != nil {
		return err
	}
	messages, err := commands.NewMessageHandler(a.Store, q, a.Now)
	if err != nil {
		return err
	}
	mailings, err := commands.NewMailingHandler(a.Store, q, a.Now)
	if err != nil {
		return err
	}
	importer, err := commands.NewClientImporter(a.Store)
	if err != nil {
		return err
	}
	importer.InheritOptOuts(q)
	a.resources.clients, a.resources.clientImport, a.resources.queries = a.Commands.Clients(clients), a.Commands.ClientImport(importer), q
	a.resources.messages, a.resources.mailings = a.Commands.Messages(messages), a.Commands.Mailings(mailings)
	door, err := api.NewResources(a.resources.clients, a.resources.optOuts, a.resources.clientImport, a.resources.messages, a.resources.mailings, q, 3*time.Second)
	if err != nil {
		return err
	}
	a.Areas.Resources = door
	a.Projectors = append(a.Projectors, projections.ClientsProjector{}, projections.MessagesProjector{},
		projections.MailingsProjector{}, projections.StatsProjector{})
	return nil
}
