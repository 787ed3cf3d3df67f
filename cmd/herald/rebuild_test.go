package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// `herald rebuild-projections` against the whole application running (API,
// relay, projectors, scheduler, sender, SMTP sink), after a history of
// accounts, clients, messages, mailings that send, edits, toggles and
// deletions: every read model after the rebuild equals, row for row, the
// one built live, and the application goes on projecting afterwards.
func TestRebuildProjectionsCommandEqualsLive(t *testing.T) {
	env := apptest.Start(t)
	t.Setenv("DATABASE_URL", env.App.Config.DatabaseURL)
	t.Setenv("LOG_LEVEL", "warn")
	for i := range 2 {
		tok := rbSignUp(t, env)
		rbHistory(t, env, tok, i)
	}
	rbWaitQuiet(t, env)
	before := rbSnapshot(t, env)
	if len(before["clients"]) != 12 || len(before["mailings"]) != 4 || len(before["users"]) != 2 {
		t.Fatalf("history not in the read models: %d clients, %d mailings, %d users",
			len(before["clients"]), len(before["mailings"]), len(before["users"]))
	}
	t.Logf("attempts recorded live: %d", len(before["attempts"]))

	// Piped, without --json: exactly one human line per projection on
	// stdout, and the log on stderr (JSON lines at info) repeats none.
	var stdout, logs bytes.Buffer
	t.Setenv("LOG_LEVEL", "info")
	if code := run(context.Background(), []string{"rebuild-projections", "--nice", "0"}, &stdout, &logs); code != 0 {
		t.Fatalf("rebuild-projections: exit %d\nstdout %s\nstderr %s", code, stdout.String(), logs.String())
	}
	t.Logf("rebuild-projections printed:\n%s", stdout.String())
	summary := regexp.MustCompile(`^rebuilt (\S+): (\d+) events in \S+ \((\d+) events/s\), (\d+) applied$`)
	var rebuilt []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		m := summary.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("stdout line %q is not a projection's human line", line)
			continue
		}
		rebuilt = append(rebuilt, m[1])
	}
	if len(rebuilt) != len(env.App.Projectors) {
		t.Errorf("%d lines for %d projections:\n%s", len(rebuilt), len(env.App.Projectors), stdout.String())
	}
	for _, p := range env.App.Projectors {
		if !slices.Contains(rebuilt, p.Name()) {
			t.Errorf("no summary line for %s in:\n%s", p.Name(), stdout.String())
		}
	}
	rbNoReportInLog(t, logs.String(), rbNames(env.App.Projectors))
	rbWaitQuiet(t, env)
	after := rbSnapshot(t, env)
	for table, rows := range before {
		if !reflect.DeepEqual(rows, after[table]) {
			t.Errorf("%s differs after the rebuild:\nlive    %v\nrebuilt %v", table, rows, after[table])
		}
	}

	// The live projectors go on from the rebuilt tables.
	tok := rbSignUp(t, env)
	if res := env.Do("POST", "/api/v1/clients", map[string]any{"email": "late@example.org", "full_name": "Late"}, apptest.Bearer(tok)...); res.Status != 201 {
		t.Fatalf("client after rebuild: %d %s", res.Status, res.Body)
	}
	rbWaitQuiet(t, env)
	res := env.Do("GET", "/api/v1/clients", nil, apptest.Bearer(tok)...)
	if res.Status != 200 || !strings.Contains(string(res.Body), "late@example.org") {
		t.Fatalf("client created after the rebuild not listed: %d %s", res.Status, res.Body)
	}

	// --json: one object per projection on stdout, the log (JSON, stderr
	// being no terminal) repeating none of it.
	stdout.Reset()
	logs.Reset()
	if code := run(context.Background(), []string{"rebuild-projections", "--json", "--nice", "0"}, &stdout, &logs); code != 0 {
		t.Fatalf("rebuild-projections --json: exit %d\n%s", code, logs.String())
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r rebuildReport
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Projection == "" || r.Events == 0 || r.ElapsedMS <= 0 {
			t.Fatalf("--json line %q: %v", line, err)
		}
		names = append(names, r.Projection)
	}
	for _, p := range env.App.Projectors {
		if !slices.Contains(names, p.Name()) {
			t.Errorf("no --json object for %s in:\n%s", p.Name(), stdout.String())
		}
	}
	rbNoReportInLog(t, logs.String(), rbNames(env.App.Projectors))
	stdout.Reset()
	if code := run(context.Background(), []string{"rebuild-projections", "--list", "--json"}, &stdout, &logs); code != 0 {
		t.Fatalf("--list --json: exit %d", code)
	}
	if lines := strings.Split(strings.TrimSpace(stdout.String()), "\n"); len(lines) != len(env.App.Projectors) {
		t.Errorf("--list --json printed %d lines for %d projections", len(lines), len(env.App.Projectors))
	} else {
		for _, line := range lines {
			var r rebuildReport
			if err := json.Unmarshal([]byte(line), &r); err != nil || len(r.Tables) == 0 {
				t.Errorf("--list --json line %q: %v", line, err)
			}
		}
	}

	// Usage errors.
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"rebuild-projections", "--projection", "nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown projection: exit %d, want 2", code)
	}
}

