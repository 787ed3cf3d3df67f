package http_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

type historyEntryJSON struct {
	Position      int64           `json:"position"`
	Version       int64           `json:"version"`
	Type          string          `json:"type"`
	EventID       uuid.UUID       `json:"event_id"`
	RecordedAt    time.Time       `json:"recorded_at"`
	ActorID       *uuid.UUID      `json:"actor_id"`
	CorrelationID uuid.UUID       `json:"correlation_id"`
	CausationID   *uuid.UUID      `json:"causation_id"`
	Command       string          `json:"command"`
	RunID         *uuid.UUID      `json:"run_id"`
	AttemptID     *uuid.UUID      `json:"attempt_id"`
	Data          json.RawMessage `json:"data"`
}

type historyJSON struct {
	MailingID uuid.UUID          `json:"mailing_id"`
	OwnerID   uuid.UUID          `json:"owner_id"`
	Events    []historyEntryJSON `json:"events"`
	Runs      []struct {
		RunID           uuid.UUID  `json:"run_id"`
		Status          string     `json:"status"`
		Trigger         string     `json:"trigger"`
		StartedAt       *time.Time `json:"started_at"`
		FinishedAt      *time.Time `json:"finished_at"`
		Sent            int        `json:"sent"`
		Failed          int        `json:"failed"`
		AttemptsTotal   int        `json:"attempts_total"`
		AttemptsSuccess int        `json:"attempts_success"`
		Deferred        int        `json:"deferred"`
	} `json:"runs"`
	At    *time.Time `json:"at"`
	State *struct {
		Periodicity string      `json:"periodicity"`
		Status      string      `json:"status"`
		IsActive    bool        `json:"is_active"`
		ClientIDs   []uuid.UUID `json:"client_ids"`
		Version     int64       `json:"version"`
	} `json:"state"`
	Deliveries *struct {
		Items      []historyEntryJSON `json:"items"`
		NextCursor *string            `json:"next_cursor"`
	} `json:"deliveries"`
}

// historyOnceRunFinished reads the history of a mailing with one run until
// that run's end has reached the report (a moment after the dispatch).
func historyOnceRunFinished(t *testing.T, env *apptest.Env, u rUser, id uuid.UUID, query string) (historyJSON, *apptest.Response) {
	t.Helper()
	var (
		h   historyJSON
		res *apptest.Response
	)
	testenv.Eventually(t, 30*time.Second, "the run's end in the history", func() bool {
		h, res = getHistory(t, env, u, id, query)
		want(t, "the history", res, 200)
		return len(h.Runs) == 1 && h.Runs[0].Status == "finished"
	})
	return h, res
}

func getHistory(t *testing.T, env *apptest.Env, u rUser, id uuid.UUID, query string) (historyJSON, *apptest.Response) {
	t.Helper()
	res := env.Do("GET", "/api/v1/mailings/"+id.String()+"/history"+query, nil, u.auth()...)
	var h historyJSON
	if res.Status == 200 {
		res.Decode(t, &h)
	}
	return h, res
}

