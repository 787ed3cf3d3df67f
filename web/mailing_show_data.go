package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/history"
	"github.com/heraldmail/herald/projections"
)

// The mailing page reads what the JSON API's mailing, history, attempts and
// report endpoints read, and the same policy decides who sees it: the
// owner, or staff allowed mailings.view_all. Its history comes from the
// event store, so a deleted mailing still has a page.

// detailAttemptsPerPage is the length of one page of the attempts table.
const detailAttemptsPerPage = 20

// mailingDetail is what the mailing page shows.
type mailingDetail struct {
	ID uuid.UUID
	// At is the instant the page shows the mailing's state at (?at=); nil
	// for now.
	At *time.Time
	// Header is the mailing now, or at At; nil when it did not exist yet
	// then.
	Header       *detailHeader
	Progress     detailProgress
	Attempts     []detailAttempt
	AttemptsNext string // the next page of attempts' URL, "" on the last
	Events       []detailEvent
	Report       *projections.MailingReport // nil when there is none
	// What the caller may do with it (current state only).
	CanEdit, CanToggle, CanSend bool
}

// Current reports whether the page shows the mailing as it is now.
func (p *mailingDetail) Current() bool { return p.At == nil }

// AtParam is the ?at= value of the instant shown.
func (p *mailingDetail) AtParam() string {
	if p.At == nil {
		return ""
	}
	return p.At.Format(time.RFC3339Nano)
}

// mailingDetailOf reads what the page shows of the mailing doc replays
// beside its history: its header (now, or at the instant doc was asked
// for), its message's subject, a page of attempts after cursor, its report,
// and what the caller may do with it. v words the rows as its caller
// reads them.
func (h *Handler) mailingDetailOf(r *http.Request, v *View, doc history.Document, cursor string) (*mailingDetail, error) {
	ctx, who := r.Context(), principal(r)
	d := &mailingDetail{ID: doc.MailingID, At: doc.At, Progress: detailProgressOf(doc)}
	// The attempts and the report do not depend on the rest: they are
	// read while the header, the message and the timeline are.
	var side errgroup.Group
	side.Go(func() error { return h.detailAttempts(r, v, d, cursor) })
	side.Go(func() error {
		rep, err := h.mailingReports.GetMailingReport(ctx, access.ReadScope(who, access.Report), d.ID)
		switch {
		case err == nil:
			d.Report = &rep
		case !errors.Is(err, domain.ErrNotFound):
			return err
		}
		return nil
	})
	if err := h.detailHead(r, d, doc); err != nil {
		_ = side.Wait()
		return nil, err
	}
	d.Events = h.detailTimeline(ctx, r, v, doc, d.At)
	if err := side.Wait(); err != nil {
		return nil, err
	}
	return d, nil
}

// detailHead fills in d's header, its message's subject and what the
// caller may do to the mailing.
func (h *Handler) detailHead(r *http.Request, d *mailingDetail, doc history.Document) error {
	ctx, who := r.Context(), principal(r)
	if d.At == nil {
		header, err := h.currentHeader(r, doc)
		if err != nil {
			return err
		}
		d.Header = header
	} else {
		d.Header = detailHeaderOfState(doc.State)
		d.Progress.Polling = false // the past does not change
	}
	if d.Header != nil {
		msg, err := h.mailingRows.GetMessage(ctx, access.ReadScope(who, access.Message), d.Header.MessageID)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		d.Header.Subject = msg.Subject
	}
	if d.Current() && d.Header != nil && !d.Header.Deleted {
		completed := d.Header.Status == string(domain.StatusCompleted)
		d.CanEdit = access.CanChange(who, doc.OwnerID)
		d.CanToggle = access.CanToggleMailing(who, doc.OwnerID) && !completed
		d.CanSend = access.Owns(who, doc.OwnerID) && d.Header.IsActive && !completed
	}
	return nil
}

