package http

import (
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/migrations"
)

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func readyAnswer(t *testing.T, checkers []Checker) (int, readiness) {
	t.Helper()
	h, _ := newTestRouter(t, Config{Checkers: checkers})
	rec := do(h, "GET", "/readyz", "")
	var r readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("readyz body %q: %v", rec.Body, err)
	}
	return rec.Code, r
}

func redisPing(url string) func(ctx context.Context) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		panic(err)
	}
	c := redis.NewClient(opts)
	return func(ctx context.Context) error { return c.Ping(ctx).Err() }
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestReadyzAgainstRealServices(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)

	code, r := readyAnswer(t, []Checker{PostgresChecker(pool), RedisChecker(redisPing(testenv.RedisURL())), MigrationsChecker(pool)})
	if code != 200 || r.Status != "ready" || r.Checks["postgres"] != "ok" || r.Checks["redis"] != "ok" || r.Checks["migrations"] != "ok" {
		t.Fatalf("all up: %d %+v", code, r)
	}

	// Redis unreachable: not ready, and the check says which.
	code, r = readyAnswer(t, []Checker{PostgresChecker(pool), RedisChecker(redisPing("redis://" + closedPort(t) + "/0")), MigrationsChecker(pool)})
	if code != 503 || r.Status != "unavailable" || r.Checks["redis"] != "failing" || r.Checks["postgres"] != "ok" {
		t.Fatalf("redis down: %d %+v", code, r)
	}

	// A migration rolled back: pending again, so not ready.
	p, closeDB, err := migrations.Provider(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB() //nolint:errcheck
	if _, err := p.Down(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, r = readyAnswer(t, []Checker{MigrationsChecker(pool)})
	if code != 503 || r.Checks["migrations"] != "failing" {
		t.Fatalf("migration pending: %d %+v", code, r)
	}

	// PostgreSQL gone.
	pool.Close()
	code, r = readyAnswer(t, []Checker{PostgresChecker(pool)})
	if code != 503 || r.Checks["postgres"] != "failing" {
		t.Fatalf("postgres closed: %d %+v", code, r)
	}
}
