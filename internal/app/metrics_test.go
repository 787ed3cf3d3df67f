package app_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

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
