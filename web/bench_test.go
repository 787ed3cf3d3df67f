package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
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

// benchInt is the positive integer in the environment variable name, or def.
func benchInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s: want a positive integer, got %q", name, v)
	}
	return n
}

// pageVsJSON measures a page against the JSON endpoint that serves the same
// data, in one run on one application: rounds alternate between the two
// (page, JSON, page, ...) so both see the same machine, each round
// `inFlight` goroutines sending `perRound` requests in all as fast as
// answers come. It returns the median over rounds of each side's p99 and
// p50.
func pageVsJSON(b *testing.B, env *apptest.Env, token, page, api string) (pageP99, apiP99, pageP50, apiP50 time.Duration) {
	b.Helper()
	const rounds, perRound, inFlight = 5, 2000, 8
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}
	measure := func(path string, browser bool) (p50, p99 time.Duration) {
		lat := make([]time.Duration, perRound)
		var next sync.Mutex
		i := 0
		var wg sync.WaitGroup
		var failed error
		for range inFlight {
			wg.Go(func() {
				for {
					next.Lock()
					n := i
					i++
					next.Unlock()
					if n >= perRound {
						return
					}
					req, _ := http.NewRequest(http.MethodGet, env.URL+path, nil)
					if browser {
						req.Header.Set("Cookie", "herald_session="+token)
						req.Header.Set("Accept", "text/html")
					} else {
						req.Header.Set("Authorization", "Bearer "+token)
					}
					start := time.Now()
					res, err := hc.Do(req)
					if err == nil {
						_, err = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK {
							err = fmt.Errorf("GET %s: %d", path, res.StatusCode)
						}
					}
					lat[n] = time.Since(start)
					if err != nil {
						next.Lock()
						failed = err
						next.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if failed != nil {
			b.Fatal(failed)
		}
		slices.Sort(lat)
		return lat[len(lat)/2], lat[len(lat)*99/100]
	}
	measure(page, true) // warm both paths up
	measure(api, false)
	var p99s, a99s, p50s, a50s []time.Duration
	for range rounds {
		p50, p99 := measure(page, true)
		a50, a99 := measure(api, false)
		p99s, a99s, p50s, a50s = append(p99s, p99), append(a99s, a99), append(p50s, p50), append(a50s, a50)
	}
	med := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	return med(p99s), med(a99s), med(p50s), med(a50s)
}

// BenchmarkPages measures the server time of the pages against the JSON
// endpoints serving the same data (target: page p99 ≤ 2× the JSON p99):
//
//   - GET /clients against GET /api/v1/clients for an owner with 200
//     clients (the first page of 50), in a clients table of
//     HERALD_BENCH_PAGE_CLIENTS rows (default 1,000,000). The owner's
//     clients are made through the API; the others are written straight
//     into the read-model table in one statement, as a rebuild would leave
//     them: the list's cost is an index range of one owner's rows, so what
//     matters is the table's size, not how its rows came;
//   - GET /mailings/{id} against GET /api/v1/mailings/{id}/attempts (the
//     first page of attempts, the page's largest part) for a mailing with
//     HERALD_BENCH_PAGE_ATTEMPTS attempts (default 100,000, one in seven
//     failed) in one finished run. The run's events are written into the
//     store in SQL and reach the read models through the relay and the
//     projectors, as a sender's would.
func BenchmarkPages(b *testing.B) {
	total := benchInt(b, "HERALD_BENCH_PAGE_CLIENTS", 1_000_000)
	env := apptest.Start(b, apptest.WithRoles(app.RoleProjector))
	a := apptest.SignUp(env, testenv.Name("bench")+"@example.com", "correct horse battery")
	const own = 200
	for i := range own {
		res := env.Do("POST", "/api/v1/clients", map[string]string{"email": fmt.Sprintf("c%03d@example.org", i), "full_name": fmt.Sprintf("Client %03d", i)},
			"Authorization", "Bearer "+a.Token)
		if res.Status != http.StatusCreated {
			b.Fatalf("create client: %d %s", res.Status, res.Body)
		}
	}
	ctx := context.Background()
	// Filler: 1,000 other owners share the rest.
	if _, err := env.Pool.Exec(ctx, `
INSERT INTO clients (id, owner_id, email, full_name, comment, version, created_at, updated_at)
SELECT gen_random_uuid(), md5('owner' || (i % 1000))::uuid, 'f' || i || '@example.net', 'Filler ' || i, '', 1, now(), now()
FROM generate_series(1, $1::int) AS i`, total-own); err != nil {
		b.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, `VACUUM ANALYZE clients`); err != nil {
		b.Fatal(err)
	}
	testenv.Eventually(b, time.Minute, "the owner's clients projected", func() bool {
		var n int
		if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM clients WHERE owner_id = $1`, a.ID).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n == own
	})
	var rows int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM clients`).Scan(&rows); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	pageP99, apiP99, pageP50, apiP50 := pageVsJSON(b, env, a.Token, "/clients", "/api/v1/clients")
	b.StopTimer()
	b.Logf("%d clients in the table: GET /clients p50 %s p99 %s; GET /api/v1/clients p50 %s p99 %s; page p99 = %.2f× JSON (target ≤ 2×)",
		rows, pageP50, pageP99, apiP50, apiP99, float64(pageP99)/float64(apiP99))
	b.ReportMetric(float64(rows), "clients")
	b.ReportMetric(float64(pageP99.Microseconds())/1000, "clients_page_p99_ms")
	b.ReportMetric(float64(apiP99.Microseconds())/1000, "clients_json_p99_ms")
	b.ReportMetric(float64(pageP99)/float64(apiP99), "clients_page/json_p99")

	attempts := benchInt(b, "HERALD_BENCH_PAGE_ATTEMPTS", 100_000)
	auth := []string{"Authorization", "Bearer " + a.Token}
	msg := env.Create(a.Token, "/api/v1/messages", map[string]any{"subject": "Bench news", "body": "Hello"})
	var client uuid.UUID
	if err := env.Pool.QueryRow(ctx, `SELECT id FROM clients WHERE owner_id = $1 LIMIT 1`, a.ID).Scan(&client); err != nil {
		b.Fatal(err)
	}
	mailing := env.Create(a.Token, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": []uuid.UUID{client},
		"start_at": "2030-01-01T09:00:00Z", "end_at": "2030-02-01T09:00:00Z", "periodicity": "once"})
	run := uuid.New()
	if _, err := env.Pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT gen_random_uuid(), 'run', $1::uuid, 1, 'run.started',
       jsonb_build_object('run_id', $1::uuid, 'mailing_id', $2::uuid, 'owner_id', $3::uuid, 'message_id', $4::uuid,
           'trigger', 'manual', 'due_at', now(), 'started_at', now(), 'clients', $5::int), '{}'::jsonb`,
		run, mailing, a.ID, msg, attempts); err != nil {
		b.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT gen_random_uuid(), 'run', $1::uuid, i + 1, 'run.delivery_attempted',
       jsonb_build_object('mailing_id', $2::uuid, 'client_id', gen_random_uuid(), 'email', 'r' || i || '@example.net',
           'success', i % 7 <> 0, 'permanent', i % 7 = 0,
           'server_response', CASE WHEN i % 7 <> 0 THEN '250 2.0.0 Ok: queued' ELSE '550 5.1.1 no such user' END,
           'attempted_at', now() + i * interval '1 ms', 'attempt', 1), '{}'::jsonb
FROM generate_series(1, $3::int) AS i`, run, mailing, attempts); err != nil {
		b.Fatal(err)
	}
	failed := attempts / 7 // i % 7 = 0 for i in 1..attempts
	if _, err := env.Pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
VALUES (gen_random_uuid(), 'run', $1::uuid, $3::int + 2, 'run.finished',
        jsonb_build_object('mailing_id', $2::uuid, 'sent', $3::int - $4::int, 'failed', $4::int, 'finished_at', now()), '{}'::jsonb)`,
		run, mailing, attempts, failed); err != nil {
		b.Fatal(err)
	}
	testenv.Eventually(b, 5*time.Minute, "the run's attempts projected", func() bool {
		var n int
		if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE mailing_id = $1`, mailing).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n == attempts
	})
	page := "/mailings/" + mailing.String()
	if res := env.Do("GET", page, nil, "Cookie", "herald_session="+a.Token, "Accept", "text/html"); res.Status != http.StatusOK ||
		!strings.Contains(string(res.Body), "550 5.1.1") {
		b.Fatalf("GET %s: %d", page, res.Status)
	}
	if res := env.Do("GET", "/api/v1/mailings/"+mailing.String()+"/attempts", nil, auth...); res.Status != http.StatusOK {
		b.Fatalf("GET the attempts: %d %s", res.Status, res.Body)
	}
	b.ResetTimer()
	pageP99, apiP99, pageP50, apiP50 = pageVsJSON(b, env, a.Token, page, "/api/v1/mailings/"+mailing.String()+"/attempts")
	b.StopTimer()
	b.Logf("a mailing with %d attempts: GET /mailings/{id} p50 %s p99 %s; GET /api/v1/mailings/{id}/attempts p50 %s p99 %s; page p99 = %.2f× JSON (target ≤ 2×)",
		attempts, pageP50, pageP99, apiP50, apiP99, float64(pageP99)/float64(apiP99))
	b.ReportMetric(float64(attempts), "attempts")
	b.ReportMetric(float64(pageP99.Microseconds())/1000, "mailing_page_p99_ms")
	b.ReportMetric(float64(apiP99.Microseconds())/1000, "attempts_json_p99_ms")
	b.ReportMetric(float64(pageP99)/float64(apiP99), "mailing_page/json_p99")
}
