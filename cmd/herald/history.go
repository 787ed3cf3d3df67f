package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/history"
)

var historyCommand = command{
	name:    "history",
	args:    "MAILING_ID",
	summary: "replay one mailing's audit trail from the event store",
	about: "Every event, oldest first, with its time, actor (\"system\" for the scheduler and the senders),\n" +
		"the request it came from (its X-Request-ID; a scheduled run's own id), what caused it (\"-\" for a\n" +
		"person's own command) and what it changed, then a summary of the mailing's runs. --at rebuilds\n" +
		"the mailing as it stood at the end of TIME (RFC 3339, or \"2006-01-02 15:04[:05[.000]]\" in UTC;\n" +
		"a time to the second covers that second) by replaying its events. --json prints the document\n" +
		"GET /api/v1/mailings/{id}/history answers. Needs DATABASE_URL; an unknown mailing exits 3.",
	define: func(fs *flag.FlagSet) action {
		at := fs.String("at", "", "show the mailing's state as it stood at `TIME`")
		asJSON := fs.Bool("json", false, "print the JSON document instead of the timeline")
		deliveries := fs.Bool("deliveries", false, "with --json, add the first page of delivery attempts")
		limit := fs.Int("limit", 100, "delivery attempts per page with --deliveries, `N` from 1 to 500")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name exactly one mailing id")
			}
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("%q is not a mailing id (a UUID)", args[0])
			}
			if *limit < 1 || *limit > 500 {
				return usageErrorf("--limit must be from 1 to 500")
			}
			o := history.Options{Deliveries: *deliveries, Limit: *limit}
			if *at != "" {
				t, err := parseTime(*at)
				if err != nil {
					return usageErrorf("--at: %v", err)
				}
				o.At = &t
			}
			return runHistory(ctx, c, id, o, *asJSON)
		}
	},
}

// runHistory: herald history MAILING_ID [--at TIME] [--json] [--deliveries [--limit N]].
// Reads the event store directly (DATABASE_URL).
func runHistory(ctx context.Context, c *cli, id uuid.UUID, o history.Options, asJSON bool) error {
	cfg, _, err := c.setup(config.NeedDatabase)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	return printHistory(ctx, pool, id, o, asJSON, c.out)
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
		return writeJSON(out, doc)
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
