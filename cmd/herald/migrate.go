package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/migrations"
)

var migrateCommand = command{
	name:    "migrate",
	args:    "[up|down|status]",
	summary: "apply, roll back or list database migrations",
	about: "up (the default) applies every pending migration; down rolls back the last applied one;\n" +
		"status lists each migration and whether it is applied. The migrations are embedded in the\n" +
		"binary. Only DATABASE_URL is needed.",
	define: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print one JSON document: the migrations applied, rolled back or listed")
		return func(ctx context.Context, c *cli, args []string) error {
			action := "up"
			switch len(args) {
			case 0:
			case 1:
				action = args[0]
			default:
				return usageErrorf("one action at most, got %q", args)
			}
			if action != "up" && action != "down" && action != "status" {
				return usageErrorf("unknown action %q (up, down or status)", action)
			}
			return runMigrate(ctx, c, action, *asJSON)
		}
	},
}

// migration is one line of migrate's report.
type migration struct {
	Version   int64      `json:"version"`
	File      string     `json:"file"`
	State     string     `json:"state"`                 // applied or pending
	AppliedAt *time.Time `json:"applied_at,omitempty"`  // status: when it was applied
	Duration  float64    `json:"duration_ms,omitempty"` // up, down: how long it took
}

// migrateReport is migrate's --json document.
type migrateReport struct {
	Action     string      `json:"action"`
	Migrations []migration `json:"migrations"` // applied by up, rolled back by down, or all (status)
	Applied    int         `json:"applied"`    // applied migrations in the database afterwards
	Pending    int         `json:"pending"`
}

// runMigrate: herald migrate [up|down|status] [--json].
func runMigrate(ctx context.Context, c *cli, action string, asJSON bool) error {
	cfg, _, err := c.setup(config.NeedDatabase)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	p, closeDB, err := migrations.Provider(pool)
	if err != nil {
		return err
	}
	defer closeDB() //nolint:errcheck

	rep := migrateReport{Action: action, Migrations: []migration{}}
	ran := func(r *goose.MigrationResult, state string) {
		rep.Migrations = append(rep.Migrations, migration{Version: r.Source.Version, File: r.Source.Path, State: state,
			Duration: float64(r.Duration.Microseconds()) / 1000})
	}
	var runErr error
	switch action {
	case "up":
		results, err := p.Up(ctx)
		for _, r := range results {
			if r.Error == nil {
				ran(r, "applied")
			}
		}
		if err != nil {
			runErr = fmt.Errorf("up: %w", err)
		}
	case "down":
		r, err := p.Down(ctx)
		switch {
		case errors.Is(err, goose.ErrNoNextVersion):
		case err != nil:
			runErr = fmt.Errorf("down: %w", err)
		default:
			ran(r, "pending")
		}
	}
	st, err := p.Status(ctx)
	if err != nil {
		return errors.Join(runErr, fmt.Errorf("status: %w", err))
	}
	for _, s := range st {
		if s.State != goose.StateApplied {
			rep.Pending++
			if action == "status" {
				rep.Migrations = append(rep.Migrations, migration{Version: s.Source.Version, File: s.Source.Path, State: "pending"})
			}
			continue
		}
		rep.Applied++
		if action == "status" {
			at := s.AppliedAt.UTC()
			rep.Migrations = append(rep.Migrations, migration{Version: s.Source.Version, File: s.Source.Path, State: "applied", AppliedAt: &at})
		}
	}
	if asJSON {
		return errors.Join(runErr, writeJSON(c.out, rep))
	}
	return errors.Join(runErr, printMigrate(c.out, rep))
}

// printMigrate writes migrate's report for people.
func printMigrate(out io.Writer, rep migrateReport) error {
	switch rep.Action {
	case "up":
		for _, m := range rep.Migrations {
			fmt.Fprintf(out, "applied  %s (%s)\n", m.File, time.Duration(m.Duration*1e6).Round(time.Millisecond))
		}
		if len(rep.Migrations) == 0 {
			fmt.Fprintln(out, "no pending migrations")
		}
	case "down":
		for _, m := range rep.Migrations {
			fmt.Fprintf(out, "rolled back %s (%s)\n", m.File, time.Duration(m.Duration*1e6).Round(time.Millisecond))
		}
		if len(rep.Migrations) == 0 {
			fmt.Fprintln(out, "no migration to roll back")
		}
	case "status":
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
		for _, m := range rep.Migrations {
			at := "-"
			if m.AppliedAt != nil {
				at = m.AppliedAt.Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(tw, "%05d\t%s\t%s\t%s\n", m.Version, m.State, at, m.File)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(out, "%d applied, %d pending\n", rep.Applied, rep.Pending)
	}
	return nil
}
