package app

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/migrations"
)

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// readyAnswer is what /readyz answers over pool and rdb.
func readyAnswer(t *testing.T, pool *pgxpool.Pool, rdb *redis.Client) (int, readiness) {
	t.Helper()
	h := api.NewRouter(api.Config{Logger: zerolog.Nop(), Checkers: readinessCheckers(pool, rdb)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var r readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("readyz body %q: %v", rec.Body, err)
	}
	return rec.Code, r
}

func redisAt(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestReadinessAgainstRealServices(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	rdb := testenv.Redis(t)

	code, r := readyAnswer(t, pool, rdb)
	if code != 200 || r.Status != "ready" || r.Checks["postgres"] != "ok" || r.Checks["redis"] != "ok" || r.Checks["migrations"] != "ok" {
		t.Fatalf("all up: %d %+v", code, r)
	}

	// Redis unreachable: not ready, and the check says which.
	code, r = readyAnswer(t, pool, redisAt(t, "redis://"+closedPort(t)+"/0"))
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
	code, r = readyAnswer(t, pool, rdb)
	if code != 503 || r.Checks["migrations"] != "failing" || r.Checks["redis"] != "ok" {
		t.Fatalf("migration pending: %d %+v", code, r)
	}

	// PostgreSQL gone.
	pool.Close()
	code, r = readyAnswer(t, pool, rdb)
	if code != 503 || r.Checks["postgres"] != "failing" {
		t.Fatalf("postgres closed: %d %+v", code, r)
	}
}
