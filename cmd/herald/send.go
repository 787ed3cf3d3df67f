package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"

	"github.com/heraldmail/herald/bus"
	cmds "github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/saga"
)

// idList is a repeatable --mailing flag.
type idList []uuid.UUID

func (l *idList) String() string {
	parts := make([]string, len(*l))
	for i, id := range *l {
		parts[i] = id.String()
	}
	return strings.Join(parts, ",")
}

func (l *idList) Set(s string) error {
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a mailing id", s)
	}
	*l = append(*l, id)
	return nil
}

// runSend: herald send [--mailing ID]... [--run ID]... [--due] [--wait].
func runSend(ctx context.Context, args []string) error {
	fs := newFlags("send", "send [--mailing ID]... [--run ID]... [--due] [--wait]",
		"Emits DispatchMailing commands onto the command stream and prints what it dispatched;\n"+
			"the running senders (`herald serve --roles sender`) do the sending, in parallel across\n"+
			"processes. --mailing sends a mailing now (repeatable); --due dispatches every scheduled\n"+
			"run that is due (the same runs the scheduler would fire: never twice); --run hands an\n"+
			"unfinished run to the senders again (it resumes: nobody is mailed twice). --wait follows\n"+
			"the runs to the end with a progress bar and prints their totals; a run whose remaining\n"+
			"deliveries were deferred by the receiving server (4xx) is followed until it waits for\n"+
			"their retries (SEND_RETRY_SCHEDULE), and its line says when they are due.")
	var ids idList
	fs.Var(&ids, "mailing", "id of a mailing to send now (repeatable)")
	var resume idList
	fs.Var(&resume, "run", "id of an unfinished run to hand to the senders again, e.g. after Redis lost its command (repeatable)")
	due := fs.Bool("due", false, "dispatch every mailing whose scheduled run is due")
	wait := fs.Bool("wait", false, "follow the runs until they finish, with a progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(fs, "unexpected arguments %q", fs.Args())
	}
	if len(ids) == 0 && len(resume) == 0 && !*due {
		return usageErrorf(fs, "name a mailing with --mailing or a run with --run, or use --due")
	}
	cfg, log, err := setup(config.NeedDatabase, config.NeedRedis)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	rdb, err := bus.Connect(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	queue, err := saga.NewQueue(bus.Config{Client: rdb, Prefix: cfg.BusTopicPrefix, MaxLen: cfg.BusMaxLen, Logger: log})
	if err != nil {
		return err
	}
	defer queue.Close()
	store, err := eventstore.New(pool)
	if err != nil {
		return err
	}
	runs, err := sendRuns(store, queue, log)
	if err != nil {
		return err
	}
	dispatched, err := dispatchMailings(ctx, pool, runs, ids, *due, os.Stdout)
	if len(resume) > 0 {
		again, rerr := resumeRuns(ctx, pool, runs, resume, os.Stdout)
		dispatched = append(dispatched, again...)
		err = errors.Join(err, rerr)
	}
	if *wait && len(dispatched) > 0 {
		if werr := waitRuns(ctx, pool, dispatched, os.Stdout, os.Stderr, 250*time.Millisecond); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return err
}

// sendRuns is the runs handler of herald send behind the decorator, as
// serve's is: each dispatch logs one "command handled" line and is counted.
func sendRuns(store cmds.EventStore, queue cmds.DispatchQueue, log zerolog.Logger) (*cmds.DecoratedRuns, error) {
	h, err := cmds.NewRuns(store, queue, time.Now)
	if err != nil {
		return nil, err
	}
	return cmds.NewDecorator(log).Runs(h), nil
}

// dispatched is one run `herald send` started.
type dispatched struct {
	mailingID, runID uuid.UUID
}

// dispatcher is what send needs of commands.Runs.
type dispatcher interface {
	Dispatch(ctx context.Context, cmd cmds.DispatchMailing, meta domain.Metadata) (eventstore.Result, uuid.UUID, error)
}

// dispatchMailings dispatches the named mailings now and, with due, every
// scheduled run that is due (with the run id the scheduler would use, so
// the two never send one run twice). It prints one line per run and goes
// on after a failure, which it returns at the end.
func dispatchMailings(ctx context.Context, pool *pgxpool.Pool, runs dispatcher, ids []uuid.UUID, due bool, out io.Writer) ([]dispatched, error) {
	meta := domain.Metadata{CorrelationID: uuid.Must(uuid.NewV7()), Command: "send"}
	var todo []cmds.DispatchMailing
	for _, id := range ids {
		todo = append(todo, cmds.DispatchMailing{MailingID: id, Trigger: domain.TriggerConsole})
	}
	if due {
		rows, err := pool.Query(ctx, `SELECT mailing_id, run_due FROM saga_schedule
WHERE state = 'scheduled' AND active AND due_at <= now() ORDER BY due_at`)
		if err != nil {
			return nil, fmt.Errorf("read due runs: %w", err)
		}
		for rows.Next() {
			var id uuid.UUID
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return nil, err
			}
			todo = append(todo, cmds.DispatchMailing{MailingID: id, RunID: domain.ScheduledRunID(id, at), DueAt: at, Trigger: domain.TriggerConsole})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(ids) == 0 && len(todo) == 0 {
			fmt.Fprintln(out, "no mailing is due")
		}
	}
	var done []dispatched
	var errs []error
	for _, c := range todo {
		_, runID, err := runs.Dispatch(ctx, c, meta)
		if err != nil {
			fmt.Fprintf(out, "mailing %s: not dispatched: %v\n", c.MailingID, err)
			errs = append(errs, fmt.Errorf("mailing %s: %w", c.MailingID, err))
			continue
		}
		p, _ := saga.ReadRunProgress(ctx, pool, runID)
		fmt.Fprintf(out, "dispatched mailing %s: run %s, %d clients\n", c.MailingID, runID, p.Clients)
		done = append(done, dispatched{mailingID: c.MailingID, runID: runID})
	}
	return done, errors.Join(errs...)
}

// resumeRuns dispatches unfinished runs again (same run id: the senders
// resume them and mail nobody twice).
func resumeRuns(ctx context.Context, pool *pgxpool.Pool, runs dispatcher, ids []uuid.UUID, out io.Writer) ([]dispatched, error) {
	meta := domain.Metadata{CorrelationID: uuid.Must(uuid.NewV7()), Command: "send"}
	var done []dispatched
	var errs []error
	for _, runID := range ids {
		var mailingID uuid.UUID
		err := pool.QueryRow(ctx, `SELECT (data->>'mailing_id')::uuid FROM events WHERE stream_id = $1 AND type = 'run.started'`, runID).Scan(&mailingID)
		if err != nil {
			fmt.Fprintf(out, "run %s: no such run\n", runID)
			errs = append(errs, fmt.Errorf("run %s: %w", runID, domain.NotFound("run")))
			continue
		}
		p, err := saga.ReadRunProgress(ctx, pool, runID)
		if err != nil {
			return done, err
		}
		if p.Finished {
			fmt.Fprintf(out, "run %s of mailing %s: already finished (%d sent, %d failed)\n", runID, mailingID, p.Sent, p.Failed)
			continue
		}
		if _, _, err := runs.Dispatch(ctx, cmds.DispatchMailing{MailingID: mailingID, RunID: runID, Trigger: domain.TriggerConsole}, meta); err != nil {
			fmt.Fprintf(out, "run %s: not dispatched: %v\n", runID, err)
			errs = append(errs, fmt.Errorf("run %s: %w", runID, err))
			continue
		}
		fmt.Fprintf(out, "re-dispatched run %s of mailing %s: %d of %d clients done\n", runID, mailingID, p.Done, p.Clients)
		done = append(done, dispatched{mailingID: mailingID, runID: runID})
	}
	return done, errors.Join(errs...)
}

// waitRuns follows the runs until every one finished: a progress bar of
// clients done on progress, then one line of totals per run on out.
func waitRuns(ctx context.Context, pool *pgxpool.Pool, runs []dispatched, out, progress io.Writer, every time.Duration) error {
	watches := make([]*saga.RunWatch, len(runs))
	for i, r := range runs {
		watches[i] = saga.NewRunWatch(r.runID)
	}
	read := func() (total, doneN int64, finished bool, ps []saga.RunProgress, err error) {
		finished = true
		for i := range runs {
			p, err := watches[i].Read(ctx, pool)
			if err != nil {
				return 0, 0, false, nil, err
			}
			total += int64(p.Clients)
			doneN += int64(min(p.Done, p.Clients))
			// A run waiting for deferred deliveries is as far as it goes
			// until their retries: following it would take hours.
			finished = finished && (p.Finished || !p.RetryAt.IsZero())
			ps = append(ps, p)
		}
		return total, doneN, finished, ps, nil
	}
	total, _, _, _, err := read()
	if err != nil {
		return err
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(progress),
		progressbar.OptionSetDescription("sending"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("mails"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(progress) }),
	)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		_, doneN, finished, ps, err := read()
		if err != nil {
			return err
		}
		_ = bar.Set64(doneN)
		if finished {
			_ = bar.Finish()
			for i, p := range ps {
				if p.Finished {
					fmt.Fprintf(out, "run %s of mailing %s finished: %d sent, %d failed\n", runs[i].runID, runs[i].mailingID, p.Sent, p.Failed)
					continue
				}
				fmt.Fprintf(out, "run %s of mailing %s waits: %d of %d clients done, %d deferred, retried from %s\n",
					runs[i].runID, runs[i].mailingID, p.Done, p.Clients, p.Deferred, p.RetryAt.Local().Format(time.RFC3339))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
