package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	cmds "github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/history"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// herald history against real PostgreSQL: the mailing's events are decided
// by the Mailing aggregate and appended with their actors, requests and
// causes (a scheduled run, and the pause its end led to); the users read
// model knows the actors' emails.
func TestHistoryTimelineStatesAndJSON(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	// commit appends evs with meta; ids, when given, are the events' ids.
	commit := func(typ string, id uuid.UUID, expected int64, meta domain.Metadata, evs []domain.Event, ids ...uuid.UUID) {
		t.Helper()
		news := make([]domain.NewEvent, len(evs))
		for i, e := range evs {
			news[i] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: e, Metadata: meta}
			if i < len(ids) {
				news[i].ID = ids[i]
			}
		}
		if _, err := store.Append(ctx, domain.Stream{Type: typ, ID: id}, expected, news...); err != nil {
			t.Fatal(err)
		}
	}
	user := func(email string) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		commit("user", id, eventstore.NoStream, domain.Metadata{ActorID: id, CorrelationID: uuid.New()}, []domain.Event{domain.UserRegistered{Email: email, Name: "N", PasswordHash: "x",
			Groups: []string{"users"}, RegisteredAt: time.Now().UTC()}})
		evs, err := store.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if err := (&projections.Users{}).Apply(ctx, tx, evs[0]); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return id
	}
	alice, boss := user("alice@example.test"), user("boss@example.test")
	createReq, editReq, enableReq := uuid.New(), uuid.New(), uuid.New()
	person := func(actor, request uuid.UUID) domain.Metadata {
		return domain.Metadata{ActorID: actor, CorrelationID: request, Command: "test"}
	}

	id := uuid.Must(uuid.NewV7())
	start := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	fields := domain.MailingFields{MessageID: uuid.New(), ClientIDs: []uuid.UUID{uuid.New()}, StartAt: start, EndAt: start.Add(30 * 24 * time.Hour),
		Periodicity: domain.Weekly, Timezone: "Europe/Paris"}
	m, err := domain.NewMailing(id, alice, fields, true)
	if err != nil {
		t.Fatal(err)
	}
	commit(domain.MailingStreamType, id, eventstore.NoStream, person(alice, createReq), m.Changes())
	load := func() *domain.Mailing {
		evs, err := store.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]domain.Event, len(evs))
		for i, e := range evs {
			out[i] = e.Event
		}
		return domain.LoadMailing(out)
	}
	m = load()
	fields.Periodicity = domain.Daily
	fields.ClientIDs = []uuid.UUID{uuid.New(), uuid.New()}
	if err := m.Update(fields); err != nil {
		t.Fatal(err)
	}
	commit(domain.MailingStreamType, id, m.Version(), person(alice, editReq), m.Changes())
	recs, err := store.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	edit := recs[1].EventID

	// One scheduled run of the mailing, caused by the edit that set its
	// schedule; it fails and pauses the mailing; boss enables it again.
	// The run is finished as the reports projector (which the run summaries
	// come from) has applied it.
	ran := time.Now().UTC().Truncate(time.Microsecond)
	runID := domain.ScheduledRunID(id, ran)
	scheduled := domain.Metadata{CorrelationID: runID, CausationID: edit, Command: "DispatchMailing"}
	m = load()
	if err := m.Start(runID, ran); err != nil {
		t.Fatal(err)
	}
	commit(domain.MailingStreamType, id, m.Version(), scheduled, m.Changes())
	commit(domain.RunStreamType, runID, eventstore.NoStream, scheduled, []domain.Event{
		domain.RunStarted{RunID: runID, MailingID: id, OwnerID: alice, MessageID: fields.MessageID, Trigger: domain.TriggerSchedule,
			DueAt: ran, StartedAt: ran, Clients: 2}}, cmds.StartedEventID(runID))
	commit(domain.RunStreamType, runID, 1, domain.Metadata{CorrelationID: runID, CausationID: cmds.StartedEventID(runID)}, []domain.Event{
		domain.DeliveryAttempted{MailingID: id, ClientID: fields.ClientIDs[0], Email: "a@x.test", Success: true, ServerResponse: "250 ok", AttemptedAt: ran, Attempt: 1},
		domain.DeliveryAttempted{MailingID: id, ClientID: fields.ClientIDs[1], Email: "b@x.test", ServerResponse: "550 no", AttemptedAt: ran, Attempt: 1, Permanent: true},
		domain.RunFinished{MailingID: id, Sent: 1, Failed: 1, FinishedAt: ran.Add(time.Second)},
	}, uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), cmds.FinishedEventID(runID))
	m = load()
	if err := m.Pause("run " + runID.String() + ": too many failures"); err != nil {
		t.Fatal(err)
	}
	commit(domain.MailingStreamType, id, m.Version(), domain.Metadata{CorrelationID: runID, CausationID: cmds.FinishedEventID(runID),
		Command: "PauseMailing"}, m.Changes())
	m = load()
	if err := m.Enable(); err != nil {
		t.Fatal(err)
	}
	commit(domain.MailingStreamType, id, m.Version(), person(boss, enableReq), m.Changes())
	runEvents, err := store.Load(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range runEvents {
		if err := (projections.ReportsProjector{}).Apply(ctx, tx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	render := func(o history.Options, asJSON bool) string {
		t.Helper()
		var buf bytes.Buffer
		if err := printHistory(ctx, pool, id, o, asJSON, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	out := render(history.Options{}, false)
	t.Logf("herald history %s:\n%s", id, out)
	lines := strings.Split(out, "\n")
	find := func(parts ...string) {
		t.Helper()
		for _, l := range lines {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				return
			}
		}
		t.Fatalf("no line holds %q in:\n%s", parts, out)
	}
	find("Mailing "+id.String(), "owner alice@example.test")
	// Who, through which request, caused by what ("-": a person's own).
	trail := func(actor, event, request, cause, change string) {
		t.Helper()
		re := regexp.MustCompile(`\s` + regexp.QuoteMeta(actor) + `\s+` + regexp.QuoteMeta(event) + `\s+` + regexp.QuoteMeta(request) +
			`\s+` + regexp.QuoteMeta(cause) + `\s+` + regexp.QuoteMeta(change))
		for _, l := range lines {
			if re.MatchString(l) {
				return
			}
		}
		t.Fatalf("no line shows %s %s in %s caused by %s: %s, in:\n%s", actor, event, request, cause, change, out)
	}
	trail("alice@example.test", "mailing.created", createReq.String(), "-",
		"created: weekly, 1 client(s), 2027-01-04 09:00:00Z → 2027-02-03 09:00:00Z (Europe/Paris), active")
	trail("alice@example.test", "mailing.updated", editReq.String(), "-", "updated: clients 1 → 2 (+2 −1); periodicity weekly → daily")
	trail("system", "mailing.started", "run "+runID.String(), "v2 mailing.updated", "run "+runID.String()+" started")
	trail("system", "mailing.paused", "run "+runID.String(), "run.finished of run "+runID.String(), "paused by the system: run ")
	trail("boss@example.test", "mailing.enabled", enableReq.String(), "-", "enabled")
	find("Runs (1):")
	find(runID.String(), "finished", ran.Format("2006-01-02 15:04:05.000Z07:00"), "1", "2 (1/1)")
	if strings.Contains(out, "State at") {
		t.Fatal("a state without --at")
	}

	// --at before and after the edit.
	var doc history.Document
	if err := json.Unmarshal([]byte(render(history.Options{}, true)), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Events) != 5 || doc.OwnerID != alice || *doc.Events[4].ActorID != boss || doc.Events[2].ActorID != nil {
		t.Fatalf("--json document %+v", doc)
	}
	if e := doc.Events[0]; e.CorrelationID != createReq || e.CausationID != nil || e.EventID != recs[0].EventID {
		t.Fatalf("--json creation %+v", e)
	}
	if e := doc.Events[2]; e.CorrelationID != runID || e.CausationID == nil || *e.CausationID != edit {
		t.Fatalf("--json start %+v, want caused by %s", e, edit)
	}
	if e := doc.Events[3]; e.CorrelationID != runID || e.CausationID == nil || *e.CausationID != cmds.FinishedEventID(runID) {
		t.Fatalf("--json pause %+v", e)
	}
	created, edited := doc.Events[0].RecordedAt, doc.Events[1].RecordedAt
	mid := created.Add(edited.Sub(created) / 2)
	out = render(history.Options{At: &mid}, false)
	lines = strings.Split(out, "\n")
	find("State at " + mid.UTC().Format("2006-01-02 15:04:05.000Z07:00"))
	find("periodicity:", "weekly")
	find("active:", "yes")
	find("mailing.updated", "(after --at)")
	out = render(history.Options{At: &edited}, false)
	lines = strings.Split(out, "\n")
	find("periodicity:", "daily")
	find("active:", "yes")
	// A time copied from the timeline (milliseconds) includes the event
	// shown at it; one to the second covers that whole second.
	shown, err := parseTime(edited.UTC().Format("2006-01-02 15:04:05.000Z07:00"))
	if err != nil || shown.Before(edited) || shown.Sub(edited) >= time.Millisecond {
		t.Fatalf("--at %s read as %s (%v)", edited, shown, err)
	}
	out = render(history.Options{At: &shown}, false)
	lines = strings.Split(out, "\n")
	find("periodicity:", "daily")
	for in, want := range map[string]string{
		"2026-11-25T09:00:05Z":         "2026-11-25T09:00:05.999999999Z",
		"2026-11-25 09:00:05":          "2026-11-25T09:00:05.999999999Z",
		"2026-11-25 09:00":             "2026-11-25T09:00:59.999999999Z",
		"2026-11-25T10:00:05.12+01:00": "2026-11-25T09:00:05.129999999Z",
		"2026-11-25":                   "2026-11-25T23:59:59.999999999Z",
	} {
		if got, err := parseTime(in); err != nil || got.UTC().Format(time.RFC3339Nano) != want {
			t.Errorf("parseTime(%q) = %s, %v; want %s", in, got.UTC().Format(time.RFC3339Nano), err, want)
		}
	}
	now := time.Now()
	out = render(history.Options{At: &now}, false)
	lines = strings.Split(out, "\n")
	find("active:", "yes")
	find("version:", "5")
	early := created.Add(-time.Minute)
	out = render(history.Options{At: &early}, false)
	lines = strings.Split(out, "\n")
	find("the mailing did not exist yet")

	// --json with --at is the endpoint's document, state included.
	var withState struct {
		State struct {
			Periodicity string `json:"periodicity"`
			Version     int64  `json:"version"`
		} `json:"state"`
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal([]byte(render(history.Options{At: &mid}, true)), &withState); err != nil {
		t.Fatal(err)
	}
	if withState.State.Periodicity != "weekly" || withState.State.Version != 1 || len(withState.Events) != 5 {
		t.Fatalf("--json --at %+v", withState)
	}

	// Unknown mailings and command-line mistakes.
	if err := printHistory(ctx, pool, uuid.New(), history.Options{}, false, &bytes.Buffer{}); err == nil {
		t.Fatal("an unknown mailing printed")
	}
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"history", "not-an-id"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "not a mailing id") {
		t.Fatalf("bad id: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(ctx, []string{"history", id.String(), "--at", "soon"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--at") {
		t.Fatalf("bad --at after the id: exit %d, %q", code, stderr.String())
	}
}
