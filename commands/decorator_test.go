package commands_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// commandCount reads herald_commands_total{command, outcome} and the
// number of durations observed for command.
func commandCount(t *testing.T, reg *prometheus.Registry, command, outcome string) (total, timed uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case mf.GetName() == "herald_commands_total" && labels["command"] == command && labels["outcome"] == outcome:
				total = uint64(m.GetCounter().GetValue())
			case mf.GetName() == "herald_command_duration_seconds" && labels["command"] == command:
				timed = m.GetHistogram().GetSampleCount()
			}
		}
	}
	return total, timed
}

// Each command through the decorator leaves one log line with its name,
// actor, correlation and outcome, and is counted and timed; a command that
// came without a correlation gets one, and its events carry it.
func TestDecoratorLogsAndCountsEveryCommand(t *testing.T) {
	t.Parallel()
	e := newRunsEnv(t)
	var logs bytes.Buffer
	runs := commands.NewDecorator(zerolog.New(&logs)).Runs(e.runs)
	reg := prometheus.NewRegistry()
	reg.MustRegister(commands.Collectors()...)
	okBefore, timedBefore := commandCount(t, reg, "DispatchMailing", "ok")
	missingBefore, _ := commandCount(t, reg, "DispatchMailing", "not_found")

	request := uuid.New()
	_, run, err := runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: e.mailing(t, true), Owner: e.owner},
		domain.Metadata{ActorID: e.owner, CorrelationID: request})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: uuid.New()}, domain.Metadata{}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("dispatch of a missing mailing: %v", err)
	}
	_, second, err := runs.Dispatch(e.ctx, commands.DispatchMailing{MailingID: e.mailing(t, true)}, domain.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	attempt := domain.DeliveryAttempted{ClientID: uuid.New(), Success: true, AttemptedAt: e.now, Attempt: 1}
	batch := commands.AttemptBatch{ID: uuid.Must(uuid.NewV7()), Attempts: []domain.DeliveryAttempted{attempt}}
	if _, err := runs.RecordAttempts(e.ctx, run, batch, domain.Metadata{CorrelationID: request,
		CausationID: commands.StartedEventID(run)}); err != nil {
		t.Fatal(err)
	}

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("%d log lines for 4 commands:\n%s", len(lines), logs.String())
	}
	for i, want := range []map[string]any{
		{"level": "info", "command": "DispatchMailing", "outcome": "ok", "actor_id": e.owner.String(), "correlation_id": request.String()},
		{"level": "info", "command": "DispatchMailing", "outcome": "not_found"},
		{"level": "info", "command": "DispatchMailing", "outcome": "ok"},
		{"level": "debug", "command": "RecordAttempts", "outcome": "ok", "causation_id": commands.StartedEventID(run).String()},
	} {
		for k, v := range want {
			if lines[i][k] != v {
				t.Fatalf("line %d: %s = %v, want %v (%v)", i, k, lines[i][k], v, lines[i])
			}
		}
		if _, ok := lines[i]["duration"].(float64); !ok || lines[i]["message"] != "command handled" {
			t.Fatalf("line %d: %v", i, lines[i])
		}
		if corr, err := uuid.Parse(lines[i]["correlation_id"].(string)); err != nil || corr == uuid.Nil {
			t.Fatalf("line %d: correlation %v", i, lines[i]["correlation_id"])
		}
	}
	if _, ok := lines[2]["actor_id"]; ok {
		t.Fatalf("a command without an actor logged one: %v", lines[2])
	}
	recs, err := e.store.Load(e.ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[0].Metadata.CorrelationID.String(); got != lines[2]["correlation_id"] {
		t.Fatalf("run.started correlation %s, the command's %v", got, lines[2]["correlation_id"])
	}

	ok, timed := commandCount(t, reg, "DispatchMailing", "ok")
	missing, _ := commandCount(t, reg, "DispatchMailing", "not_found")
	if ok-okBefore != 2 || missing-missingBefore != 1 || timed-timedBefore != 3 {
		t.Fatalf("counted %d ok, %d not found, %d timed; want 2, 1, 3", ok-okBefore, missing-missingBefore, timed-timedBefore)
	}
}
