package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
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

// idList is a repeatable --mailing or --run flag.
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
		return fmt.Errorf("%q is not an id (a UUID)", s)
	}
	*l = append(*l, id)
	return nil
}

func (*idList) repeatable() {}

var sendCommand = command{
	name:    "send",
	summary: "dispatch mailings now and, with --wait, follow their runs to the end",
	about: "Emits DispatchMailing commands onto the command stream and reports each run; the running\n" +
		"senders (`herald serve --roles sender`) do the sending, in parallel across processes.\n" +
		"--mailing sends a mailing now; --due dispatches every scheduled run that is due (the same\n" +
		"runs the scheduler would fire: never twice); --run hands an unfinished run to the senders\n" +
		"again (it resumes: no recorded delivery is sent twice). --wait follows the runs to the end (a progress\n" +
		"bar on a terminal) and reports their totals (sent, failed with the bounces among them, and\n" +
		"skipped: clients unsubscribed or suppressed, which are not failures); a run whose remaining\n" +
		"deliveries were deferred\n" +
		"by the receiving server (4xx) is followed until it waits for their retries\n" +
		"(SEND_RETRY_SCHEDULE), and its line says when they are due. --json prints one document with\n" +
		"each run's last known state instead of the lines. A mailing or run that does not exist exits\n" +
		"3, one that cannot be sent (disabled, completed) 4; the others are still sent.",
	define: func(fs *flag.FlagSet) action {
		var ids, resume idList
		fs.Var(&ids, "mailing", "send the mailing `ID` now (repeatable)")
		fs.Var(&resume, "run", "hand the unfinished run `ID` to the senders again, e.g. after Redis lost its command (repeatable)")
		due := fs.Bool("due", false, "dispatch every mailing whose scheduled run is due")
		wait := fs.Bool("wait", false, "follow the runs until they finish")
		asJSON := fs.Bool("json", false, "print one JSON document with each run's final state")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments %q", args)
			}
			if len(ids) == 0 && len(resume) == 0 && !*due {
				return usageErrorf("name a mailing with --mailing or a run with --run, or use --due")
			}
			return runSend(ctx, c, sendOptions{mailings: ids, runs: resume, due: *due, wait: *wait, json: *asJSON})
		}
	},
}

type sendOptions struct {
	mailings, runs idList
	due, wait      bool
	json           bool
}

