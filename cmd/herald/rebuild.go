package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/migrations"
	"github.com/heraldmail/herald/projections"
)

// names collects a repeatable string flag.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

// runRebuild: herald rebuild-projections [--projection NAME]... [--list] [--batch N] [--nice N].
// Needs DATABASE_URL; safe while `herald serve` runs.
func runRebuild(ctx context.Context, args []string) error {
	return rebuildProjections(ctx, args, os.Stdout, os.Stderr)
}

// rebuildProjections is runRebuild writing its summary to stdout and the
// progress bar to stderr (when stderr is a terminal).
func rebuildProjections(ctx context.Context, args []string, stdout io.Writer, stderr *os.File) error {
	fs := newFlags("rebuild-projections", "rebuild-projections [--projection NAME]... [--list] [--batch N] [--nice N]",
		"Rebuilds read models from the event store: each projection is replayed into fresh tables\n"+
			"which replace the live ones in one transaction once caught up. The API keeps answering\n"+
			"from the old tables meanwhile; safe to run while `herald serve` runs. A second rebuild of\n"+
			"the same projection at the same time is refused. Default: every projection, one by one.")
	var only names
	fs.Var(&only, "projection", "rebuild only `NAME` (repeatable; see --list)")
	list := fs.Bool("list", false, "list the projections and exit")
	batch := fs.Int("batch", 20000, "events read and applied per transaction")
	nice := fs.Int("nice", 10, "run at CPU niceness `N` (0-19; 0 leaves the priority alone), so `herald serve` on the same machine gets the CPU first")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(fs, "unexpected argument %q", fs.Arg(0))
	}
	if *batch < 1 {
		return usageErrorf(fs, "--batch must be at least 1")
	}
	if *nice < 0 || *nice > 19 {
		return usageErrorf(fs, "--nice must be between 0 and 19")
	}
	cfg, log, err := setup(config.NeedDatabase)
	if err != nil {
		return err
	}
	if err := lowerPriority(*nice); err != nil {
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
	if *list {
		for _, p := range all {
			fmt.Fprintf(stdout, "%-20s tables: %s\n", p.Name(), strings.Join(p.Tables(), ", "))
		}
		return nil
	}
	var chosen []projections.Projector
	for _, name := range only {
		p, err := built.Projector(name)
		if err != nil {
			var known []string
			for _, p := range all {
				known = append(known, p.Name())
			}
			return usageErrorf(fs, "%v (known: %s)", err, strings.Join(known, ", "))
		}
		chosen = append(chosen, p)
	}
	if len(only) == 0 {
		chosen = all
	}
	pending, err := migrations.Pending(ctx, pool)
	if err != nil {
		return err
	}
	if pending > 0 {
		return fmt.Errorf("%d database migrations are pending; run `herald migrate up` first", pending)
	}
	tty := term.IsTerminal(int(stderr.Fd()))
	var label []string
	for _, p := range chosen {
		label = append(label, p.Name())
	}
	// One pass over the store feeds every chosen projection; each is
	// swapped in as soon as it has caught up.
	show := newProgress(strings.Join(label, ","), tty, stderr, log)
	results, err := projections.RebuildAll(ctx, pool, chosen, projections.RebuildOptions{
		BatchSize: *batch, Progress: show.update, Log: log,
	})
	show.finish()
	for _, res := range results {
		fmt.Fprintf(stdout, "rebuilt %s: %d events in %s (%.0f events/s)\n", res.Projector, res.Events,
			res.Elapsed.Round(time.Millisecond), res.Rate())
		log.Info().Str("projector", res.Projector).Int64("events", res.Events).Int64("applied", res.Applied).
			Dur("elapsed", res.Elapsed).Float64("events_per_s", res.Rate()).Int("swaps", res.Swaps).Msg("projection rebuilt")
	}
	if errors.Is(err, projections.ErrRebuildRunning) {
		return fmt.Errorf("%w; try again when the other rebuild is done", err)
	}
	return err
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
	if time.Since(p.last) < 2*time.Second && s.Phase == "copy" {
		return
	}
	p.last = time.Now()
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

var _ flag.Value = (*names)(nil)
