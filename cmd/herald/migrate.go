package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/pressly/goose/v3"

	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/migrations"
)

// runMigrate: herald migrate [up|down|status]. Only DATABASE_URL is needed.
func runMigrate(ctx context.Context, args []string) error {
	fs := newFlags("migrate", "migrate [up|down|status]",
		"up (the default) applies every pending migration; down rolls back the last applied one;\n"+
			"status lists each migration and whether it is applied. The migrations are embedded in the binary.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	action := "up"
	switch fs.NArg() {
	case 0:
	case 1:
		action = fs.Arg(0)
	default:
		return usageErrorf(fs, "one action at most, got %q", fs.Args())
	}
	if action != "up" && action != "down" && action != "status" {
		return usageErrorf(fs, "unknown action %q (up, down or status)", action)
	}
	cfg, _, err := setup(config.NeedDatabase)
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

	switch action {
	case "up":
		results, err := p.Up(ctx)
		for _, r := range results {
			fmt.Printf("applied  %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
		}
		if err != nil {
			return fmt.Errorf("up: %w", err)
		}
		if len(results) == 0 {
			fmt.Println("no pending migrations")
		}
	case "down":
		r, err := p.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			fmt.Println("no migration to roll back")
			return nil
		}
		if err != nil {
			return fmt.Errorf("down: %w", err)
		}
		fmt.Printf("rolled back %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
	case "status":
		st, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("status: %w", err)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
		pending := 0
		for _, s := range st {
			at := "-"
			if s.State == goose.StateApplied {
				at = s.AppliedAt.UTC().Format("2006-01-02T15:04:05Z")
			} else {
				pending++
			}
			fmt.Fprintf(tw, "%05d\t%s\t%s\t%s\n", s.Source.Version, s.State, at, s.Source.Path)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Printf("%d applied, %d pending\n", len(st)-pending, pending)
	}
	return nil
}