// The audit trail lists every change with its actor, oldest first; ?at=
// rebuilds the state before and after an edit; runs are summaries and the
// deliveries come only when asked for, page by page; others get 404.
func TestMailingHistoryThroughTheAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b, staff := newUser(t, env), newUser(t, env), newUser(t, env, "managers")
	c1, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "h1@example.org", "full_name": "One"})
	c2, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "h2@example.org", "full_name": "Two"})
	msg, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "History", "body": "Hi"})
	m, _ := create(t, env, a, "/api/v1/mailings", mailingBody(msg, c1)) // weekly
	path := "/api/v1/mailings/" + m.String()
	want(t, "edit", env.Do("PATCH", path, map[string]any{"periodicity": "daily", "client_ids": []uuid.UUID{c1, c2}}, a.auth()...), 200)
	want(t, "dispatch", env.Do("POST", path+"/dispatch", nil, a.auth()...), 202)
	res := env.Do("POST", path+"/disable", nil, staff.auth()...) // managers hold mailings.toggle
	want(t, "staff disables", res, 200)
	pos := position(t, res)

	h, res := historyOnceRunFinished(t, env, a, m, "")
	if h.MailingID != m || h.OwnerID != a.ID || h.State != nil || h.At != nil || h.Deliveries != nil {
		t.Fatalf("document %s", res.Body)
	}
	type step struct {
		typ   string
		actor uuid.UUID
	}
	wantSteps := []step{{"mailing.created", a.ID}, {"mailing.updated", a.ID}, {"mailing.started", a.ID}, {"mailing.disabled", staff.ID}}
	if len(h.Events) != len(wantSteps) {
		t.Fatalf("events %s", res.Body)
	}
	for i, e := range h.Events {
		if e.Type != wantSteps[i].typ || e.ActorID == nil || *e.ActorID != wantSteps[i].actor || e.Version != int64(i+1) ||
			e.RecordedAt.IsZero() || len(e.Data) == 0 || (i > 0 && e.Position <= h.Events[i-1].Position) {
			t.Fatalf("event %d: %+v (want %+v)", i, e, wantSteps[i])
		}
	}
	run := h.Runs[0]
	if run.Sent != 2 || run.Failed != 0 || run.AttemptsTotal != 2 || run.AttemptsSuccess != 2 || run.Trigger != "manual" ||
		run.StartedAt == nil || run.FinishedAt == nil {
		t.Fatalf("run summary %+v", run)
	}
	var started struct {
		RunID uuid.UUID `json:"run_id"`
	}
	if err := json.Unmarshal(h.Events[2].Data, &started); err != nil || started.RunID != run.RunID {
		t.Fatalf("mailing.started names run %v, summary %v (%v)", started.RunID, run.RunID, err)
	}

	// ?at= before and after the edit, and before the creation.
	created, edited := h.Events[0].RecordedAt, h.Events[1].RecordedAt
	at := func(t0 time.Time) historyJSON {
		t.Helper()
		got, res := getHistory(t, env, a, m, "?at="+t0.UTC().Format(time.RFC3339Nano))
		want(t, "history at "+t0.String(), res, 200)
		if got.At == nil || !got.At.Equal(t0) || len(got.Events) != 4 {
			t.Fatalf("history at %s: %s", t0, res.Body)
		}
		return got
	}
	before := at(created.Add(edited.Sub(created) / 2))
	if s := before.State; s == nil || s.Periodicity != "weekly" || len(s.ClientIDs) != 1 || s.Status != "created" || !s.IsActive || s.Version != 1 {
		t.Fatalf("state before the edit %+v", s)
	}
	if len(before.Runs) != 0 {
		t.Fatalf("runs before the dispatch %+v", before.Runs)
	}
	after := at(edited)
	if s := after.State; s == nil || s.Periodicity != "daily" || len(s.ClientIDs) != 2 || s.Status != "created" || s.Version != 2 {
		t.Fatalf("state after the edit %+v", s)
	}
	now := at(time.Now())
	if s := now.State; s == nil || s.Status != "started" || s.IsActive || s.Version != 4 || len(now.Runs) != 1 {
		t.Fatalf("state now %+v runs %+v", s, now.Runs)
	}
	res = env.Do("GET", path+"/history?at="+created.Add(-time.Hour).Format(time.RFC3339), nil, a.auth()...)
	want(t, "history before the creation", res, 200)
	var raw map[string]json.RawMessage
	res.Decode(t, &raw)
	if string(raw["state"]) != "null" {
		t.Fatalf("state before the creation: %s", raw["state"])
	}

	// Deliveries only when asked, one page at a time.
	seen := map[uuid.UUID]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		q := "?deliveries=true&limit=1"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		got, res := getHistory(t, env, staff, m, q)
		want(t, "deliveries page", res, 200)
		if got.Deliveries == nil || len(got.Deliveries.Items) != 1 {
			t.Fatalf("deliveries page %d: %s", pages, res.Body)
		}
		d := got.Deliveries.Items[0]
		if d.Type != "run.delivery_attempted" || d.RunID == nil || *d.RunID != run.RunID || d.ActorID != nil {
			t.Fatalf("delivery %+v", d)
		}
		var data struct {
			ClientID uuid.UUID `json:"client_id"`
			Success  bool      `json:"success"`
		}
		if err := json.Unmarshal(d.Data, &data); err != nil || !data.Success {
			t.Fatalf("delivery data %s", d.Data)
		}
		seen[data.ClientID] = true
		if got.Deliveries.NextCursor == nil {
			break
		}
		cursor = *got.Deliveries.NextCursor
		if pages > 3 {
			t.Fatal("deliveries never end")
		}
	}
	if len(seen) != 2 || !seen[c1] || !seen[c2] {
		t.Fatalf("deliveries reached %v", seen)
	}

	// Who may read it.
	_, res = getHistory(t, env, staff, m, "")
	want(t, "staff reads the history", res, 200)
	_, res = getHistory(t, env, b, m, "")
	want(t, "another user reads the history", res, 404, "not_found")
	_, res = getHistory(t, env, b, m, "?at="+time.Now().UTC().Format(time.RFC3339))
	want(t, "another user asks for the state", res, 404, "not_found")
	want(t, "anonymous", env.Do("GET", path+"/history", nil), 401, "unauthenticated")
	_, res = getHistory(t, env, a, uuid.New(), "")
	want(t, "unknown mailing", res, 404, "not_found")
	_, res = getHistory(t, env, a, msg, "")
	want(t, "a message's id", res, 404, "not_found")
	_, res = getHistory(t, env, a, m, "?at=yesterday")
	want(t, "bad at", res, 422, "validation_failed")
	_, res = getHistory(t, env, a, m, "?deliveries=true&cursor=x")
	want(t, "bad cursor", res, 422, "validation_failed")
	want(t, "read your writes", env.Do("GET", path+"/history", nil, a.auth("X-Min-Position", pos)...), 200)

	// A deleted mailing keeps its audit trail for its owner.
	want(t, "delete", env.Do("DELETE", path, nil, a.auth()...), 204)
	h, res = getHistory(t, env, a, m, "")
	want(t, "history of a deleted mailing", res, 200)
	if last := h.Events[len(h.Events)-1]; last.Type != "mailing.deleted" || *last.ActorID != a.ID {
		t.Fatalf("last event %+v", last)
	}
}