// rbNoReportInLog fails t if a stderr line is not a JSON log line, or is
// one projection's result (the report's line, said twice).
func rbNoReportInLog(t *testing.T, logs string, names []string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var entry struct {
			Projector string `json:"projector"`
			Phase     string `json:"phase"`
		}
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil || strings.Contains(line, "rebuilt") {
			t.Errorf("stderr line %q: not a JSON log line, or repeating the report", line)
			continue
		}
		// Progress names the projections of the pass; a line for one
		// projection done is its result, the report's line said again.
		if slices.Contains(names, entry.Projector) && entry.Phase == "done" {
			t.Errorf("stderr line %q repeats %s's line of the report", line, entry.Projector)
		}
	}
}

var rbVerifyLink = regexp.MustCompile(`token=([A-Za-z0-9_\-.~%]+)`)

func rbSignUp(t testing.TB, env *apptest.Env) string {
	t.Helper()
	email := testenv.Name("rb") + "@example.org"
	const pw = "correct horse battery"
	if res := env.Do("POST", "/api/v1/auth/register", map[string]string{"email": email, "password": pw, "name": "Rebuild " + email}); res.Status != 201 {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	token := ""
	testenv.Eventually(t, 30*time.Second, "the verification mail to "+email, func() bool {
		msgs, err := env.Sink.Messages()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if slices.Contains(m.Recipients, email) {
				if sm := rbVerifyLink.FindStringSubmatch(m.Body); sm != nil {
					token = sm[1]
				}
			}
		}
		return token != ""
	})
	if res := env.Do("POST", "/api/v1/auth/verify", map[string]string{"token": token}); res.Status != 200 {
		t.Fatalf("verify: %d %s", res.Status, res.Body)
	}
	res := env.Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw})
	if res.Status != 200 {
		t.Fatalf("login: %d %s", res.Status, res.Body)
	}
	var login struct {
		Token string `json:"token"`
	}
	res.Decode(t, &login)
	return login.Token
}

// rbHistory makes clients, messages and mailings (one sending at once),
// then edits, toggles and deletes some of them.
func rbHistory(t *testing.T, env *apptest.Env, tok string, n int) {
	t.Helper()
	auth := apptest.Bearer(tok)
	must := func(status int, method, path string, body any) map[string]any {
		t.Helper()
		res := env.Do(method, path, body, auth...)
		if res.Status != status {
			t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
		}
		var out map[string]any
		if len(res.Body) > 0 && status != 204 {
			res.Decode(t, &out)
		}
		return out
	}
	var clients []string
	for i := range 6 {
		c := must(201, "POST", "/api/v1/clients", map[string]any{"email": fmt.Sprintf("c%d-%d@example.org", n, i), "full_name": fmt.Sprintf("Client %d", i), "comment": "seed"})
		clients = append(clients, c["id"].(string))
	}
	must(200, "PATCH", "/api/v1/clients/"+clients[0], map[string]any{"full_name": "Renamed"})
	must(204, "DELETE", "/api/v1/clients/"+clients[5], nil)
	msg := must(201, "POST", "/api/v1/messages", map[string]any{"subject": "News", "body": "Hello"})
	other := must(201, "POST", "/api/v1/messages", map[string]any{"subject": "Spare", "body": "Unused"})
	must(200, "PATCH", "/api/v1/messages/"+other["id"].(string), map[string]any{"subject": "Spare 2"})
	must(204, "DELETE", "/api/v1/messages/"+other["id"].(string), nil)
	now := time.Now().UTC()
	// Window open: sends at once to four clients (the sink accepts them).
	must(201, "POST", "/api/v1/mailings", map[string]any{
		"message_id": msg["id"], "client_ids": clients[:4], "periodicity": "daily", "timezone": "Europe/Paris",
		"start_at": now.Add(-time.Minute).Format(time.RFC3339), "end_at": now.Add(72 * time.Hour).Format(time.RFC3339),
	})
	// Future start, then disabled and enabled again.
	later := must(201, "POST", "/api/v1/mailings", map[string]any{
		"message_id": msg["id"], "client_ids": clients[2:5], "periodicity": "weekly", "timezone": "UTC",
		"start_at": now.Add(24 * time.Hour).Format(time.RFC3339), "end_at": now.Add(240 * time.Hour).Format(time.RFC3339),
	})
	must(200, "POST", "/api/v1/mailings/"+later["id"].(string)+"/disable", nil)
	must(200, "POST", "/api/v1/mailings/"+later["id"].(string)+"/enable", nil)
}

