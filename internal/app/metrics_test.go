package app_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// metricName is a Herald metric as the README names it.
var metricName = regexp.MustCompile(`\bherald_[a-z0-9_]+\b`)

// Every metric the README names is on /metrics of the running application
// once there is something to count: a user signs up and a mailing runs.
func TestMetricsTheREADMENamesAreServed(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range metricName.FindAllString(string(readme), -1) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Fatal("the README names no metric")
	}

	env := apptest.Start(t)
	runAMailing(t, env)
	for _, name := range names {
		testenv.Eventually(t, 30*time.Second, name+" on /metrics", func() bool {
			res := env.Do("GET", "/metrics", nil)
			if res.Status != 200 {
				t.Fatalf("/metrics: %d %s", res.Status, res.Body)
			}
			for line := range strings.Lines(string(res.Body)) {
				// A histogram's samples carry suffixes; its family is named by TYPE.
				if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") ||
					strings.HasPrefix(line, "# TYPE "+name+" ") {
					return true
				}
			}
			return false
		})
	}
}

// runAMailing signs a user up and has the scheduler start a mailing whose
// window is open.
func runAMailing(t *testing.T, env *apptest.Env) {
	t.Helper()
	owner := apptest.SignUp(env, testenv.Name("metrics")+"@example.org", "correct horse battery")
	create := func(path string, body any) uuid.UUID { return env.Create(owner.Token, path, body) }
	client := create("/api/v1/clients", map[string]any{"email": "reader@example.org", "full_name": "Reader"})
	msg := create("/api/v1/messages", map[string]any{"subject": "Counted", "body": "Hello."})
	now := time.Now().UTC().Truncate(time.Second)
	create("/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": []uuid.UUID{client},
		"start_at": now.Add(-time.Minute).Format(time.RFC3339), "end_at": now.Add(time.Hour).Format(time.RFC3339),
		"periodicity": "once", "timezone": "UTC"})
}

// operationsRow is a row of the metrics table in docs/OPERATIONS.md: the
// metric's name and type.
var operationsRow = regexp.MustCompile("(?m)^\\| `(herald_[a-z0-9_]+)` \\| ([a-z]+) \\|")

// operationsMetrics are the metrics docs/OPERATIONS.md lists, with their types.
func operationsMetrics(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]string{}
	for _, m := range operationsRow.FindAllStringSubmatch(string(doc), -1) {
		table[m[1]] = m[2]
	}
	if len(table) == 0 {
		t.Fatal("docs/OPERATIONS.md lists no metric")
	}
	return table
}

// servedTypes are the Herald metric families a scrape serves, by type.
func servedTypes(body []byte) map[string]string {
	served := map[string]string{}
	for line := range strings.Lines(string(body)) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "herald_") {
			served[f[2]] = f[3]
		}
	}
	return served
}

// sample is the value of the sample series (a name with its labels, as
// the text format writes them) in a scrape; ok is false when it is absent.
func sample(t *testing.T, body []byte, series string) (v float64, ok bool) {
	t.Helper()
	for line := range strings.Lines(string(body)) {
		if rest, found := strings.CutPrefix(line, series+" "); found {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("%s: %v", strings.TrimSpace(line), err)
			}
			return v, true
		}
	}
	return 0, false
}

func scrape(t *testing.T, env *apptest.Env) []byte {
	t.Helper()
	res := env.Do("GET", "/metrics", nil)
	if res.Status != 200 {
		t.Fatalf("/metrics: %d %s", res.Status, res.Body)
	}
	return res.Body
}

// The metrics table of docs/OPERATIONS.md is what /metrics serves: every
// row is served with its type, every Herald metric served has a row, and
// every metric the Grafana dashboard queries has one.
func TestMetricsOfTheOperationsTableAreServed(t *testing.T) {
	t.Parallel()
	table := operationsMetrics(t)

	dashboard, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var parsed map[string]any
	if err := json.Unmarshal(dashboard, &parsed); err != nil {
		t.Fatalf("deploy/grafana-dashboard.json: %v", err)
	}
	named := metricName.FindAllString(string(dashboard), -1)
	if len(named) == 0 {
		t.Fatal("the dashboard names no metric")
	}
	var checked []string
	for _, n := range named {
		if slices.Contains(checked, n) {
			continue
		}
		checked = append(checked, n)
		family := n
		if base, ok := strings.CutSuffix(n, "_bucket"); ok && table[base] == "histogram" {
			family = base
		}
		if _, ok := table[family]; !ok {
			t.Errorf("the dashboard queries %s, which docs/OPERATIONS.md does not list", n)
		}
	}

	env := apptest.Start(t)
	runAMailing(t, env)
	// Histograms and the HTTP and command counters appear once something
	// was measured; the mailing above measures them all.
	var served map[string]string
	testenv.Eventually(t, 30*time.Second, "every metric of docs/OPERATIONS.md on /metrics", func() bool {
		served = servedTypes(scrape(t, env))
		for name := range table {
			if _, ok := served[name]; !ok {
				return false
			}
		}
		return true
	})
	for name, typ := range table {
		if served[name] != typ {
			t.Errorf("docs/OPERATIONS.md says %s is a %s; /metrics serves a %s", name, typ, served[name])
		}
	}
	for name := range served {
		if _, ok := table[name]; !ok {
			t.Errorf("/metrics serves %s, which docs/OPERATIONS.md does not list", name)
		}
	}
}

// A projector that is behind shows it: its lag counts the events it has
// not applied and the age of the oldest, and both read 0 once it caught up.
func TestProjectionLagGaugesFollowTheProjector(t *testing.T) {
	t.Parallel()
	// No projector runs: the events the registration appends wait.
	env := apptest.Start(t, apptest.WithRoles())
	res := env.Do("POST", "/api/v1/auth/register", map[string]string{
		"email": testenv.Name("lag") + "@example.org", "password": "correct horse battery", "name": "Lagging"})
	if res.Status != 201 {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	body := scrape(t, env)
	if n, ok := sample(t, body, `herald_projection_lag_events{projector="users"}`); !ok || n < 1 {
		t.Fatalf("users projector stopped after a registration: lag %v events (served %v), want at least 1", n, ok)
	}
	if age, ok := sample(t, body, `herald_projection_lag_seconds{projector="users"}`); !ok || age <= 0 {
		t.Fatalf("users projector stopped after a registration: lag %v s (served %v), want the oldest event's age", age, ok)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range env.App.Components {
		if c.Role == app.RoleProjector {
			wg.Add(1)
			go func() { defer wg.Done(); _ = c.Run(ctx) }()
		}
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	testenv.Eventually(t, 30*time.Second, "the users projector's lag back at 0", func() bool {
		body := scrape(t, env)
		n, _ := sample(t, body, `herald_projection_lag_events{projector="users"}`)
		age, ok := sample(t, body, `herald_projection_lag_seconds{projector="users"}`)
		return ok && n == 0 && age == 0
	})
	testenv.Eventually(t, 30*time.Second, "the relay's lag at 0", func() bool {
		body := scrape(t, env)
		n, _ := sample(t, body, `herald_relay_lag_events`)
		age, ok := sample(t, body, `herald_relay_lag_seconds`)
		return ok && n == 0 && age == 0
	})
}