// currentHeader is the mailing as the read model has it (with its next
// run), or, when it is deleted or the read model does not have it yet, as
// its events say now.
func (h *Handler) currentHeader(r *http.Request, doc history.Document) (*detailHeader, error) {
	deleted := slices.ContainsFunc(doc.Events, func(e history.Entry) bool { return e.Type == "mailing.deleted" })
	if !deleted {
		row, err := h.mailingRows.GetMailing(r.Context(), access.ReadScope(principal(r), access.Mailing), doc.MailingID)
		if err == nil {
			return detailHeaderOfRow(row), nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return nil, err
		}
	}
	now := time.Now()
	replayed, err := h.history.Mailing(r.Context(), doc.MailingID, history.Options{At: &now})
	if err != nil {
		return nil, err
	}
	if replayed.State == nil {
		return nil, errors.New("web: mailing " + doc.MailingID.String() + " has events but no state")
	}
	return detailHeaderOfState(replayed.State), nil
}

// detailAttempts reads the page of attempts after cursor into d, worded
// for v, and the next page's link.
func (h *Handler) detailAttempts(r *http.Request, v *View, d *mailingDetail, cursor string) error {
	rows, next, err := h.attempts.ListAttempts(r.Context(), access.ReadScope(principal(r), access.Mailing), d.ID, detailAttemptsPage(cursor))
	if err != nil {
		return err
	}
	for _, a := range rows {
		d.Attempts = append(d.Attempts, detailAttemptOf(v, a))
	}
	if next != 0 {
		p := url.Values{"attempts": {detailAttemptsCursor(rows[len(rows)-1], next)}}
		if d.At != nil {
			p.Set("at", d.AtParam())
		}
		d.AttemptsNext = "/mailings/" + d.ID.String() + "?" + p.Encode() + "#attempts"
	}
	return nil
}

// detailHeader is the mailing's setting and state.
type detailHeader struct {
	MessageID   uuid.UUID
	Subject     string // "" when the caller may not read the message, or it is gone
	Recipients  int
	AllClients  bool // every client the owner has when a run starts
	StartAt     time.Time
	EndAt       time.Time
	Periodicity string
	Timezone    string
	Status      string
	IsActive    bool
	Deleted     bool
	// NextRunAt is when it sends next (nil for never), as the read model
	// knows it: NextRunKnown is false for a state replayed from events.
	NextRunAt    *time.Time
	NextRunKnown bool
	Version      int64
}

// StatusID is the message id of the mailing's status.
func (m *detailHeader) StatusID() string {
	return detailLabel(detailStatusIDs, m.Status)
}

// PeriodicityID is the message id of how often it sends.
func (m *detailHeader) PeriodicityID() string {
	return detailLabel(detailPeriodicityIDs, m.Periodicity)
}

// detailStatusIDs are the message ids of the mailings' statuses.
var detailStatusIDs = map[string]string{
	string(domain.StatusCreated):   "page.mailing_show.status_created",
	string(domain.StatusStarted):   "page.mailing_show.status_started",
	string(domain.StatusCompleted): "page.mailing_show.status_completed",
}

// detailPeriodicityIDs are the message ids of how often a mailing sends.
var detailPeriodicityIDs = map[string]string{
	string(domain.Once):    "page.mailing_show.periodicity_once",
	string(domain.Daily):   "page.mailing_show.periodicity_daily",
	string(domain.Weekly):  "page.mailing_show.periodicity_weekly",
	string(domain.Monthly): "page.mailing_show.periodicity_monthly",
}

// detailRunStatusIDs are the message ids of the runs' statuses.
var detailRunStatusIDs = map[string]string{
	"started":  "page.mailing_show.run_started",
	"finished": "page.mailing_show.run_finished",
	"skipped":  "page.mailing_show.run_skipped",
}

// detailTriggerIDs are the message ids of what asks for a run.
var detailTriggerIDs = map[string]string{
	domain.TriggerSchedule: "page.mailing_show.trigger_schedule",
	domain.TriggerManual:   "page.mailing_show.trigger_manual",
	domain.TriggerConsole:  "page.mailing_show.trigger_console",
}

// detailEventIDs are the message ids of the mailing stream's events.
var detailEventIDs = map[string]string{
	"mailing.created":        "page.mailing_show.event_created",
	"mailing.updated":        "page.mailing_show.event_updated",
	"mailing.deleted":        "page.mailing_show.event_deleted",
	"mailing.enabled":        "page.mailing_show.event_enabled",
	"mailing.disabled":       "page.mailing_show.event_disabled",
	"mailing.client_removed": "page.mailing_show.event_client_removed",
	"mailing.started":        "page.mailing_show.event_started",
	"mailing.completed":      "page.mailing_show.event_completed",
	"mailing.paused":         "page.mailing_show.event_paused",
}