// rbWaitQuiet waits until the store has had no new event for a second and
// every projector's checkpoints are at the last event of each of its topics.
func rbWaitQuiet(t *testing.T, env *apptest.Env) {
	t.Helper()
	ctx := context.Background()
	var last int64 = -1
	stable := time.Now()
	testenv.Eventually(t, 90*time.Second, "the projections to catch up with a quiet store", func() bool {
		var pos int64
		if err := env.Pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM events`).Scan(&pos); err != nil {
			t.Fatal(err)
		}
		if pos != last {
			last, stable = pos, time.Now()
		}
		caught := true
		for _, p := range env.App.Projectors {
			for _, topic := range projections.Topics(p) {
				var behind bool
				err := env.Pool.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM events e WHERE e.stream_type = $2
   AND (e.tx_id, e.position) > coalesce((SELECT (c.tx_id, c.position) FROM projection_checkpoints c WHERE c.projector = $1 AND c.topic = $3), ('0'::xid8, 0::bigint)))`,
					p.Name(), strings.TrimPrefix(topic, "events."), topic).Scan(&behind)
				if err != nil {
					t.Fatal(err)
				}
				if behind {
					caught = false
				}
			}
		}
		return caught && time.Since(stable) > time.Second
	})
}

// rbSnapshot reads every projector's tables, each row as JSON, sorted.
func rbSnapshot(t *testing.T, env *apptest.Env) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range env.App.Projectors {
		for _, table := range p.Tables() {
			id := pgx.Identifier{table}.Sanitize()
			rows, err := env.Pool.Query(context.Background(), `SELECT to_jsonb(t)::text FROM `+id+` t ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			out[table] = got
		}
	}
	return out
}

// Without a terminal on stderr the progress is a log line now and then; a
// projection done is the report's line on stdout, never a log line too.
func TestRebuildProgressLogRepeatsNoResult(t *testing.T) {
	var logs bytes.Buffer
	log := zerolog.New(&logs)
	show := newProgress("users,clients", false, &logs, log)
	for _, s := range []projections.RebuildProgress{
		{Projector: "users,clients", Phase: "copy", Done: 1, Total: 10},
		{Projector: "users,clients", Phase: "copy", Done: 2, Total: 10},
		{Projector: "users,clients", Phase: "swap", Done: 10, Total: 10},
		{Projector: "users", Phase: "done", Done: 10, Total: 10, Applied: 4},
		{Projector: "users,clients", Phase: "swap", Done: 10, Total: 10},
		{Projector: "clients", Phase: "done", Done: 10, Total: 10, Applied: 6},
	} {
		show.update(s)
	}
	show.finish()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Errorf("want one log line per phase (copy, swap), got %d:\n%s", len(lines), logs.String())
	}
	rbNoReportInLog(t, logs.String(), []string{"users", "clients"})
	if isTerminal(&logs) {
		t.Error("a buffer is not a terminal: the progress would draw a bar into it")
	}
}

// rbNames lists the projectors' names.
func rbNames(all []projections.Projector) []string {
	var names []string
	for _, p := range all {
		names = append(names, p.Name())
	}
	return names
}