// runSend: herald send [--mailing ID]... [--run ID]... [--due] [--wait] [--json].
func runSend(ctx context.Context, c *cli, o sendOptions) error {
	cfg, log, err := c.setup(config.NeedDatabase, config.NeedRedis)
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
	runs, err := sendRuns(pool, store, queue, log)
	if err != nil {
		return err
	}
	rep := &sendReport{Runs: []runReport{}}
	if !o.json {
		rep.text = c.out
	}
	dispatched, err := dispatchMailings(ctx, pool, runs, o.mailings, o.due, rep)
	if len(o.runs) > 0 {
		again, rerr := resumeRuns(ctx, pool, runs, o.runs, rep)
		dispatched = append(dispatched, again...)
		err = errors.Join(err, rerr)
	}
	if o.wait && len(dispatched) > 0 {
		var bar io.Writer
		if isTerminal(c.errOut) {
			bar = c.errOut
		}
		if werr := waitRuns(ctx, pool, dispatched, rep, bar, 250*time.Millisecond); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if o.json {
		err = errors.Join(err, writeJSON(c.out, rep))
	}
	return err
}

// sendReport is what herald send did, run by run: each entry printed as a
// line when it is recorded, or (--json) the document printed at the end,
// holding each run's last state.
type sendReport struct {
	text io.Writer   // nil with --json
	Runs []runReport `json:"runs"`
}

// textReport is a report printing its lines on w.
func textReport(w io.Writer) *sendReport { return &sendReport{text: w} }

// Run states in send's report.
const (
	runDispatched      = "dispatched"       // a mailing's run was started and handed to the senders
	runRedispatched    = "redispatched"     // an unfinished run was handed to the senders again
	runAlreadyFinished = "already_finished" // --run named a finished run: nothing to do
	runNotDispatched   = "not_dispatched"   // the mailing or run could not be dispatched (see error)
	runNotFound        = "not_found"        // --run named no run
	runFinished        = "finished"         // --wait: every delivery is done
	runWaiting         = "waiting"          // --wait: only deliveries deferred until retry_at are left
)

// runReport is one run's state in send's report.
type runReport struct {
	MailingID uuid.UUID `json:"mailing_id,omitzero"`
	RunID     uuid.UUID `json:"run_id,omitzero"`
	State     string    `json:"state"`
	Clients   int       `json:"clients"`
	Done      int       `json:"done"`
	Sent      int       `json:"sent"`
	Failed    int       `json:"failed"`
	Skipped   int       `json:"skipped"` // not mailed: unsubscribed or suppressed (not failures)
	Bounced   int       `json:"bounced"` // failures refused for good by the receiving server (5xx)
	Deferred  int       `json:"deferred"`
	RetryAt   time.Time `json:"retry_at,omitzero"` // waiting: when the deferred deliveries are retried
	Error     string    `json:"error,omitempty"`
}

// withProgress fills in the counts of p.
func (r runReport) withProgress(p saga.RunProgress) runReport {
	r.Clients, r.Done, r.Sent, r.Failed, r.Deferred = p.Clients, p.Done, p.Sent, p.Failed, p.Deferred
	r.Skipped, r.Bounced = p.Skipped, p.Bounced
	if !p.RetryAt.IsZero() {
		r.RetryAt = p.RetryAt.UTC()
	}
	return r
}

// record adds r, replacing the entry of the same run (its state after
// --wait), and prints its line.
func (s *sendReport) record(r runReport) {
	i := slices.IndexFunc(s.Runs, func(e runReport) bool { return r.RunID != uuid.Nil && e.RunID == r.RunID })
	if i >= 0 {
		s.Runs[i] = r
	} else {
		s.Runs = append(s.Runs, r)
	}
	if s.text != nil {
		fmt.Fprintln(s.text, r.line())
	}
}

// note prints a line that is not about a run (text only).
func (s *sendReport) note(line string) {
	if s.text != nil {
		fmt.Fprintln(s.text, line)
	}
}

// line is r for people.
func (r runReport) line() string {
	switch r.State {
	case runDispatched:
		return fmt.Sprintf("dispatched mailing %s: run %s, %d clients", r.MailingID, r.RunID, r.Clients)
	case runRedispatched:
		return fmt.Sprintf("re-dispatched run %s of mailing %s: %d of %d clients done", r.RunID, r.MailingID, r.Done, r.Clients)
	case runAlreadyFinished:
		return fmt.Sprintf("run %s of mailing %s: already finished (%s)", r.RunID, r.MailingID, r.outcome())
	case runNotFound:
		return fmt.Sprintf("run %s: no such run", r.RunID)
	case runFinished:
		return fmt.Sprintf("run %s of mailing %s finished: %s", r.RunID, r.MailingID, r.outcome())
	case runWaiting:
		return fmt.Sprintf("run %s of mailing %s waits: %d of %d clients done, %d deferred, retried from %s",
			r.RunID, r.MailingID, r.Done, r.Clients, r.Deferred, r.RetryAt.Local().Format(time.RFC3339))
	}
	if r.RunID == uuid.Nil {
		return fmt.Sprintf("mailing %s: not dispatched: %s", r.MailingID, r.Error)
	}
	return fmt.Sprintf("run %s of mailing %s: not dispatched: %s", r.RunID, r.MailingID, r.Error)
}

// outcome is a finished run's counts for people: skips and bounces apart,
// as the mailing report has them, and only when there are some.
func (r runReport) outcome() string {
	out := fmt.Sprintf("sent %d, failed %d", r.Sent, r.Failed)
	if r.Bounced > 0 {
		out += fmt.Sprintf(" (%d bounced)", r.Bounced)
	}
	if r.Skipped > 0 {
		out += fmt.Sprintf(", skipped %d (unsubscribed or suppressed)", r.Skipped)
	}
	return out
}

// sendRuns is the runs handler of herald send behind the decorator, as
// serve's is: each dispatch logs one "command handled" line and is counted.
func sendRuns(pool *pgxpool.Pool, store cmds.EventStore, queue cmds.DispatchQueue, log zerolog.Logger) (*cmds.DecoratedRuns, error) {
	roster, err := saga.NewRoster(pool)
	if err != nil {
		return nil, err
	}
	h, err := cmds.NewRuns(store, roster, queue, time.Now)
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
// the two never send one run twice). It records each run in rep and goes
// on after a failure, which it returns at the end.
func dispatchMailings(ctx context.Context, pool *pgxpool.Pool, runs dispatcher, ids []uuid.UUID, due bool, rep *sendReport) ([]dispatched, error) {
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
			rep.note("no mailing is due")
		}
	}
	var done []dispatched
	var errs []error
	for _, c := range todo {
		_, runID, err := runs.Dispatch(ctx, c, meta)
		if err != nil {
			rep.record(runReport{MailingID: c.MailingID, State: runNotDispatched, Error: err.Error()})
			errs = append(errs, fmt.Errorf("mailing %s: %w", c.MailingID, err))
			continue
		}
		p, _ := saga.ReadRunProgress(ctx, pool, runID)
		rep.record(runReport{MailingID: c.MailingID, RunID: runID, State: runDispatched}.withProgress(p))
		done = append(done, dispatched{mailingID: c.MailingID, runID: runID})
	}
	return done, errors.Join(errs...)
}