// detailLabel is the message id of value, or the value itself for one the
// pages do not know yet (a translation shows a missing id as it is).
func detailLabel(ids map[string]string, value string) string {
	if id, ok := ids[value]; ok {
		return id
	}
	return value
}

func detailHeaderOfRow(m projections.MailingRow) *detailHeader {
	return &detailHeader{MessageID: m.MessageID, Recipients: len(m.ClientIDs), AllClients: m.AllClients, StartAt: m.StartAt, EndAt: m.EndAt,
		Periodicity: m.Periodicity, Timezone: m.Timezone, Status: m.Status, IsActive: m.IsActive, NextRunAt: m.NextRunAt,
		NextRunKnown: true, Version: m.Version}
}

func detailHeaderOfState(s *history.State) *detailHeader {
	if s == nil {
		return nil
	}
	return &detailHeader{MessageID: s.MessageID, Recipients: len(s.ClientIDs), AllClients: s.AllClients, StartAt: s.StartAt, EndAt: s.EndAt,
		Periodicity: s.Periodicity, Timezone: s.Timezone, Status: s.Status, IsActive: s.IsActive, Deleted: s.Deleted,
		Version: s.Version}
}

// detailProgress is the runs section, which re-fetches itself while a run
// is sending.
type detailProgress struct {
	ID   uuid.UUID
	Runs []detailRun // newest first
	// Polling is set while a run sends, or has started and is not in the
	// reports yet.
	Polling bool
	// Refreshed is set on a re-fetch: a run that finished meanwhile gets a
	// link to reload the rest of the page.
	Refreshed bool
}

// detailRun is one run with its progress.
type detailRun struct {
	projections.RunSummary
}

// Done is how many of its clients the run is through with.
func (r detailRun) Done() int64 { return r.Sent + r.Failed }

// StatusID is the message id of the run's status.
func (r detailRun) StatusID() string {
	return detailLabel(detailRunStatusIDs, r.Status)
}

// TriggerID is the message id of what asked for the run.
func (r detailRun) TriggerID() string {
	return detailLabel(detailTriggerIDs, r.Trigger)
}

// detailProgressOf is the runs section of doc: polling while a run sends.
func detailProgressOf(doc history.Document) detailProgress {
	p := detailProgress{ID: doc.MailingID}
	known := map[uuid.UUID]bool{}
	for _, r := range slices.Backward(doc.Runs) {
		p.Runs = append(p.Runs, detailRun{r})
		known[r.RunID] = true
		if r.Status == "started" {
			p.Polling = true
		}
	}
	for _, e := range doc.Events {
		if e.Type != "mailing.started" {
			continue
		}
		if ev, err := domain.DecodeEvent(e.Type, e.Data); err == nil {
			if s, ok := ev.(domain.MailingStarted); ok && !known[s.RunID] {
				p.Polling = true // the reports have not seen its start yet
			}
		}
	}
	return p
}

// detailAttempt is one delivery attempt as the table shows it. Its
// strings are made once in Go, in the caller's language and time zone: a
// template reaches a View method or an embedded field through reflection on
// every row, and this table is the page's longest part.
type detailAttempt struct {
	ID      string
	When    string
	Email   string
	Outcome string // sent, failed for good, or deferred with its retry time
	Attempt int
	Reply   string
	Failed  bool
}

// detailAttemptOf is a as v's caller reads it.
func detailAttemptOf(v *View, a projections.AttemptRow) detailAttempt {
	var outcome string
	switch {
	case a.Status == "success":
		outcome = v.T("page.mailing_show.outcome_sent")
	case a.Final:
		outcome = v.T("page.mailing_show.outcome_failed")
	default:
		outcome = v.T("page.mailing_show.outcome_deferred")
		if a.RetryAt != nil {
			outcome += " · " + v.T("page.mailing_show.retry_at", "When", v.When(*a.RetryAt))
		}
	}
	return detailAttempt{ID: a.ID.String(), When: v.When(a.AttemptedAt), Email: a.Email, Outcome: outcome,
		Attempt: a.Attempt, Reply: a.ServerResponse, Failed: a.Status != "success"}
}

