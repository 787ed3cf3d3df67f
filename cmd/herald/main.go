// Command herald is Herald's one binary: the server (`herald serve`) and the
// operator's tools (migrate, ccsu, create-groups, send, rebuild-projections,
// history, smtp-sink, dkim-keygen, config, version). It owns the command
// line: flags, help, exit statuses, the configuration and logger each
// sub-command needs, and signals. `serve` runs what the composition root
// (internal/app) builds; each tool wires the few parts it uses. Run `herald
// help`.
//
// Every command reports on stdout (text lines, or one JSON document with
// --json where a script reads the result) and writes usage, errors and its
// log on stderr. The log of `serve` and `smtp-sink`, long-running servers,
// follows LOG_FORMAT; the one-shot tools log a human console format at
// warn level on a terminal (their report already says what happened) and
// JSON lines at LOG_LEVEL otherwise.
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

// Exit statuses. Scripts rely on them: the README's command-line section
// lists them, and `herald help` ends with them.
const (
	exitOK       = 0 // done; also -h and `herald help`
	exitFailure  = 1 // failed (configuration, a connection, anything unexpected); one line on stderr
	exitUsage    = 2 // a command-line mistake (unknown command or flag, bad argument); usage on stderr
	exitNotFound = 3 // a mailing or run named on the command line does not exist
	exitRefused  = 4 // understood, but refused as things stand: retrying the same command will not help until they change
)

// command is one sub-command: its lines in `herald help`, its flags and what
// it runs once they are parsed.
type command struct {
	name    string
	args    string // positional arguments as the synopsis shows them: "MAILING_ID", "[up|down|status]"
	summary string // its line in `herald help`
	about   string // the explanation `herald COMMAND -h` prints under the synopsis
	// server marks a long-running process whose log is its output: it
	// follows LOG_FORMAT and LOG_LEVEL as they are.
	server bool
	// define declares the command's flags on fs and returns what runs once
	// they are parsed; no work happens before that.
	define func(fs *flag.FlagSet) action
}

// action runs a command with its positional arguments (flags may come
// before, between or after them).
type action func(ctx context.Context, c *cli, args []string) error

// commands lists the sub-commands in the order `herald help` shows them;
// each one's definition lives in a file of its own (serve.go, migrate.go,
// ccsu.go…).
var commands = []command{
	serveCommand,
	migrateCommand,
	ccsuCommand,
	createGroupsCommand,
	sendCommand,
	rebuildCommand,
	historyCommand,
	smtpSinkCommand,
	dkimKeygenCommand,
	configCommand,
	versionCommand,
}

// cli is one invocation's streams: the command's report on out; usage,
// errors, progress and the log on errOut.
type cli struct {
	out    io.Writer
	errOut io.Writer
	server bool // the running command is a long-running server (command.server)
}

// usageError is a command-line mistake the flag package cannot see (a wrong
// argument): runCommand prints it with the synopsis on stderr, exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usageErrorf returns a usageError.
func usageErrorf(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

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

// run dispatches args and returns the process exit status (exitOK...).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if err := config.LoadDotEnv(".env"); err != nil {
		fmt.Fprintln(stderr, "herald:", oneLine(err))
		return exitFailure
	}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return exitOK
		}
		if len(rest) > 1 {
			fmt.Fprintf(stderr, "herald help: one command at most, got %q\n\n", rest)
			usage(stderr)
			return exitUsage
		}
		if rest[0] == "help" {
			usage(stdout)
			return exitOK
		}
		name, rest = rest[0], []string{"-h"} // herald help serve == herald serve -h
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "herald: unknown command %q\n\n", name)
		usage(stderr)
		return exitUsage
	}
	return runCommand(ctx, cmd, rest, &cli{out: stdout, errOut: stderr, server: cmd.server})
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// runCommand parses args for cmd, runs it and maps the outcome to an exit
// status: the usage on stdout after -h, on stderr after a mistake; one line
// on stderr after a failure.
func runCommand(ctx context.Context, cmd command, args []string, c *cli) int {
	fs, act := flagSet(cmd)
	var flagErr strings.Builder
	fs.SetOutput(&flagErr) // the flag package's own report of a bad flag
	positional, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		commandUsage(c.out, cmd, fs)
		return exitOK
	case err != nil:
		msg := strings.TrimSpace(flagErr.String())
		if msg == "" {
			msg = err.Error()
		}
		err = &usageError{msg: msg}
	default:
		err = act(ctx, c, positional)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.errOut, "herald %s: %s\n", cmd.name, ue.msg)
		shortUsage(c.errOut, cmd, fs)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(c.errOut, "herald %s: %s\n", cmd.name, oneLine(err))
	}
	return exitCode(err)
}

// flagSet builds cmd's FlagSet. Its Usage does nothing: runCommand prints
// the usage itself, on stdout or stderr.
func flagSet(cmd command) (*flag.FlagSet, action) {
	fs := flag.NewFlagSet("herald "+cmd.name, flag.ContinueOnError)
	fs.Usage = func() {}
	return fs, cmd.define(fs)
}

// parseArgs parses flags anywhere among the positional arguments (the flag
// package alone stops at the first argument) and returns the positional
// ones; "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// exitCode maps a command's error to its exit status. Several errors joined
// (send goes on after a failed mailing) share a status when they agree, and
// are a failure otherwise.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		code := -1
		for _, e := range joined.Unwrap() {
			switch c := exitCode(e); {
			case c == exitOK:
			case code == -1:
				code = c
			case code != c:
				return exitFailure
			}
		}
		if code == -1 {
			return exitOK
		}
		return code
	}
	switch {
	case isNotFound(err):
		return exitNotFound
	case isRefused(err):
		return exitRefused
	}
	return exitFailure
}

// oneLine keeps the final error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// setup is how every sub-command starts: the configuration it needs and the
// logger on stderr. A server logs in LOG_FORMAT at LOG_LEVEL. A tool logs
// JSON lines at LOG_LEVEL when stderr is not a terminal (CI, cron, a file);
// on a terminal it logs the console format at warn (debug and trace stay),
// as its report on stdout already tells a person what happened.
func (c *cli) setup(needs ...config.Need) (config.Config, zerolog.Logger, error) {
	cfg, err := config.Load(needs...)
	if err != nil {
		return cfg, zerolog.Nop(), err
	}
	level, format := toolLog(c.server, isTerminal(c.errOut), cfg.LogLevel, cfg.LogFormat)
	log, err := logging.New(c.errOut, level, format)
	if err != nil {
		return cfg, zerolog.Nop(), err
	}
	return cfg, log, nil
}

// toolLog is the log level and format of a command (see setup).
func toolLog(server, terminal bool, level, format string) (string, string) {
	switch {
	case server:
		return level, format
	case !terminal:
		return level, "json"
	case level == "debug" || level == "trace":
		return level, "console"
	}
	return "warn", "console"
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