// requestID is the X-Request-ID a response answered, which must be a UUID.
func requestID(t *testing.T, res *apptest.Response) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(res.Header.Get(api.HeaderRequestID))
	if err != nil || id == uuid.Nil {
		t.Fatalf("X-Request-ID %q is not a UUID: %v", res.Header.Get(api.HeaderRequestID), err)
	}
	return id
}

// Every event links to the request it came from and to what caused it: a
// client's own UUID request id is the correlation, anything else is
// replaced by the id the response answers; a person's commands have no
// cause; a run's deliveries and end share the dispatch's correlation and
// follow from its start.
func TestHistoryLinksEventsToTheirRequestsAndCauses(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := newUser(t, env)
	var clients []uuid.UUID
	for _, email := range []string{"l1@example.org", "l2@example.org"} {
		c, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": email, "full_name": "Client"})
		clients = append(clients, c)
	}
	msg, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Trail", "body": "Hi"})

	createReq := uuid.New()
	res := env.Do("POST", "/api/v1/mailings", mailingBody(msg, clients...), a.auth(api.HeaderRequestID, createReq.String())...)
	want(t, "create with a request id", res, 201)
	if got := requestID(t, res); got != createReq {
		t.Fatalf("X-Request-ID %s answered for %s", got, createReq)
	}
	var created struct {
		ID uuid.UUID `json:"id"`
	}
	res.Decode(t, &created)
	path := "/api/v1/mailings/" + created.ID.String()

	res = env.Do("PATCH", path, map[string]any{"periodicity": "daily"}, a.auth()...)
	want(t, "edit without a request id", res, 200)
	editReq := requestID(t, res)
	res = env.Do("PATCH", path, map[string]any{"periodicity": "monthly"}, a.auth(api.HeaderRequestID, "my-own-id")...)
	want(t, "edit with a request id that is not a UUID", res, 200)
	otherReq := requestID(t, res)
	res = env.Do("PATCH", path, map[string]any{"periodicity": "hourly"}, a.auth(api.HeaderRequestID, "my-own-id")...)
	want(t, "a refused edit", res, 422, "validation_failed")
	var problem struct {
		RequestID string `json:"request_id"`
	}
	res.Decode(t, &problem)
	if problem.RequestID != requestID(t, res).String() {
		t.Fatalf("problem request_id %q, X-Request-ID %s", problem.RequestID, requestID(t, res))
	}
	dispatchReq := uuid.New()
	want(t, "dispatch", env.Do("POST", path+"/dispatch", nil, a.auth(api.HeaderRequestID, dispatchReq.String())...), 202)

	h, res := historyOnceRunFinished(t, env, a, created.ID, "?deliveries=true")
	type step struct {
		typ, command string
		corr         uuid.UUID
	}
	steps := []step{{"mailing.created", "CreateMailing", createReq}, {"mailing.updated", "UpdateMailing", editReq},
		{"mailing.updated", "UpdateMailing", otherReq}, {"mailing.started", "DispatchMailing", dispatchReq}}
	if len(h.Events) != len(steps) {
		t.Fatalf("events %s", res.Body)
	}
	ids := map[uuid.UUID]bool{}
	for i, e := range h.Events {
		s := steps[i]
		if e.Type != s.typ || e.Command != s.command || e.CorrelationID != s.corr || e.CausationID != nil ||
			e.ActorID == nil || *e.ActorID != a.ID || e.EventID == uuid.Nil || ids[e.EventID] {
			t.Fatalf("event %d: %s by %s (%v) in request %s caused by %v, want %s by %s in request %s with no cause",
				i, e.Type, e.Command, e.ActorID, e.CorrelationID, e.CausationID, s.typ, s.command, s.corr)
		}
		ids[e.EventID] = true
	}

	run := h.Runs[0].RunID
	started := commands.StartedEventID(run)
	if h.Deliveries == nil || len(h.Deliveries.Items) != 2 {
		t.Fatalf("deliveries %s", res.Body)
	}
	// Attempts recorded together share their event; each has its own id.
	attemptIDs := map[uuid.UUID]bool{}
	for _, d := range h.Deliveries.Items {
		if d.CorrelationID != dispatchReq || d.CausationID == nil || *d.CausationID != started || d.ActorID != nil ||
			d.Command != "RecordAttempts" || ids[d.EventID] || d.AttemptID == nil || attemptIDs[*d.AttemptID] {
			t.Fatalf("delivery %v by %s (%v) in request %s caused by %v, want request %s, caused by run.started %s",
				d.AttemptID, d.Command, d.ActorID, d.CorrelationID, d.CausationID, dispatchReq, started)
		}
		attemptIDs[*d.AttemptID] = true
	}
	recs, err := env.App.Store.Load(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	first, end := recs[0], recs[len(recs)-1]
	if first.EventID != started || first.Metadata.CorrelationID != dispatchReq || first.Metadata.ActorID != a.ID ||
		end.Type != "run.finished" || end.Metadata.CorrelationID != dispatchReq || end.Metadata.CausationID != started {
		t.Fatalf("run trail: start %s %+v, end %s %+v", first.Type, first.Metadata, end.Type, end.Metadata)
	}
}
