package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/memlimit"
	"github.com/heraldmail/herald/migrations"
)

// Roles of `herald serve --roles`. Several processes with different roles
// may run side by side against the same PostgreSQL and Redis.
const (
	roleAPI       = app.RoleAPI       // the HTTP server
	roleProjector = app.RoleProjector // read models and reports
	roleScheduler = app.RoleScheduler // the mailing saga: due runs → DispatchMailing
	roleSender    = app.RoleSender    // SMTP deliveries
)

var allRoles = []string{roleAPI, roleProjector, roleScheduler, roleSender}

type roleSet map[string]bool

func (rs roleSet) has(role string) bool { return rs[role] }

func (rs roleSet) String() string {
	var out []string
	for _, r := range allRoles {
		if rs[r] {
			out = append(out, r)
		}
	}
	return strings.Join(out, ",")
}

func parseRoles(s string) (roleSet, error) {
	rs := roleSet{}
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !slices.Contains(allRoles, r) {
			return nil, fmt.Errorf("unknown role %q (roles: %s)", r, strings.Join(allRoles, ","))
		}
		rs[r] = true
	}
	if len(rs) == 0 {
		return nil, errors.New("no role given")
	}
	return rs, nil
}

// needsFor is the configuration each role requires.
func needsFor(rs roleSet) []config.Need {
	needs := []config.Need{config.NeedDatabase, config.NeedRedis}
	if rs.has(roleAPI) {
		needs = append(needs, config.NeedPublicURL) // links in verification and reset emails
	}
	if rs.has(roleAPI) || rs.has(roleSender) {
		needs = append(needs, config.NeedUnsubscribe) // signs the unsubscribe links, checks them
	}
	if rs.has(roleSender) {
		needs = append(needs, config.NeedSMTP)
	}
	return needs
}

// server is what the parts of `herald serve` share.
type server struct {
	cfg   config.Config
	log   zerolog.Logger
	app   *app.App
	roles roleSet
}

var serveCommand = command{
	name:    "serve",
	summary: "run the HTTP API, projectors, scheduler and sender until SIGINT/SIGTERM",
	about: "--roles picks the parts this process runs; several processes with different roles may run\n" +
		"side by side against the same PostgreSQL and Redis. On SIGINT/SIGTERM in-flight HTTP requests\n" +
		"finish (up to SHUTDOWN_TIMEOUT), then background components stop. Refuses to start while\n" +
		"migrations are pending (run `herald migrate up`). Logs in LOG_FORMAT at LOG_LEVEL on stderr.",
	server: true,
	define: func(fs *flag.FlagSet) action {
		rolesFlag := fs.String("roles", strings.Join(allRoles, ","), "comma-separated `ROLES` to run")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments %q", args)
			}
			roles, err := parseRoles(*rolesFlag)
			if err != nil {
				return usageErrorf("--roles: %v", err)
			}
			return runServe(ctx, c, roles)
		}
	},
}