// detailAttemptsCursor is the ?attempts= of a page after the first: "f" or "s"
// (the previous page ended on a failure or a success) and a position.
func detailAttemptsCursor(last projections.AttemptRow, next int64) string {
	kind := "f"
	if last.Status == "success" {
		kind = "s"
	}
	return kind + strconv.FormatInt(next, 10)
}

// detailAttemptsPage is the page ?attempts= asks for; a cursor this page did not
// issue starts from the first.
func detailAttemptsPage(raw string) projections.AttemptPage {
	p := projections.AttemptPage{Limit: detailAttemptsPerPage, FailuresFirst: true}
	if len(raw) < 2 || (raw[0] != 'f' && raw[0] != 's') {
		return p
	}
	n, err := strconv.ParseInt(raw[1:], 10, 64)
	if err != nil || n < 0 {
		return p
	}
	p.After, p.AfterSuccess = n, raw[0] == 's'
	return p
}

// detailEvent is one entry of the timeline, worded like detailAttempt
// for its reader.
type detailEvent struct {
	Version     int64
	Time        string // RFC 3339, for <time datetime>
	When        string
	Label       string // what happened
	Detail      string // the reason the system gave, if any
	By          string // "by …": who, as the caller may know them
	Correlation string // the request it came from
	StateAt     string // the URL of the mailing's state just after it
	StateLabel  string // its link's text
	Later       bool   // after the instant the page shows
}

// detailTimeline turns doc's events into the page's entries, worded for v;
// at marks those after the instant shown.
func (h *Handler) detailTimeline(ctx context.Context, r *http.Request, v *View, doc history.Document, at *time.Time) []detailEvent {
	who := principal(r)
	names := map[uuid.UUID]string{}
	out := make([]detailEvent, 0, len(doc.Events))
	for _, e := range doc.Events {
		me := detailEvent{Version: e.Version, Time: e.RecordedAt.Format("2006-01-02T15:04:05.000Z07:00"),
			When: v.When(e.RecordedAt), Label: v.T(detailLabel(detailEventIDs, e.Type)),
			Correlation: e.CorrelationID.String(), Later: at != nil && e.RecordedAt.After(*at),
			StateAt: "/mailings/" + doc.MailingID.String() + "?" + url.Values{"at": {e.RecordedAt.Format(time.RFC3339Nano)}}.Encode()}
		var actor string
		switch a := e.ActorID; {
		case a == nil:
			actor = v.T("page.mailing_show.actor_system")
		case *a == who.UserID:
			actor = v.T("page.mailing_show.actor_you")
		case access.CanRead(who, access.User, *a):
			name, ok := names[*a]
			if !ok {
				name = a.String()
				if acc, err := h.id.Account(ctx, *a); err == nil {
					name = acc.Name + " <" + acc.Email + ">"
				}
				names[*a] = name
			}
			actor = name
		default:
			actor = v.T("page.mailing_show.actor_other")
		}
		me.By = v.T("page.mailing_show.by", "Who", actor)
		me.StateLabel = v.T("page.mailing_show.state_after", "N", e.Version)
		if ev, err := domain.DecodeEvent(e.Type, e.Data); err == nil {
			switch ev := ev.(type) {
			case domain.MailingCompleted:
				me.Detail = ev.Reason
			case domain.MailingPaused:
				me.Detail = ev.Reason
			}
		}
		out = append(out, me)
	}
	return out
}

// shownMailingID is the {id} of a mailing page's path; ok is false when it
// is no UUID.
func shownMailingID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	return id, err == nil
}

// shownMailing is the audit replay of mailing id when the caller may
// read it; ok is false once the answer (the 404 page, or the error page)
// is written.
func (h *Handler) shownMailing(w http.ResponseWriter, r *http.Request, id uuid.UUID, o history.Options) (history.Document, bool) {
	doc, err := h.history.Mailing(r.Context(), id, o)
	if err == nil && !access.CanRead(principal(r), access.Mailing, doc.OwnerID) {
		err = access.Hidden(access.Mailing)
	}
	if errors.Is(err, domain.ErrNotFound) {
		h.showNotFound(w, r)
		return doc, false
	}
	if err != nil {
		h.fail(w, r, err)
		return doc, false
	}
	return doc, true
}
