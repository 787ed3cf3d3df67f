package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/history"
)

// runHistory: herald history MAILING_ID [--at TIME] [--json] [--deliveries].
// Reads the event store directly (DATABASE_URL); flags may come before or
// after the id.
func runHistory(ctx context.Context, args []string) error {
	fs := newFlags("history", "history MAILING_ID [--at TIME] [--json] [--deliveries [--limit N]]",
		"Replays one mailing's audit trail from the event store: every event, oldest first, with\n"+
			"its time, actor and what it changed, then a summary of the mailing's runs. --at rebuilds\n"+
			"the mailing as it stood at TIME (RFC 3339, or \"2006-01-02 15:04[:05]\" in UTC) by\n"+
			"replaying its events. --json prints the document GET /api/v1/mailings/{id}/history answers.")
	at := fs.String("at", "", "show the mailing's state as it stood at `TIME`")
	asJSON := fs.Bool("json", false, "print the JSON document instead of the timeline")
	deliveries := fs.Bool("deliveries", false, "with --json, add the first page of delivery attempts")
	limit := fs.Int("limit", 100, "delivery attempts per page with --deliveries (1-500)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The flag package stops at the first argument; read flags after the id too.
	var rest []string
	if fs.NArg() > 0 {
		rest = fs.Args()[:1]
		if err := parseFlags(fs, fs.Args()[1:]); err != nil {
			return err
		}
		rest = append(rest, fs.Args()...)
	}
	if len(rest) != 1 {
		return usageErrorf(fs, "name exactly one mailing id")
	}
	id, err := uuid.Parse(rest[0])
	if err != nil {
		return usageErrorf(fs, "%q is not a mailing id (a UUID)", rest[0])
	}
	if *limit < 1 || *limit > 500 {
		return usageErrorf(fs, "--limit must be from 1 to 500")
	}
	o := history.Options{Deliveries: *deliveries, Limit: *limit}
	if *at != "" {
		t, err := parseTime(*at)
		if err != nil {
			return usageErrorf(fs, "--at: %v", err)
		}
		o.At = &t
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
	return printHistory(ctx, pool, id, o, *asJSON, os.Stdout)
}

// parseTime reads RFC 3339, or a UTC date and time without a zone.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (use RFC 3339, such as 2026-11-25T09:00:00Z)", s)
}

// printHistory writes mailing id's audit replay to out: the timeline, or
// with asJSON the endpoint's document.
func printHistory(ctx context.Context, pool *pgxpool.Pool, id uuid.UUID, o history.Options, asJSON bool, out io.Writer) error {
	store, err := eventstore.New(pool)
	if err != nil {
		return err
	}
	r, err := history.NewReader(store)
	if err != nil {
		return err
	}
	doc, err := r.Mailing(ctx, id, o)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	emails, err := history.ActorEmails(ctx, pool, doc)
	if err != nil {
		return err
	}
	return history.Render(out, doc, emails)
}
