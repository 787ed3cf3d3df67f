// Package app is Herald's composition root: it builds the event store, the
// bus, every area's handlers, projectors and background components from the
// configuration, and hands `herald serve` (and the component tests, which
// start the same application) an HTTP configuration and the components of
// each role. Areas wire themselves in their own file (identity.go,
// resources.go, sending.go, reports.go, web.go for the pages).
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/saga"
	"github.com/heraldmail/herald/web"
)

// Roles of `herald serve --roles`.
const (
	RoleAPI       = "api"
	RoleProjector = "projector"
	RoleScheduler = "scheduler"
	RoleSender    = "sender"
)

// Deps are what the application is built from.
type Deps struct {
	Config   config.Config
	Log      zerolog.Logger
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Registry *prometheus.Registry
	// Now is the clock; nil means time.Now. Tests inject their own.
	Now func() time.Time
}

// Component is background work of one role.
type Component struct {
	Name string
	Role string // "" runs in every process (the relay, which elects itself; the bus trimmer, idempotent)
	Run  func(ctx context.Context) error
}

// App is the built application.
type App struct {
	Deps
	Store *eventstore.Store
	Bus   bus.Config
	// Commands wraps every command handler: one log line and metrics per
	// command.
	Commands   *commands.Decorator
	Publisher  message.Publisher
	Projectors []projections.Projector
	// eventHandlers are the projectors that run in a runtime of their own
	// (the scheduler's), watched for lag like the read models' projectors.
	eventHandlers []projections.Projector
	Waiter        *projections.Waiter
	// Areas are the API's handlers, each set by its area's wiring.
	Areas api.Areas
	Pages *web.Handler // the web interface; nil when not wired
	// resources are the clients', messages' and mailings' command
	// handlers, the clients' importer, the runs' dispatcher and the
	// resource queries both front doors call.
	resources struct {
		clients      *commands.DecoratedClients
		clientImport *commands.DecoratedClientImport
		messages     *commands.DecoratedMessages
		mailings     *commands.DecoratedMailings
		runs         *commands.DecoratedRuns
		queries      *projections.ResourceQueries
		optOuts      *commands.DecoratedOptOuts
	}
	// UnsubscribeLinks builds the unsubscribe links of an owner's client
	// (nil without UNSUBSCRIBE_SECRET).
	UnsubscribeLinks interface {
		Links(owner, client uuid.UUID) domain.UnsubscribeLinks
	}
	Auth       api.Authenticator
	Checkers   []api.Checker
	Components []Component
	closers    []func() error

	// userQueries and reportQueries read the users and reports read models
	// for the identity service and the reports door, and for the pages.
	userQueries   *projections.UserQueries
	reportQueries *projections.ReportQueries
}

// New builds the application; Close releases what it opened.
func New(d Deps) (*App, error) {
	if d.Pool == nil || d.Redis == nil {
		return nil, errors.New("app: needs a PostgreSQL pool and a Redis client")
	}
	if d.Now == nil {
		d.Now = time.Now
		if off := d.Config.ClockOffset; off != 0 {
			d.Log.Warn().Dur("clock_offset", off).Msg("CLOCK_OFFSET is set: this process's clock is off by it")
			d.Now = func() time.Time { return time.Now().Add(off) }
		}
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	for _, c := range append(append(eventstore.Collectors(), projections.Collectors()...), commands.Collectors()...) {
		if err := d.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("app: metrics: %w", err)
		}
	}
	store, err := eventstore.New(d.Pool)
	if err != nil {
		return nil, err
	}
	a := &App{Deps: d, Store: store, Commands: commands.NewDecorator(d.Log), Bus: bus.Config{
		Client: d.Redis, Prefix: d.Config.BusTopicPrefix, MaxLen: d.Config.BusMaxLen, Logger: d.Log,
	}}
	if a.Publisher, err = bus.NewPublisher(a.Bus); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Publisher.Close)
	a.Checkers = readinessCheckers(d.Pool, d.Redis)
	for _, wire := range []func(*App) error{wireIdentity, wireOptOuts, wireResources, wireSending, wireReports} {
		if err := wire(a); err != nil {
			a.Close()
			return nil, err
		}
	}
	// The pages wait for the same read models as the API, through the same
	// waiter, so they are wired once every projector is known.
	a.Waiter = projections.NewWaiter(d.Pool, a.Bus.Prefix, a.Projectors...)
	if err := wireWeb(a); err != nil {
		a.Close()
		return nil, err
	}

	// Gauges read from PostgreSQL on each scrape: the same from every
	// process, whichever runs the part they watch.
	for _, c := range []prometheus.Collector{
		projections.NewLag(d.Pool, d.Log, append(append([]projections.Projector{}, a.Projectors...), a.eventHandlers...)...),
		eventstore.NewRelayLag(d.Pool, a.Bus.Prefix, d.Log),
		projections.NewRuns(d.Pool, d.Log),
		saga.NewNextFire(d.Pool, d.Log),
	} {
		if err := d.Registry.Register(c); err != nil {
			a.Close()
			return nil, fmt.Errorf("app: metrics: %w", err)
		}
	}

	relay, err := eventstore.NewRelay(store, a.Publisher, a.Bus, d.Log)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Components = append(a.Components, Component{Name: "relay", Run: relay.Run},
		Component{Name: "bus-trim", Run: func(ctx context.Context) error { return bus.RunTrimmer(ctx, a.Bus, busTrimInterval) }})
	if len(a.Projectors) > 0 {
		rt, err := projections.NewRuntime(d.Pool, a.Bus, d.Log, a.Projectors...)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.Components = append(a.Components, Component{Name: "projections", Role: RoleProjector, Run: rt.Run})
	}
	return a, nil
}

// busTrimInterval is how often the streams are trimmed to what consumers
// still need: Redis holds at most this long's worth of consumed messages.
const busTrimInterval = 10 * time.Second

// HTTPConfig is the API's configuration.
func (a *App) HTTPConfig() api.Config {
	return api.Config{
		Logger:        a.Log,
		Registry:      a.Registry,
		Checkers:      a.Checkers,
		Authenticator: a.Auth,
		Waiter:        a.Waiter,
		Areas:         a.Areas,
		Pages:         a.pages(),
	}
}

// pages is the web interface as the router takes it: a nil *web.Handler
// must become a nil interface.
func (a *App) pages() interface{ Mount(chi.Router) } {
	if a.Pages == nil {
		return nil
	}
	return a.Pages
}

// ComponentsFor returns the background components of the given roles.
func (a *App) ComponentsFor(roles map[string]bool) []Component {
	var out []Component
	for _, c := range a.Components {
		if c.Role == "" || roles[c.Role] {
			out = append(out, c)
		}
	}
	return out
}

// Projector returns the projector named name.
func (a *App) Projector(name string) (projections.Projector, error) {
	for _, p := range a.Projectors {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no projection named %q", name)
}

// Close releases what New opened (not the pool or the Redis client).
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
	a.closers = nil
}
