package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
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
			"its time, actor (\"system\" for the scheduler and the senders), the request it came from\n"+
			"(its X-Request-ID; a scheduled run's own id), what caused it (\"-\" for a person's own\n"+
			"command) and what it changed, then a summary of the mailing's runs. --at rebuilds\n"+
			"the mailing as it stood at the end of TIME (RFC 3339, or \"2006-01-02 15:04[:05[.000]]\" in\n"+
			"UTC; a time to the second covers that second) by replaying its events. --json prints the\n"+
			"document GET /api/v1/mailings/{id}/history answers.")
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

// parseTime reads RFC 3339, or a UTC date and time without a zone, and
// returns the last instant the text names: "09:00:05" covers that whole
// second and "09:00:05.120" that millisecond, so a time copied from the
// timeline (which shows milliseconds) includes the events shown at it.
func parseTime(s string) (time.Time, error) {
	layouts := []struct {
		layout string
		span   time.Duration
	}{
		{"2006-01-02 15:04", time.Minute}, {"2006-01-02T15:04", time.Minute}, {"2006-01-02", 24 * time.Hour},
	}
	// With seconds (and perhaps a fraction): RFC 3339, or as the timeline
	// shows times, with or without a zone.
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.Add(fractionSpan(s) - time.Nanosecond), nil
		}
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l.layout, s, time.UTC); err == nil {
			return t.Add(l.span - time.Nanosecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (use RFC 3339, such as 2026-11-25T09:00:00Z)", s)
}

// fractionSpan is the unit of the last digit of the seconds in s: 1s
// without a fraction, 1ms for ".123".
func fractionSpan(s string) time.Duration {
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return time.Second
	}
	n := 0
	for _, c := range s[dot+1:] {
		if c < '0' || c > '9' {
			break
		}
		n++
	}
	span := time.Second
	for range n {
		span /= 10
	}
	return max(span, time.Nanosecond)
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
	causes, err := history.Causes(ctx, pool, doc)
	if err != nil {
		return err
	}
	return history.Render(out, doc, emails, causes)
}
