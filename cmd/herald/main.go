// Command herald is Herald's one binary: the server (`herald serve`) and the
// operator's tools (migrate, ccsu, create-groups, send, rebuild-projections,
// history, smtp-sink). It owns the command line: flags, help, exit codes,
// the configuration and logger each sub-command needs, and signals. `serve`
// runs what the composition root (internal/app) builds; each tool wires the
// few parts it uses. Run `herald help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/logging"
)

// command is one sub-command. run parses its own flags from args (build the
// FlagSet with newFlags so -h works the same everywhere).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands lists the sub-commands in the order `herald help` shows them;
// each one's run function lives in a file of its own (serve.go, migrate.go,
// ccsu.go…).
var commands = []command{
	{"serve", "run the HTTP API, projectors, scheduler and sender (--roles to pick)", runServe},
	{"migrate", "apply, roll back or list database migrations: migrate [up|down|status]", runMigrate},
	{"ccsu", "create the superuser (--email, --password-stdin)", runCCSU},
	{"create-groups", "create the groups users and managers with their permissions (idempotent)", runCreateGroups},
	{"send", "dispatch mailings now: send [--mailing ID]... [--run ID]... [--due] [--wait]", runSend},
	{"rebuild-projections", "rebuild read models from the event store: [--projection NAME]...", runRebuild},
	{"history", "replay one mailing's audit trail: history MAILING_ID [--at TIME] [--json]", runHistory},
	{"smtp-sink", "a local SMTP server storing every message as .eml: [--addr] [--dir]", runSMTPSink},
}

// errUsage marks a command-line mistake: exit status 2, usage already shown.
var errUsage = errors.New("usage")

// flagOutput receives usage texts and flag errors (run sets it to its stderr).
var flagOutput io.Writer = os.Stderr

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so a second
		// Ctrl-C kills a shutdown that hangs.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args and returns the process exit status: 0 success (and
// -h), 1 failure (one line on stderr), 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flagOutput = stderr
	if err := config.LoadDotEnv(".env"); err != nil {
		fmt.Fprintln(stderr, "herald:", oneLine(err))
		return 1
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 { // herald help serve == herald serve -h
			name, rest = rest[0], []string{"-h"}
		} else {
			usage(stdout)
			return 0
		}
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(ctx, rest)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(stderr, "herald %s: %s\n", name, oneLine(err))
		return 1
	}
	fmt.Fprintf(stderr, "herald: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: herald <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-20s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`herald <command> -h` shows a command's flags. Configuration comes from the")
	fmt.Fprintln(w, "environment and ./.env (the environment wins); see .env.sample.")
}

// newFlags returns a FlagSet for a sub-command whose -h prints
// "usage: herald <synopsis>", about, and the flags. Parse errors are
// returned (not exits); pass them to usageError.
func newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("herald "+name, flag.ContinueOnError)
	fs.SetOutput(flagOutput)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: herald %s\n", synopsis)
		if about != "" {
			fmt.Fprintf(w, "\n%s\n", about)
		}
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args with fs and maps errors to main's exit statuses:
// flag.ErrHelp (exit 0) after -h, errUsage (exit 2) after a bad flag, which
// the flag package has already reported with the usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}

// usageErrorf reports a command-line mistake the flag package cannot see
// (a wrong argument) and the usage, then returns errUsage.
func usageErrorf(fs *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return errUsage
}

// oneLine keeps the final error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// setup is how every sub-command starts: the configuration it needs and the
// logger (stderr; JSON unless LOG_FORMAT=console).
func setup(needs ...config.Need) (config.Config, zerolog.Logger, error) {
	cfg, err := config.Load(needs...)
	if err != nil {
		return cfg, zerolog.Nop(), err
	}
	log, err := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return cfg, zerolog.Nop(), err
	}
	return cfg, log, nil
}

// openPool connects to DATABASE_URL and checks PostgreSQL answers within 10 s.
func openPool(ctx context.Context, cfg config.Config) (*pgxpool.Pool, error) {
	pool, err := eventstore.OpenPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return pool, nil
}
