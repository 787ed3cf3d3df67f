package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// BenchmarkRebuildAPILatency: the API's p99 for an authenticated list of
// clients, at rest and while every projection is rebuilt, with the whole
// application running. The rebuild is what an operator runs: the herald
// binary's rebuild-projections, a process of its own next to the server
// (built here from this package), at its default --nice. The store holds a
// small real history plus HERALD_BENCH_REBUILD_API_EVENTS (default 300,000)
// events of a stream type no projection handles, so the rebuild reads a
// large store. Target: p99 during the rebuild within 2× of p99 at
// rest.
var rebuiltRate = regexp.MustCompile(`\((\d+) events/s\)`)

func BenchmarkRebuildAPILatency(b *testing.B) {
	n := 300_000
	if s := os.Getenv("HERALD_BENCH_REBUILD_API_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	bin := filepath.Join(b.TempDir(), "herald")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	env := apptest.Start(b)
	tok := rbSignUp(b, env)
	for i := range 50 {
		if res := env.Do("POST", "/api/v1/clients", map[string]any{"email": fmt.Sprintf("b%d@example.org", i), "full_name": "Bench"}, apptest.Bearer(tok)...); res.Status != 201 {
			b.Fatalf("client: %d %s", res.Status, res.Body)
		}
	}
	ctx := context.Background()
	for done := 0; done < n; done += 100_000 {
		if _, err := env.Pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
SELECT gen_random_uuid(), 'benchnoise', ('00000000-0000-0000-0000-' || lpad((i % 1000)::text, 12, '0'))::uuid,
       $1::bigint + i / 1000 + 1, 'benchnoise.made', '{"n": 1}'::jsonb, '{}'::jsonb
FROM generate_series(0, $2::int - 1) AS i`, done/1000, min(100_000, n-done)); err != nil {
			b.Fatal(err)
		}
	}
	// Wait until the list shows every client (the projections caught up).
	testenv.Eventually(b, time.Minute, "the list to show every client", func() bool {
		res := env.Do("GET", "/api/v1/clients?limit=100", nil, apptest.Bearer(tok)...)
		if res.Status != 200 || len(res.Body) == 0 {
			return false
		}
		var page struct {
			Items []any `json:"items"`
		}
		res.Decode(b, &page)
		return len(page.Items) == 50
	})
	measure := func(stop <-chan struct{}, d time.Duration) []time.Duration {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		deadline := time.Now().Add(d)
		for range 4 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					select {
					case <-stop:
						return
					default:
					}
					start := time.Now()
					res := env.Do("GET", "/api/v1/clients?limit=50", nil, apptest.Bearer(tok)...)
					el := time.Since(start)
					if res.Status != 200 {
						b.Errorf("list during the rebuild: %d %s", res.Status, res.Body)
						return
					}
					mu.Lock()
					lat = append(lat, el)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return lat
	}
	p99 := func(l []time.Duration) time.Duration {
		if len(l) == 0 {
			return 0
		}
		slices.Sort(l)
		return l[len(l)*99/100]
	}
	b.ResetTimer()
	for range b.N {
		rest := measure(nil, 5*time.Second)
		stop := make(chan struct{})
		done := make(chan string, 1)
		go func() {
			args := []string{"rebuild-projections"}
			if nice := os.Getenv("HERALD_BENCH_REBUILD_NICE"); nice != "" {
				args = append(args, "--nice", nice) // to compare: 0 runs it at normal priority
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "DATABASE_URL="+env.App.Config.DatabaseURL, "LOG_LEVEL=warn")
			out, err := cmd.Output()
			if err != nil {
				b.Errorf("rebuild-projections: %v\n%s", err, out)
			}
			close(stop)
			done <- string(out)
		}()
		during := measure(stop, 10*time.Minute)
		out := <-done
		b.Logf("rebuild-projections printed:\n%s", out)
		b.ReportMetric(float64(p99(rest).Microseconds())/1000, "p99-rest-ms")
		b.ReportMetric(float64(p99(during).Microseconds())/1000, "p99-rebuild-ms")
		if p99(rest) > 0 {
			b.ReportMetric(float64(p99(during))/float64(p99(rest)), "p99-ratio")
		}
		// The last summary line is the last projection, which read the
		// whole store: "rebuilt NAME: N events in D (R events/s), A applied".
		if m := rebuiltRate.FindAllStringSubmatch(out, -1); len(m) > 0 {
			rate, _ := strconv.ParseFloat(m[len(m)-1][1], 64)
			b.ReportMetric(rate, "events/s")
		}
		b.ReportMetric(float64(len(during)), "requests-during")
	}
}
