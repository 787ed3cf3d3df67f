package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/migrations"
	"github.com/heraldmail/herald/projections"
)

// names collects a repeatable string flag.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }
func (*names) repeatable()          {}

var rebuildCommand = command{
	name:    "rebuild-projections",
	summary: "rebuild read models from the event store, swapped in atomically",
	about: "Each projection is replayed into fresh tables which replace the live ones in one transaction\n" +
		"once caught up. The API keeps answering from the old tables meanwhile; safe to run while\n" +
		"`herald serve` runs. A second rebuild of the same projection at the same time is refused\n" +
		"(exit status 4). Default: every projection, in one pass over the store. Reports one line per\n" +
		"projection, or with --json one JSON object per line; progress goes to stderr (a bar on a\n" +
		"terminal, a log line every few seconds otherwise). Needs DATABASE_URL.",
	define: func(fs *flag.FlagSet) action {
		var o rebuildOptions
		fs.Var(&o.only, "projection", "rebuild only `NAME` (repeatable; see --list)")
		fs.BoolVar(&o.list, "list", false, "list the projections and their tables, and exit")
		fs.IntVar(&o.batch, "batch", 20000, "`N` events read and applied per transaction")
		fs.IntVar(&o.nice, "nice", 10, "run at CPU niceness `N` (0-19; 0 leaves the priority alone), so `herald serve` on the same machine gets the CPU first")
		fs.BoolVar(&o.json, "json", false, "print one JSON object per projection instead of a line")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected argument %q", args[0])
			}
			if o.batch < 1 {
				return usageErrorf("--batch must be at least 1")
			}
			if o.nice < 0 || o.nice > 19 {
				return usageErrorf("--nice must be between 0 and 19")
			}
			return runRebuild(ctx, c, o)
		}
	},
}

type rebuildOptions struct {
	only        names
	list, json  bool
	batch, nice int
}

// rebuildReport is one projection's line of rebuild-projections --json (and
// --list --json, with its tables alone).
type rebuildReport struct {
	Projection string   `json:"projection"`
	Tables     []string `json:"tables,omitempty"`
	Events     int64    `json:"events"`  // events read from the store
	Applied    int64    `json:"applied"` // events the projection handled
	ElapsedMS  float64  `json:"elapsed_ms"`
	Rate       float64  `json:"events_per_s"`
	Swaps      int      `json:"swaps"` // swap attempts (more than 1: it waited for readers)
}