// runServe: herald serve [--roles api,projector,scheduler,sender].
func runServe(ctx context.Context, c *cli, roles roleSet) error {
	cfg, log, err := c.setup(needsFor(roles)...)
	if err != nil {
		return err
	}
	if stop, ok := memlimit.Start(int64(cfg.MemoryTargetMiB) << 20); ok {
		defer stop()
		log.Debug().Int("memory_target_mib", cfg.MemoryTargetMiB).Msg("memory target set (MEMORY_TARGET_MIB)")
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	pending, err := migrations.Pending(ctx, pool)
	if err != nil {
		return err
	}
	if pending > 0 {
		return pendingMigrations(pending)
	}
	redisOpts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	// Not pinged at start: commands work while Redis is down.
	rdb := redis.NewClient(redisOpts)
	defer rdb.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	built, err := app.New(app.Deps{Config: cfg, Log: log, Pool: pool, Redis: rdb, Registry: reg})
	if err != nil {
		return err
	}
	defer built.Close()
	a := &server{cfg: cfg, log: log, app: built, roles: roles}
	return a.serve(ctx)
}

// logSigning says once at start whether outgoing mail is DKIM-signed: an
// unsigned set-up works, but receivers trust its mail less.
func logSigning(log zerolog.Logger, cfg config.Config) {
	switch {
	case cfg.SMTP.Host == "":
	case cfg.DKIM == nil:
		log.Warn().Bool("dkim", false).
			Msg("mail is sent unsigned: set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE (`herald dkim-keygen` makes a key)")
	default:
		log.Info().Bool("dkim", true).Str("dkim_domain", cfg.DKIM.Domain).Str("dkim_selector", cfg.DKIM.Selector).
			Str("dkim_key_type", cfg.DKIM.KeyType()).Msg("mail is DKIM-signed")
	}
}

// serve runs until ctx ends (a signal) or a part fails, then shuts down in
// order: stop accepting HTTP, let in-flight requests finish, then cancel the
// background components and wait for them.
func (a *server) serve(ctx context.Context) error {
	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	// Components outlive the signal until HTTP has drained: a request in
	// flight may still wait on a projector (X-Min-Position).
	compCtx, stopComponents := context.WithCancel(context.WithoutCancel(ctx))
	defer stopComponents()
	g := &group{ctx: compCtx, fail: fail, log: a.log}

	if err := startComponents(compCtx, a, g); err != nil {
		stopComponents()
		g.wait(context.Background())
		return err
	}

	if a.cfg.DebugAddr != "" {
		dbg, err := listenDebug(a.cfg.DebugAddr)
		if err != nil {
			stopComponents()
			g.wait(context.Background())
			return err
		}
		defer dbg.Close()
		a.log.Warn().Str("addr", dbg.Addr()).Msg("profiler listening (DEBUG_ADDR): keep it on loopback")
	}

	var srv *api.Server
	if a.roles.has(roleAPI) {
		var err error
		srv, err = api.Listen(a.cfg.HTTPAddr, api.NewRouter(a.app.HTTPConfig()), a.log)
		if err != nil {
			stopComponents()
			g.wait(context.Background())
			return fmt.Errorf("HTTP_ADDR: %w", err)
		}
		go func() {
			if err := srv.Serve(); err != nil {
				fail(fmt.Errorf("http server: %w", err))
			}
		}()
		a.log.Info().Str("addr", srv.Addr()).Msg("http listening")
	}
	a.log.Info().Str("roles", a.roles.String()).Msg("herald serving")
	logSigning(a.log, a.cfg)

	<-runCtx.Done()
	cause := context.Cause(runCtx)
	signalled := ctx.Err() != nil
	if signalled {
		a.log.Info().Msg("shutting down: signal received")
	} else {
		a.log.Error().Err(cause).Msg("shutting down: a component failed")
	}

	var shutdownErr error
	if srv != nil {
		shCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		if err := srv.Shutdown(shCtx); err != nil {
			shutdownErr = fmt.Errorf("http shutdown: in-flight requests did not finish within SHUTDOWN_TIMEOUT (%s): %w", a.cfg.ShutdownTimeout, err)
			a.log.Error().Err(err).Msg("http shutdown incomplete")
		}
		cancel()
	}
	stopComponents()
	wctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if !g.wait(wctx) {
		err := fmt.Errorf("components did not stop within SHUTDOWN_TIMEOUT (%s): %s", a.cfg.ShutdownTimeout, strings.Join(g.running(), ", "))
		a.log.Error().Err(err).Msg("shutdown incomplete")
		shutdownErr = errors.Join(shutdownErr, err)
	}
	if !signalled {
		return errors.Join(cause, shutdownErr)
	}
	if shutdownErr == nil {
		a.log.Info().Msg("stopped")
	}
	return shutdownErr
}

// startComponents starts the background work of the roles in g (the relay
// runs in every process and elects itself). Each component runs until ctx is
// cancelled (after HTTP has drained) and must then return promptly; an error
// before that stops the whole process.
func startComponents(_ context.Context, a *server, g *group) error {
	for _, c := range a.app.ComponentsFor(a.roles) {
		g.Go(c.Name, c.Run)
	}
	return nil
}

// group runs the background components and remembers which still run.
type group struct {
	ctx  context.Context
	fail context.CancelCauseFunc
	log  zerolog.Logger

	wg   sync.WaitGroup
	mu   sync.Mutex
	live map[string]int
}

// Go runs fn(g.ctx) in a goroutine. An error or a panic before g.ctx ends
// fails the process (graceful shutdown of everything else, exit 1).
func (g *group) Go(name string, fn func(ctx context.Context) error) {
	g.mu.Lock()
	if g.live == nil {
		g.live = map[string]int{}
	}
	g.live[name]++
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			g.mu.Lock()
			if g.live[name]--; g.live[name] == 0 {
				delete(g.live, name)
			}
			g.mu.Unlock()
		}()
		defer func() {
			if v := recover(); v != nil {
				g.log.Error().Str("component", name).Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).Msg("component panicked")
				g.fail(fmt.Errorf("%s: panic: %v", name, v))
			}
		}()
		g.log.Debug().Str("component", name).Msg("component started")
		err := fn(g.ctx)
		stopping := g.ctx.Err() != nil
		switch {
		case err != nil && !(stopping && errors.Is(err, context.Canceled)):
			if stopping {
				g.log.Error().Err(err).Str("component", name).Msg("component failed while stopping")
				return
			}
			g.fail(fmt.Errorf("%s: %w", name, err))
		case !stopping:
			g.log.Warn().Str("component", name).Msg("component returned before shutdown")
		default:
			g.log.Debug().Str("component", name).Msg("component stopped")
		}
	}()
}

// wait waits for every component; false if ctx ended first.
func (g *group) wait(ctx context.Context) bool {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (g *group) running() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.live))
	for n := range g.live {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
