package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	cmds "github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/saga"
)

// herald send against real PostgreSQL, Redis, a sender consuming the
// command stream and the SMTP sink; the scheduler keeps its table from
// events but its loop is off, so only `send --due` fires the due run.
func TestSendDispatchesAndWaits(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bus.Connect(ctx, testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cfg := bus.Config{Client: rc, Prefix: testenv.Name("send") + ":", Logger: zerolog.Nop()}
	queue, err := saga.NewQueue(cfg)
	if err != nil {
		t.Fatal(err)
	}
	roster, err := saga.NewRoster(pool)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := cmds.NewRuns(store, roster, queue, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	// What send itself runs: the same handler behind the decorator.
	var sendLog bytes.Buffer
	sent, err := sendRuns(pool, store, queue, zerolog.New(&sendLog))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := bus.NewPublisher(cfg)
	relay, _ := eventstore.NewRelay(store, pub, cfg, zerolog.Nop())
	go relay.Run(ctx)
	sched, _ := saga.NewScheduler(pool, runs, saga.RealClock{}, saga.SchedulerConfig{}, zerolog.Nop())
	rt, _ := projections.NewRuntime(pool, cfg, zerolog.Nop(), sched)
	go rt.Run(ctx)
	sink, _ := mail.NewSink(mail.SinkConfig{Dir: t.TempDir()})
	if err := sink.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	mailer, _ := mail.NewClient(mail.Config{Endpoint: sink.Endpoint(), From: "herald@example.test", Concurrency: 2})
	defer mailer.Close()
	sender, _ := saga.NewSender(pool, store, mailer, runs, saga.RealClock{}, saga.SenderConfig{Concurrency: 2}, zerolog.Nop())
	go sender.Consume(ctx, cfg, "send-test")

	owner := uuid.New()
	commit := func(typ string, id uuid.UUID, evs []domain.Event) {
		t.Helper()
		news := make([]domain.NewEvent, len(evs))
		for i, e := range evs {
			news[i] = domain.NewEvent{ID: uuid.New(), Event: e}
		}
		if _, err := store.Append(ctx, domain.Stream{Type: typ, ID: id}, eventstore.NoStream, news...); err != nil {
			t.Fatal(err)
		}
	}
	var clients []uuid.UUID
	for i := range 3 {
		id := uuid.New()
		c, _ := domain.NewClient(id, owner, domain.ClientFields{Email: "c" + string(rune('a'+i)) + "@example.test", FullName: "C"})
		commit(domain.ClientStreamType, id, c.Changes())
		clients = append(clients, id)
	}
	// A fourth client has unsubscribed: its delivery is skipped, not failed.
	gone := uuid.New()
	gc, _ := domain.NewClient(gone, owner, domain.ClientFields{Email: "gone@example.test", FullName: "Gone"})
	if err := gc.Unsubscribe(time.Now()); err != nil {
		t.Fatal(err)
	}
	commit(domain.ClientStreamType, gone, gc.Changes())
	everyone := append(slices.Clone(clients), gone)
	msgID := uuid.New()
	msg, _ := domain.NewMessage(msgID, owner, domain.MessageFields{Subject: "S", Body: "B"})
	commit("message", msgID, msg.Changes())
	newMailing := func(start time.Time, active bool) uuid.UUID {
		id := uuid.New()
		m, err := domain.NewMailing(id, owner, domain.MailingFields{MessageID: msgID, ClientIDs: everyone, StartAt: start,
			EndAt: start.Add(48 * time.Hour), Periodicity: domain.Daily}, active)
		if err != nil {
			t.Fatal(err)
		}
		commit(domain.MailingStreamType, id, m.Changes())
		return id
	}

	// --mailing: a mailing starting next week is sent now.
	later := newMailing(time.Now().Add(7*24*time.Hour), true)
	var out, bar bytes.Buffer
	rep := textReport(&out) // also what --json prints at the end
	done, err := dispatchMailings(ctx, pool, sent, []uuid.UUID{later}, false, rep)
	if err != nil || len(done) != 1 || !strings.Contains(out.String(), "dispatched mailing "+later.String()) || !strings.Contains(out.String(), "4 clients") {
		t.Fatalf("dispatch: %v %q", err, out.String())
	}
	if lines := strings.Split(strings.TrimSpace(sendLog.String()), "\n"); len(lines) != 1 ||
		!strings.Contains(lines[0], `"command":"DispatchMailing"`) || !strings.Contains(lines[0], `"message":"command handled"`) {
		t.Fatalf("send logged %q, want one command handled line", sendLog.String())
	}
	out.Reset()
	if err := waitRuns(ctx, pool, done, rep, &bar, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "finished: sent 3, failed 0, skipped 1 (unsubscribed or suppressed)\n") || sink.Count() != 3 {
		t.Fatalf("wait: %q, sink %d", out.String(), sink.Count())
	}
	if !strings.Contains(bar.String(), "4/4") {
		t.Fatalf("progress bar %q", bar.String())
	}
	// --json: one document, each run once in its final state.
	var js bytes.Buffer
	if err := writeJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, js.String())
	}
	if len(doc.Runs) != 1 || doc.Runs[0]["state"] != runFinished || doc.Runs[0]["sent"] != 3.0 || doc.Runs[0]["clients"] != 4.0 ||
		doc.Runs[0]["skipped"] != 1.0 || doc.Runs[0]["failed"] != 0.0 || doc.Runs[0]["bounced"] != 0.0 ||
		doc.Runs[0]["run_id"] != done[0].runID.String() || doc.Runs[0]["mailing_id"] != later.String() {
		t.Fatalf("--json document %s", js.String())
	}

	// --due: a mailing whose window is open is due; the scheduler's loop is
	// off, send fires the same run the scheduler would.
	now := newMailing(time.Now().Add(-time.Hour), true)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM saga_schedule WHERE mailing_id = $1 AND due_at <= now()`, now).Scan(&n)
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("schedule row never due")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out.Reset()
	done, err = dispatchMailings(ctx, pool, runs, nil, true, textReport(&out))
	if err != nil || len(done) != 1 || done[0].mailingID != now {
		t.Fatalf("--due: %v %q", err, out.String())
	}
	var due time.Time
	_ = pool.QueryRow(ctx, `SELECT run_due FROM saga_schedule WHERE mailing_id = $1`, now).Scan(&due)
	if done[0].runID != domain.ScheduledRunID(now, due) {
		t.Fatal("--due fired another run than the scheduler's")
	}
	if err := waitRuns(ctx, pool, done, textReport(&out), &bar, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// --run: a run whose command was lost (queued where no sender listens)
	// is handed to the senders again and finishes; a finished one is left.
	lostQueue, _ := saga.NewQueue(bus.Config{Client: rc, Prefix: testenv.Name("lost") + ":", Logger: zerolog.Nop()})
	lostRuns, _ := cmds.NewRuns(store, roster, lostQueue, time.Now)
	_, lost, err := lostRuns.Dispatch(ctx, cmds.DispatchMailing{MailingID: later}, domain.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	again, err := resumeRuns(ctx, pool, runs, []uuid.UUID{lost, done[0].runID, uuid.New()}, textReport(&out))
	if err == nil || len(again) != 1 || again[0].runID != lost ||
		!strings.Contains(out.String(), "re-dispatched run "+lost.String()) || !strings.Contains(out.String(), "already finished") ||
		!strings.Contains(out.String(), "no such run") {
		t.Fatalf("--run: %v %q", err, out.String())
	}
	if err := waitRuns(ctx, pool, again, textReport(&out), &bar, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}

	// --wait stops following a run once only deferred deliveries are left
	// (a 4xx answer): their retries are minutes to hours away.
	grey := uuid.New()
	c, _ := domain.NewClient(grey, owner, domain.ClientFields{Email: "grey@example.test", FullName: "Grey"})
	commit(domain.ClientStreamType, grey, c.Changes())
	sink.SetReply(func(_, to string, _ int) *mail.Reply {
		if to == "grey@example.test" {
			return &mail.Reply{Code: 450, Text: "4.2.0 greylisted"}
		}
		return nil
	})
	greyMailing := uuid.New()
	gm, err := domain.NewMailing(greyMailing, owner, domain.MailingFields{MessageID: msgID, ClientIDs: []uuid.UUID{clients[0], grey},
		StartAt: time.Now().Add(7 * 24 * time.Hour), EndAt: time.Now().Add(9 * 24 * time.Hour), Periodicity: domain.Daily}, true)
	if err != nil {
		t.Fatal(err)
	}
	commit(domain.MailingStreamType, greyMailing, gm.Changes())
	out.Reset()
	waiting, err := dispatchMailings(ctx, pool, runs, []uuid.UUID{greyMailing}, false, textReport(&out))
	if err != nil || len(waiting) != 1 {
		t.Fatalf("dispatch: %v %q", err, out.String())
	}
	out.Reset()
	if err := waitRuns(ctx, pool, waiting, textReport(&out), &bar, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if want := "run " + waiting[0].runID.String() + " of mailing " + greyMailing.String() + " waits: 1 of 2 clients done, 1 deferred, retried from "; !strings.HasPrefix(out.String(), want) {
		t.Fatalf("wait: %q, want %q…", out.String(), want)
	}

	// A mailing that does not exist is reported, the others still go.
	out.Reset()
	if _, err := dispatchMailings(ctx, pool, runs, []uuid.UUID{uuid.New()}, false, textReport(&out)); err == nil || !strings.Contains(out.String(), "not dispatched") {
		t.Fatalf("unknown mailing: %v %q", err, out.String())
	}
}

// A finished run's line keeps skips and bounces apart from failures, as the
// mailing report does, and names them only when there are some.
func TestSendRunOutcome(t *testing.T) {
	for _, c := range []struct {
		r    runReport
		want string
	}{
		{runReport{Sent: 3}, "sent 3, failed 0"},
		{runReport{Sent: 8, Failed: 1, Skipped: 2}, "sent 8, failed 1, skipped 2 (unsubscribed or suppressed)"},
		{runReport{Sent: 5, Failed: 2, Bounced: 1}, "sent 5, failed 2 (1 bounced)"},
	} {
		if got := c.r.outcome(); got != c.want {
			t.Errorf("outcome of %+v = %q, want %q", c.r, got, c.want)
		}
	}
}