// runRebuild: herald rebuild-projections [--projection NAME]... [--list] [--batch N] [--nice N] [--json].
// Needs DATABASE_URL; safe while `herald serve` runs.
func runRebuild(ctx context.Context, c *cli, o rebuildOptions) error {
	cfg, log, err := c.setup(config.NeedDatabase)
	if err != nil {
		return err
	}
	if err := lowerPriority(o.nice); err != nil {
		log.Warn().Err(err).Msg("rebuild runs at normal priority")
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	// The rebuild never talks to Redis; the application only needs a client
	// to wire its areas, and builds the list of projectors.
	var rdb *redis.Client
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		rdb = redis.NewClient(opts)
	} else {
		rdb = redis.NewClient(&redis.Options{})
	}
	defer rdb.Close()
	built, err := app.New(app.Deps{Config: cfg, Log: zerolog.Nop(), Pool: pool, Redis: rdb, Registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	defer built.Close()
	all := built.Projectors
	if o.list {
		for _, p := range all {
			if o.json {
				if err := writeJSONLine(c.out, rebuildReport{Projection: p.Name(), Tables: p.Tables()}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(c.out, "%-20s tables: %s\n", p.Name(), strings.Join(p.Tables(), ", "))
		}
		return nil
	}
	var chosen []projections.Projector
	for _, name := range o.only {
		p, err := built.Projector(name)
		if err != nil {
			var known []string
			for _, p := range all {
				known = append(known, p.Name())
			}
			return usageErrorf("%v (known: %s)", err, strings.Join(known, ", "))
		}
		chosen = append(chosen, p)
	}
	if len(o.only) == 0 {
		chosen = all
	}
	pending, err := migrations.Pending(ctx, pool)
	if err != nil {
		return err
	}
	if pending > 0 {
		return pendingMigrations(pending)
	}
	var label []string
	for _, p := range chosen {
		label = append(label, p.Name())
	}
	// One pass over the store feeds every chosen projection; each is
	// swapped in as soon as it has caught up.
	show := newProgress(strings.Join(label, ","), isTerminal(c.errOut), c.errOut, log)
	results, err := projections.RebuildAll(ctx, pool, chosen, projections.RebuildOptions{
		BatchSize: o.batch, Progress: show.update, Log: log,
	})
	show.finish()
	// The report is the record of what was rebuilt: no log line repeats it.
	for _, res := range results {
		if o.json {
			err = errors.Join(err, writeJSONLine(c.out, rebuildReport{Projection: res.Projector, Events: res.Events, Applied: res.Applied,
				ElapsedMS: float64(res.Elapsed.Microseconds()) / 1000, Rate: res.Rate(), Swaps: res.Swaps}))
			continue
		}
		fmt.Fprintln(c.out, rebuildLine(res))
	}
	if errors.Is(err, projections.ErrRebuildRunning) {
		return fmt.Errorf("%w; try again when the other rebuild is done", err)
	}
	return err
}

// rebuildLine is one projection's human line, the same on a terminal and
// through a pipe so a script can grep it: its name, the events it applied
// out of those read, the time taken and the rate.
func rebuildLine(res projections.RebuildResult) string {
	return fmt.Sprintf("rebuilt %s: %d events in %s (%.0f events/s), %d applied", res.Projector, res.Events,
		res.Elapsed.Round(time.Millisecond), res.Rate(), res.Applied)
}

// progress shows a rebuild's progress: a bar on a terminal, a log line every
// few seconds otherwise (CI, files).
type progress struct {
	name string
	tty  bool
	w    io.Writer
	bar  *progressbar.ProgressBar
	log  zerolog.Logger
	last time.Time
	// phase is the last phase logged: a new phase is logged at once,
	// the same one every few seconds.
	phase string
}

func newProgress(name string, tty bool, w io.Writer, log zerolog.Logger) *progress {
	return &progress{name: name, tty: tty, w: w, log: log, last: time.Now()}
}

func (p *progress) update(s projections.RebuildProgress) {
	if p.tty && p.bar == nil {
		p.bar = progressbar.NewOptions64(s.Total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("rebuild "+p.name),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
	}
	if p.bar != nil {
		if p.bar.GetMax64() != s.Total {
			p.bar.ChangeMax64(s.Total)
		}
		if s.Phase == "swap" {
			p.bar.Describe("rebuild " + p.name + " (swapping in)")
		}
		_ = p.bar.Set64(s.Done)
		return
	}
	// A projection done is the report's line on stdout, not a log line:
	// the log says how the pass goes, never what was rebuilt.
	if s.Phase == "done" || (s.Phase == p.phase && time.Since(p.last) < 2*time.Second) {
		return
	}
	p.last, p.phase = time.Now(), s.Phase
	rate := float64(s.Done) / max(s.Elapsed.Seconds(), 1e-9)
	ev := p.log.Info().Str("projector", s.Projector).Str("phase", s.Phase).Int64("done", s.Done).
		Int64("total", s.Total).Float64("events_per_s", rate)
	if rate > 0 && s.Total > s.Done {
		ev = ev.Dur("eta", time.Duration(float64(s.Total-s.Done)/rate*float64(time.Second)).Round(time.Second))
	}
	ev.Msg("rebuild progress")
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Exit()
		fmt.Fprintln(p.w)
	}
}

var (
	_ flag.Value = (*names)(nil)
	_ flag.Value = (*idList)(nil)
)
