package http

import (
	"context"
	"errors"
	"time"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// Resources is the API area of clients, messages, mailings, the public
// stats and the home page. Commands go through the handlers; reads come
// from the read models, scoped to the caller.
type Resources struct {
	clients  ClientCommands
	optOuts  OptOutCommands
	importer ClientImporter
	messages MessageCommands
	mailings MailingCommands
	queries  *projections.ResourceQueries
	home     *homePage
}

// ClientCommands handles the client commands (commands.ClientHandler,
// decorated).
type ClientCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateClient) (commands.Outcome[*domain.Client], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateClient) (commands.Outcome[*domain.Client], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteClient) (eventstore.Result, error)
}

// OptOutCommands lifts a client's suppression (commands.OptOuts,
// decorated).
type OptOutCommands interface {
	Unsuppress(ctx context.Context, meta domain.Metadata, cmd commands.UnsuppressClient) (commands.Outcome[*domain.Client], error)
}

// ClientImporter imports a CSV file of clients (commands.ClientImporter,
// decorated).
type ClientImporter interface {
	Import(ctx context.Context, meta domain.Metadata, cmd commands.ImportClients) (commands.ImportReport, error)
}

// MessageCommands handles the message commands (commands.MessageHandler,
// decorated).
type MessageCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateMessage) (commands.Outcome[*domain.Message], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateMessage) (commands.Outcome[*domain.Message], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteMessage) (eventstore.Result, error)
}

// MailingCommands handles the mailing commands (commands.MailingHandler,
// decorated).
type MailingCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateMailing) (commands.Outcome[*domain.Mailing], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateMailing) (commands.Outcome[*domain.Mailing], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteMailing) (eventstore.Result, error)
	Toggle(ctx context.Context, meta domain.Metadata, cmd commands.ToggleMailing) (commands.Outcome[*domain.Mailing], error)
}

// NewResources returns the area; statsTTL is how long the home page and
// /api/v1/stats reuse their figures (0 means 3 s).
func NewResources(c ClientCommands, o OptOutCommands, imp ClientImporter, m MessageCommands, ml MailingCommands,
	q *projections.ResourceQueries, statsTTL time.Duration) (*Resources, error) {
	if c == nil || o == nil || imp == nil || m == nil || ml == nil || q == nil {
		return nil, errors.New("http: resources need their handlers and queries")
	}
	if statsTTL <= 0 {
		statsTTL = 3 * time.Second
	}
	return &Resources{clients: c, optOuts: o, importer: imp, messages: m, mailings: ml, queries: q, home: newHomePage(q, statsTTL)}, nil
}
