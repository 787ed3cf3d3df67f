package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/internal/history"
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
	RequestPasswordReset(ctx context.Context, meta domain.Metadata, email, addr string) error
	ConfirmPasswordReset(ctx context.Context, meta domain.Metadata, token, newPassword string) (identity.Account, eventstore.Result, error)
	Block(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (identity.Account, eventstore.Result, error)
	Activate(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch int64) (identity.Account, eventstore.Result, error)
	SetGroups(ctx context.Context, meta domain.Metadata, id uuid.UUID, groups []string, ifMatch int64) (identity.Account, eventstore.Result, error)
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

// OptOutCommands are a client's unsubscribing (no login: the link's token
// is the credential) and the owner's lifting of a suppression
// (commands.OptOuts, decorated).
type OptOutCommands interface {
	CheckToken(ctx context.Context, token string) (*domain.Client, error)
	Unsubscribe(ctx context.Context, meta domain.Metadata, cmd commands.UnsubscribeClient) (*domain.Client, error)
	Unsuppress(ctx context.Context, meta domain.Metadata, cmd commands.UnsuppressClient) (commands.Outcome[*domain.Client], error)
}

// ClientQueries reads clients (*projections.ResourceQueries), as
// GET /api/v1/clients does.
type ClientQueries interface {
	ListClients(ctx context.Context, s projections.OwnerScope, search string, p projections.IDPage) ([]projections.ClientRow, uuid.UUID, error)
	GetClient(ctx context.Context, s projections.OwnerScope, id uuid.UUID) (projections.ClientRow, error)
}

// MessageCommands changes messages (commands.DecoratedMessages), the same
// handler the JSON API calls.
type MessageCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateMessage) (commands.Outcome[*domain.Message], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateMessage) (commands.Outcome[*domain.Message], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteMessage) (eventstore.Result, error)
}

// MessageQueries reads messages (*projections.ResourceQueries), as
// GET /api/v1/messages does.
type MessageQueries interface {
	ListMessages(ctx context.Context, s projections.OwnerScope, p projections.IDPage) ([]projections.MessageRow, uuid.UUID, error)
	GetMessage(ctx context.Context, s projections.OwnerScope, id uuid.UUID) (projections.MessageRow, error)
}

// MailingCommands changes mailings (commands.DecoratedMailings), the same
// handler the JSON API calls.
type MailingCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateMailing) (commands.Outcome[*domain.Mailing], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateMailing) (commands.Outcome[*domain.Mailing], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteMailing) (eventstore.Result, error)
	Toggle(ctx context.Context, meta domain.Metadata, cmd commands.ToggleMailing) (commands.Outcome[*domain.Mailing], error)
}

// MailingQueries reads mailings and the messages they send
// (*projections.ResourceQueries), as GET /api/v1/mailings and
// /api/v1/messages do.
type MailingQueries interface {
	ListMailings(ctx context.Context, s projections.OwnerScope, f projections.MailingFilter, p projections.IDPage) ([]projections.MailingRow, uuid.UUID, error)
	GetMailing(ctx context.Context, s projections.OwnerScope, id uuid.UUID) (projections.MailingRow, error)
	ListMessages(ctx context.Context, s projections.OwnerScope, p projections.IDPage) ([]projections.MessageRow, uuid.UUID, error)
	GetMessage(ctx context.Context, s projections.OwnerScope, id uuid.UUID) (projections.MessageRow, error)
}

// Dispatcher starts a run of a mailing now (commands.DecoratedRuns), as
// POST /api/v1/mailings/{id}/dispatch does.
type Dispatcher interface {
	Dispatch(ctx context.Context, cmd commands.DispatchMailing, meta domain.Metadata) (eventstore.Result, uuid.UUID, error)
}

// ReportQueries reads the reports read model (*projections.ReportQueries):
// the per-mailing report and its summary GET /api/v1/reports/mailings and
// /api/v1/reports/summary answer, and the dashboard's figures.
type ReportQueries interface {
	ListMailingReports(ctx context.Context, s projections.OwnerScope, p projections.IDPage) ([]projections.MailingReport, uuid.UUID, error)
	EachMailingReport(ctx context.Context, s projections.OwnerScope, fn func(projections.MailingReport) error) error
	Summary(ctx context.Context, s projections.OwnerScope) (projections.ReportSummary, error)
	DeliveriesPerDay(ctx context.Context, s projections.OwnerScope, now time.Time, loc *time.Location, days int) ([]projections.DayDeliveries, error)
	ActiveMailings(ctx context.Context, s projections.OwnerScope) (int64, error)
}

// UserQueries reads the accounts for the staff pages
// (*projections.UserQueries), the read model GET /api/v1/users lists.
type UserQueries interface {
	SearchUsers(ctx context.Context, search string, p projections.IDPage) ([]projections.UserRow, uuid.UUID, error)
	UsersByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]projections.UserRow, error)
}

// MailingHistory builds a mailing's audit replay (*history.Reader), deleted
// mailings' too, as GET /api/v1/mailings/{id}/history does.
type MailingHistory interface {
	Mailing(ctx context.Context, id uuid.UUID, o history.Options) (history.Document, error)
}

