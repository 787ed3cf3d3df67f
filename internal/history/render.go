package history

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// Querier runs a query (a pool, a connection or a transaction).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ActorEmails resolves user ids to their emails through the users read
// model; ids it does not know are left out (the renderer shows the id).
func ActorEmails(ctx context.Context, db Querier, d Document) (map[uuid.UUID]string, error) {
	ids := []uuid.UUID{d.OwnerID}
	for _, e := range d.Events {
		if e.ActorID != nil {
			ids = append(ids, *e.ActorID)
		}
	}
	rows, err := db.Query(ctx, `SELECT id, email FROM users WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("actor emails: %w", err)
	}
	out := map[uuid.UUID]string{}
	var id uuid.UUID
	var email string
	_, err = pgx.ForEachRow(rows, []any{&id, &email}, func() error { out[id] = email; return nil })
	if err != nil {
		return nil, fmt.Errorf("actor emails: %w", err)
	}
	return out, nil
}

// Cause is an event that caused one of a document's events.
type Cause struct {
	Type       string
	StreamType string
	StreamID   uuid.UUID
	Version    int64
}

// Causes looks up the events the document's events name as their cause
// and that the document does not hold (a run's end, which led to a pause,
// is on the run's stream).
func Causes(ctx context.Context, db Querier, d Document) (map[uuid.UUID]Cause, error) {
	held := make(map[uuid.UUID]bool, len(d.Events))
	for _, e := range d.Events {
		held[e.EventID] = true
	}
	var ids []uuid.UUID
	for _, e := range d.Events {
		if e.CausationID != nil && !held[*e.CausationID] {
			ids = append(ids, *e.CausationID)
		}
	}
	out := map[uuid.UUID]Cause{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT event_id, type, stream_type, stream_id, version FROM events WHERE event_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("causes: %w", err)
	}
	var id uuid.UUID
	var c Cause
	_, err = pgx.ForEachRow(rows, []any{&id, &c.Type, &c.StreamType, &c.StreamID, &c.Version}, func() error { out[id] = c; return nil })
	if err != nil {
		return nil, fmt.Errorf("causes: %w", err)
	}
	return out, nil
}

// stamp shows event times to the millisecond (events of one request are
// that close); setting is for a mailing's own times.
const (
	stamp   = "2006-01-02 15:04:05.000Z07:00"
	setting = "2006-01-02 15:04:05Z07:00"
)

// Render writes d as a timeline for a terminal: one line per event (time,
// actor, event, the request it came from, what caused it, what changed),
// the runs, and the state at d.At if asked. emails names actors (see
// ActorEmails), causes the causes outside d (see Causes).
func Render(w io.Writer, d Document, emails map[uuid.UUID]string, causes map[uuid.UUID]Cause) error {
	who := func(id *uuid.UUID) string {
		switch {
		case id == nil:
			return "system"
		case emails[*id] != "":
			return emails[*id]
		}
		return id.String()
	}
	owner := d.OwnerID
	fmt.Fprintf(w, "Mailing %s, owner %s\n\n", d.MailingID, who(&owner))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tVERSION\tACTOR\tEVENT\tREQUEST\tCAUSED BY\tCHANGE")
	trail := newTrail(d, causes)
	past := make([]domain.Event, 0, len(d.Events))
	for _, e := range d.Events {
		ev, err := domain.DecodeEvent(e.Type, e.Data)
		if err != nil {
			return fmt.Errorf("event %d: %w", e.Position, err)
		}
		// Only an update needs the mailing before and after it; replaying
		// for every event would cost the square of a long stream.
		var before, after *domain.Mailing
		if _, ok := ev.(domain.MailingUpdated); ok {
			before = domain.LoadMailing(past)
			after = domain.LoadMailing(append(past, ev))
		}
		past = append(past, ev)
		mark := ""
		if d.At != nil && e.RecordedAt.After(*d.At) {
			mark = " (after --at)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s%s\n", e.RecordedAt.UTC().Format(stamp), e.Version, who(e.ActorID), e.Type,
			trail.request(e.CorrelationID), trail.cause(e.CausationID), Describe(ev, before, after), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	if len(d.Runs) == 0 {
		fmt.Fprintln(w, "Runs: none")
	} else {
		fmt.Fprintf(w, "Runs (%d):\n", len(d.Runs))
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  RUN\tSTATUS\tBEGAN\tFINISHED\tSENT\tFAILED\tATTEMPTS (OK/FAILED)\tNOTE")
		for _, r := range d.Runs {
			began := r.StartedAt
			if began == nil {
				began = r.SkippedAt
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%d (%d/%d)\t%s\n", r.RunID, r.Status, timeOrDash(began), timeOrDash(r.FinishedAt),
				r.Sent, r.Failed, r.AttemptsTotal, r.AttemptsSuccess, r.AttemptsFailure, r.Note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if d.hasAt {
		fmt.Fprintf(w, "\nState at %s:\n", d.At.Format(stamp))
		if d.State == nil {
			fmt.Fprintln(w, "  the mailing did not exist yet")
		} else {
			s := d.State
			tw = tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
			fmt.Fprintf(tw, "  version:\t%d\n", s.Version)
			fmt.Fprintf(tw, "  status:\t%s\n", s.Status)
			fmt.Fprintf(tw, "  active:\t%s\n", yesNo(s.IsActive))
			if s.Deleted {
				fmt.Fprintf(tw, "  deleted:\tyes\n")
			}
			fmt.Fprintf(tw, "  message:\t%s\n", s.MessageID)
			if s.AllClients {
				fmt.Fprintf(tw, "  clients:\tall, as each run starts\n")
			} else {
				fmt.Fprintf(tw, "  clients:\t%d\n", len(s.ClientIDs))
			}
			fmt.Fprintf(tw, "  window:\t%s → %s (%s)\n", s.StartAt.Format(setting), s.EndAt.Format(setting), s.Timezone)
			fmt.Fprintf(tw, "  periodicity:\t%s\n", s.Periodicity)
			fmt.Fprintf(tw, "  last run:\t%s\n", timeOrDash(s.LastRunAt))
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// trail names the requests and causes of a document's events.
type trail struct {
	held   map[uuid.UUID]Entry
	runs   map[uuid.UUID]bool
	causes map[uuid.UUID]Cause
}

func newTrail(d Document, causes map[uuid.UUID]Cause) trail {
	t := trail{held: make(map[uuid.UUID]Entry, len(d.Events)), runs: map[uuid.UUID]bool{}, causes: causes}
	for _, e := range d.Events {
		t.held[e.EventID] = e
	}
	for _, r := range d.Runs {
		t.runs[r.RunID] = true
	}
	return t
}

// request shows a correlation: the scheduler's runs correlate by their own
// id, anything else by the request's.
func (t trail) request(id uuid.UUID) string {
	switch {
	case id == uuid.Nil:
		return "-"
	case t.runs[id]:
		return "run " + id.String()
	}
	return id.String()
}

// cause shows what caused an event: "-" for a person's own command, the
// version and type of an event of the mailing, the type and run of a run's.
func (t trail) cause(id *uuid.UUID) string {
	if id == nil {
		return "-"
	}
	if e, ok := t.held[*id]; ok {
		return fmt.Sprintf("v%d %s", e.Version, e.Type)
	}
	if c, ok := t.causes[*id]; ok {
		return fmt.Sprintf("%s of %s %s", c.Type, c.StreamType, c.StreamID)
	}
	return "event " + id.String()
}

// Describe says in a few words what event e changed; for an update it
// needs the mailing before and after it (nil otherwise).
func Describe(e domain.Event, before, after *domain.Mailing) string {
	switch ev := e.(type) {
	case domain.MailingCreated:
		return fmt.Sprintf("created: %s, %s, %s → %s (%s), %s", ev.Periodicity, clientsWord(ev.AllClients, ev.ClientIDs),
			ev.StartAt.UTC().Format(setting), ev.EndAt.UTC().Format(setting), ev.Timezone, activeWord(ev.IsActive))
	case domain.MailingUpdated:
		if before == nil || after == nil {
			return "updated"
		}
		return "updated: " + diff(before.Fields(), after.Fields())
	case domain.MailingDeleted:
		return "deleted"
	case domain.MailingEnabled:
		return "enabled"
	case domain.MailingDisabled:
		return "disabled"
	case domain.MailingPaused:
		return "paused by the system: " + ev.Reason
	case domain.MailingClientRemoved:
		return "client " + ev.ClientID.String() + " removed (deleted by its owner)"
	case domain.MailingStarted:
		return "run " + ev.RunID.String() + " started; status started"
	case domain.MailingCompleted:
		return "completed: " + ev.Reason
	}
	return ""
}

func diff(a, b domain.MailingFields) string {
	var ch []string
	if a.MessageID != b.MessageID {
		ch = append(ch, fmt.Sprintf("message %s → %s", a.MessageID, b.MessageID))
	}
	if a.AllClients != b.AllClients {
		ch = append(ch, fmt.Sprintf("clients %s → %s", clientsWord(a.AllClients, a.ClientIDs), clientsWord(b.AllClients, b.ClientIDs)))
	} else if !slices.Equal(a.ClientIDs, b.ClientIDs) {
		in := make(map[uuid.UUID]bool, len(a.ClientIDs))
		for _, id := range a.ClientIDs {
			in[id] = true
		}
		added := 0
		for _, id := range b.ClientIDs {
			if in[id] {
				delete(in, id)
			} else {
				added++
			}
		}
		removed := len(in)
		ch = append(ch, fmt.Sprintf("clients %d → %d (+%d −%d)", len(a.ClientIDs), len(b.ClientIDs), added, removed))
	}
	if !a.StartAt.Equal(b.StartAt) {
		ch = append(ch, fmt.Sprintf("start %s → %s", a.StartAt.UTC().Format(setting), b.StartAt.UTC().Format(setting)))
	}
	if !a.EndAt.Equal(b.EndAt) {
		ch = append(ch, fmt.Sprintf("end %s → %s", a.EndAt.UTC().Format(setting), b.EndAt.UTC().Format(setting)))
	}
	if a.Periodicity != b.Periodicity {
		ch = append(ch, fmt.Sprintf("periodicity %s → %s", a.Periodicity, b.Periodicity))
	}
	if a.Timezone != b.Timezone {
		ch = append(ch, fmt.Sprintf("timezone %s → %s", a.Timezone, b.Timezone))
	}
	if len(ch) == 0 {
		return "nothing visible changed"
	}
	return strings.Join(ch, "; ")
}

func activeWord(b bool) string {
	if b {
		return "active"
	}
	return "inactive"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(stamp)
}

// clientsWord names whom a mailing sends to: every client, or how many.
func clientsWord(all bool, ids []uuid.UUID) string {
	if all {
		return "all clients"
	}
	return fmt.Sprintf("%d client(s)", len(ids))
}
