package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/projections"
)

// Identity is what the pages ask of the identity service (*identity.Service).
type Identity interface {
	Register(ctx context.Context, meta domain.Metadata, r identity.Registration) (identity.Registered, eventstore.Result, error)
	Verify(ctx context.Context, meta domain.Metadata, token string) (identity.Account, eventstore.Result, error)
	Login(ctx context.Context, c identity.Credentials) (identity.Session, error)
	Logout(ctx context.Context, token string) error
	Authenticate(ctx context.Context, token string) (identity.Principal, error)
	Account(ctx context.Context, id uuid.UUID) (identity.Account, error)
	RequestPasswordReset(ctx context.Context, meta domain.Metadata, email string) error
	ConfirmPasswordReset(ctx context.Context, meta domain.Metadata, token, newPassword string) (identity.Account, eventstore.Result, error)
}

// Stats reads the public figures (*projections.ResourceQueries), the same
// query GET /api/v1/stats answers from.
type Stats interface {
	PublicStats(ctx context.Context) (projections.PublicStats, error)
}

// ClientCommands changes clients (commands.DecoratedClients), the same
// handler the JSON API calls.
type ClientCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateClient) (commands.Outcome[*domain.Client], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateClient) (commands.Outcome[*domain.Client], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteClient) (eventstore.Result, error)
}

// ClientQueries reads clients (*projections.ResourceQueries), as
// GET /api/v1/clients does.
type ClientQueries interface {
	ListClients(ctx context.Context, s projections.OwnerScope, search string, p projections.IDPage) ([]projections.ClientRow, uuid.UUID, error)
	GetClient(ctx context.Context, s projections.OwnerScope, id uuid.UUID) (projections.ClientRow, error)
}

// ClientImporter imports a CSV file of clients (commands.DecoratedClientImport),
// the same handler POST /api/v1/clients/import calls.
type ClientImporter interface {
	Import(ctx context.Context, meta domain.Metadata, cmd commands.ImportClients) (commands.ImportReport, error)
}

// Waiter tells when read models have applied a store position
// (*projections.Waiter), so the page after a change shows it.
type Waiter interface {
	WaitFor(ctx context.Context, projectors []string, position int64) error
}

// Config is what the pages are built from; the composition root fills it in.
type Config struct {
	Identity       Identity
	Stats          Stats
	ClientCommands ClientCommands
	ClientQueries  ClientQueries
	ClientImport   ClientImporter
	// Waiter is optional: without it the page after a change may show the
	// read model from before it.
	Waiter Waiter
	// CookieSecure marks the session cookie Secure: set it when the pages
	// are served over HTTPS.
	CookieSecure bool
	Log          zerolog.Logger
}

// Handler serves the pages.
type Handler struct {
	id         Identity
	stats      Stats
	clients    ClientCommands
	clientRows ClientQueries
	importer   ClientImporter
	waiter     Waiter
	secure     bool
	log        zerolog.Logger
	pages      map[string]*template.Template
	csrf       *http.CrossOriginProtection
}

// New checks cfg and builds the pages.
func New(cfg Config) (*Handler, error) {
	if cfg.Identity == nil || cfg.Stats == nil || cfg.ClientCommands == nil || cfg.ClientQueries == nil || cfg.ClientImport == nil {
		return nil, errors.New("web: needs the identity service, the public stats query and the clients' commands, import and queries")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{id: cfg.Identity, stats: cfg.Stats, clients: cfg.ClientCommands, clientRows: cfg.ClientQueries,
		importer: cfg.ClientImport, waiter: cfg.Waiter, secure: cfg.CookieSecure, log: cfg.Log, pages: pages,
		csrf: http.NewCrossOriginProtection()}
	h.csrf.SetDenyHandler(http.HandlerFunc(h.showForbidden))
	return h, nil
}

// meta is the audit metadata of a command a page makes: a fresh correlation
// id (the actor is set by the identity service).
func meta(r *http.Request) domain.Metadata {
	return domain.Metadata{ActorID: principal(r).UserID, CorrelationID: uuid.New()}
}