// AttemptQueries pages a mailing's delivery attempts
// (*projections.AttemptQueries), as GET /api/v1/mailings/{id}/attempts does.
type AttemptQueries interface {
	ListAttempts(ctx context.Context, s projections.OwnerScope, mailingID uuid.UUID, page projections.AttemptPage) ([]projections.AttemptRow, int64, error)
}

// MailingReports reads one mailing's line of the report
// (*projections.ReportQueries), the line GET /api/v1/reports/mailings lists.
type MailingReports interface {
	GetMailingReport(ctx context.Context, s projections.OwnerScope, id uuid.UUID) (projections.MailingReport, error)
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
	Identity        Identity
	Stats           Stats
	ClientCommands  ClientCommands
	ClientQueries   ClientQueries
	ClientImport    ClientImporter
	OptOuts         OptOutCommands
	MessageCommands MessageCommands
	MessageQueries  MessageQueries
	MailingCommands MailingCommands
	MailingQueries  MailingQueries
	Dispatcher      Dispatcher
	ReportQueries   ReportQueries
	UserQueries     UserQueries
	// MailFrom is the sender mailings go out as (MAIL_FROM), shown on a
	// message's preview; "" leaves the sender out.
	MailFrom string
	// The mailing page also reads these.
	MailingHistory MailingHistory
	Attempts       AttemptQueries
	MailingReports MailingReports
	// Waiter is optional: without it the page after a change may show the
	// read model from before it.
	Waiter Waiter
	// CookieSecure marks the session cookie Secure: set it when the pages
	// are served over HTTPS.
	CookieSecure bool
	// Now is the clock of the figures "this week"; nil means time.Now.
	Now func() time.Time
	Log zerolog.Logger
}

// Handler serves the pages.
type Handler struct {
	id             Identity
	stats          Stats
	clients        ClientCommands
	clientRows     ClientQueries
	importer       ClientImporter
	optOuts        OptOutCommands
	messages       MessageCommands
	messageRows    MessageQueries
	mailings       MailingCommands
	mailingRows    MailingQueries
	runs           Dispatcher
	reports        ReportQueries
	userRows       UserQueries
	mailFrom       string
	waiter         Waiter
	secure         bool
	now            func() time.Time
	log            zerolog.Logger
	pages          pageSets
	csrf           *http.CrossOriginProtection
	history        MailingHistory
	attempts       AttemptQueries
	mailingReports MailingReports
}

// New checks cfg and builds the pages.
func New(cfg Config) (*Handler, error) {
	if cfg.Identity == nil || cfg.Stats == nil || cfg.ClientCommands == nil || cfg.ClientQueries == nil || cfg.ClientImport == nil ||
		cfg.OptOuts == nil {
		return nil, errors.New("web: needs the identity service, the public stats query and the clients' commands, opt-outs, import and queries")
	}
	if cfg.MessageCommands == nil || cfg.MessageQueries == nil || cfg.MailingCommands == nil || cfg.MailingQueries == nil ||
		cfg.Dispatcher == nil || cfg.ReportQueries == nil || cfg.UserQueries == nil {
		return nil, errors.New("web: needs the messages' and mailings' commands and queries, the dispatcher, the report and the user queries")
	}
	if cfg.MailingHistory == nil || cfg.Attempts == nil || cfg.MailingReports == nil {
		return nil, errors.New("web: the mailing page needs the history reader, the attempts and the report queries")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{id: cfg.Identity, stats: cfg.Stats, clients: cfg.ClientCommands, clientRows: cfg.ClientQueries,
		importer: cfg.ClientImport, optOuts: cfg.OptOuts, messages: cfg.MessageCommands, messageRows: cfg.MessageQueries, mailFrom: cfg.MailFrom,
		mailings: cfg.MailingCommands, mailingRows: cfg.MailingQueries, runs: cfg.Dispatcher,
		reports: cfg.ReportQueries, userRows: cfg.UserQueries, now: cfg.Now,
		waiter: cfg.Waiter, secure: cfg.CookieSecure, log: cfg.Log, pages: pages,
		csrf: http.NewCrossOriginProtection()}
	if h.now == nil {
		h.now = time.Now
	}
	h.csrf.SetDenyHandler(http.HandlerFunc(h.showForbidden))
	// Mailbox providers make the one-click unsubscribe (RFC 8058) as a
	// cross-origin POST without cookies; the link's signed token is its
	// credential and the POST only ever unsubscribes, so a forged request
	// can do nothing the token's holder would not do with the link.
	h.csrf.AddInsecureBypassPattern("POST /unsubscribe/{token}")
	h.history, h.attempts, h.mailingReports = cfg.MailingHistory, cfg.Attempts, cfg.MailingReports
	return h, nil
}

// meta is the audit metadata of a command a page makes: a fresh correlation
// id (the actor is set by the identity service).
func meta(r *http.Request) domain.Metadata {
	return domain.Metadata{ActorID: principal(r).UserID, CorrelationID: uuid.New()}
}
