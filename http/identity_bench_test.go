package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/password"
)

// BenchmarkLogin measures POST /api/v1/auth/login through the whole stack
// (HTTP, claim lookup, stream load, bcrypt, session insert, Redis throttle)
// with 50 concurrent clients, each logging in as its own account in a loop
// for HERALD_BENCH_LOGIN_SECONDS (default 20; with 50 clients a login waits behind the others, so a short window sees one login per client). bcrypt makes it CPU bound:
// the cost is HERALD_BENCH_BCRYPT_COST, default the production default
// (password.DefaultCost), and is reported with the results. `make bench`
// runs it once (-benchtime=1x): one iteration is the whole measured load.
func BenchmarkLogin(b *testing.B) {
	cost := password.DefaultCost
	if v := os.Getenv("HERALD_BENCH_BCRYPT_COST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("HERALD_BENCH_BCRYPT_COST: %v", err)
		}
		cost = n
	}
	seconds := 20
	if v := os.Getenv("HERALD_BENCH_LOGIN_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("HERALD_BENCH_LOGIN_SECONDS: %q", v)
		}
		seconds = n
	}
	// The tests of this package run at the minimum cost; this benchmark sets
	// the real one for the application it starts (benchmarks run after every
	// test has finished).
	prev, had := os.LookupEnv("BCRYPT_COST")
	_ = os.Setenv("BCRYPT_COST", strconv.Itoa(cost))
	b.Cleanup(func() {
		if had {
			_ = os.Setenv("BCRYPT_COST", prev)
		} else {
			_ = os.Unsetenv("BCRYPT_COST")
		}
	})
	env := apptest.Start(b, apptest.WithRoles(app.RoleProjector))

	hasher, err := password.New(cost)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	hash, err := hasher.Hash(idPassword)
	if err != nil {
		b.Fatal(err)
	}
	hashTime := time.Since(t0)

	const clients = 50
	users := idUsers(b, env)
	ctx := context.Background()
	emails := make([]string, clients)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-%d-%s@example.org", i, uuid.NewString()[:8])
		vh := "bench-verify-" + uuid.NewString()
		meta := domain.Metadata{Command: "bench-setup"}
		if _, _, err := users.Register(ctx, meta, commands.Register{
			Account:    domain.NewAccount{Email: emails[i], Name: "Bench", PasswordHash: hash},
			VerifyHash: vh, VerifyExpires: time.Now().Add(time.Hour),
		}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := users.VerifyEmail(ctx, meta, vh); err != nil {
			b.Fatal(err)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}, Timeout: 60 * time.Second}
	login := func(email string) error {
		body, err := json.Marshal(map[string]string{"email": email, "password": idPassword})
		if err != nil {
			return err
		}
		res, err := client.Post(env.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		data, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			return fmt.Errorf("login %s: %d %s (%v)", email, res.StatusCode, data, err)
		}
		return nil
	}
	// Warm up connections and caches: one login per client.
	for _, e := range emails {
		if err := login(e); err != nil {
			b.Fatal(err)
		}
	}

	b.ResetTimer()
	for range b.N {
		var (
			mu        sync.Mutex
			latencies []time.Duration
			firstErr  error
			wg        sync.WaitGroup
		)
		start := time.Now()
		deadline := start.Add(time.Duration(seconds) * time.Second)
		for _, e := range emails {
			wg.Go(func() {
				var mine []time.Duration
				for time.Now().Before(deadline) {
					t := time.Now()
					if err := login(e); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					mine = append(mine, time.Since(t))
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		pct := func(p float64) time.Duration {
			if len(latencies) == 0 {
				return 0
			}
			return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))]
		}
		b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "logins/s")
		b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(cost), "bcrypt_cost")
		b.ReportMetric(float64(hashTime.Microseconds())/1000, "bcrypt_hash_ms")
		b.ReportMetric(float64(len(latencies)), "logins")
		b.Logf("%d logins by %d clients in %s at bcrypt cost %d (one hash %s): %.1f logins/s, p50 %s, p99 %s",
			len(latencies), clients, elapsed.Round(time.Millisecond), cost, hashTime.Round(time.Millisecond),
			float64(len(latencies))/elapsed.Seconds(), pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond))
	}
}
