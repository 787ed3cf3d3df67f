package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

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
//     matters is the table's size, not how its rows came.
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
}