// resumeRuns dispatches unfinished runs again (same run id: the senders
// resume them and mail nobody twice).
func resumeRuns(ctx context.Context, pool *pgxpool.Pool, runs dispatcher, ids []uuid.UUID, rep *sendReport) ([]dispatched, error) {
	meta := domain.Metadata{CorrelationID: uuid.Must(uuid.NewV7()), Command: "send"}
	var done []dispatched
	var errs []error
	for _, runID := range ids {
		var mailingID uuid.UUID
		err := pool.QueryRow(ctx, `SELECT (data->>'mailing_id')::uuid FROM events WHERE stream_id = $1 AND type = 'run.started'`, runID).Scan(&mailingID)
		if err != nil {
			rep.record(runReport{RunID: runID, State: runNotFound, Error: "no such run"})
			errs = append(errs, fmt.Errorf("run %s: %w", runID, domain.NotFound("run")))
			continue
		}
		p, err := saga.ReadRunProgress(ctx, pool, runID)
		if err != nil {
			return done, err
		}
		r := runReport{MailingID: mailingID, RunID: runID}.withProgress(p)
		if p.Finished {
			r.State = runAlreadyFinished
			rep.record(r)
			continue
		}
		if _, _, err := runs.Dispatch(ctx, cmds.DispatchMailing{MailingID: mailingID, RunID: runID, Trigger: domain.TriggerConsole}, meta); err != nil {
			r.State, r.Error = runNotDispatched, err.Error()
			rep.record(r)
			errs = append(errs, fmt.Errorf("run %s: %w", runID, err))
			continue
		}
		r.State = runRedispatched
		rep.record(r)
		done = append(done, dispatched{mailingID: mailingID, runID: runID})
	}
	return done, errors.Join(errs...)
}

// waitRuns follows the runs until every one finished: a progress bar of
// clients done on progress (none when nil), then each run's totals in rep.
func waitRuns(ctx context.Context, pool *pgxpool.Pool, runs []dispatched, rep *sendReport, progress io.Writer, every time.Duration) error {
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
	var bar *progressbar.ProgressBar
	if progress != nil {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(progress),
			progressbar.OptionSetDescription("sending"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("mails"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(progress) }),
		)
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		_, doneN, finished, ps, err := read()
		if err != nil {
			return err
		}
		if bar != nil {
			_ = bar.Set64(doneN)
		}
		if finished {
			if bar != nil {
				_ = bar.Finish()
			}
			for i, p := range ps {
				r := runReport{MailingID: runs[i].mailingID, RunID: runs[i].runID, State: runFinished}.withProgress(p)
				if !p.Finished {
					r.State = runWaiting
				}
				rep.record(r)
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
