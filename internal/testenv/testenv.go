// Package testenv gives tests real infrastructure: a fresh, migrated
// PostgreSQL database per call (cloned from a template built once per set of
// migrations), the test Redis, and unique names so tests run in parallel
// without truncating anything. `make test` starts the servers; run
// `scripts/services.sh up test` before `go test` by hand.
package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/migrations"
)

const (
	defaultDatabaseURL = "postgres://herald@127.0.0.1:25433/herald?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:26380/0"
)

// AdminDatabaseURL is the test server's maintenance database.
func AdminDatabaseURL() string {
	if u := os.Getenv("HERALD_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultDatabaseURL
}

// RedisURL is the test Redis.
func RedisURL() string {
	if u := os.Getenv("HERALD_TEST_REDIS_URL"); u != "" {
		return u
	}
	return defaultRedisURL
}

// Name returns a short unique name with prefix, for topics, groups, emails.
func Name(prefix string) string {
	return prefix + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
}

// DatabaseURL creates a fresh migrated database for t and returns its URL;
// the database is dropped when t ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminDatabaseURL())
	if err != nil {
		t.Fatalf("testenv: connect to test PostgreSQL (run `scripts/services.sh up test`): %v", err)
	}
	defer admin.Close(ctx)
	tpl, err := template(ctx, admin)
	if err != nil {
		t.Fatalf("testenv: template: %v", err)
	}
	name := Name("herald_t_")
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tpl)); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminDatabaseURL())
		if err != nil {
			t.Logf("testenv: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Logf("testenv: drop %s: %v", name, err)
		}
	})
	return withDatabase(AdminDatabaseURL(), name)
}

// Pool is DatabaseURL opened as a pool, closed when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := eventstore.OpenPool(context.Background(), DatabaseURL(t))
	if err != nil {
		t.Fatalf("testenv: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + db
	return u.String()
}

// keepTemplates is how many migration sets' templates may stand side by
// side on one test server.
const keepTemplates = 4

// template returns the name of a database migrated with the current
// migrations, creating it once under an advisory lock (test binaries of
// several packages run at the same time).
func template(ctx context.Context, admin *pgx.Conn) (string, error) {
	name := "herald_tpl_" + migrationsHash()
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(4242)`) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// Older migration sets' templates are dropped, but not the newest few:
	// another checkout of the repository (a branch, a worktree) may be
	// testing against the same server with migrations of its own.
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'herald_tpl_%'
ORDER BY oid DESC OFFSET $1`, keepTemplates-1)
	if err != nil {
		return "", err
	}
	old, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	for _, o := range old {
		_, _ = admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, o))
	}
	building := name + "_building"
	_, _ = admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building))
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, withDatabase(AdminDatabaseURL(), building))
	if err != nil {
		return "", err
	}
	err = migrations.Up(ctx, pool)
	pool.Close()
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name)); err != nil {
		return "", err
	}
	return name, nil
}

func migrationsHash() string {
	h := sha256.New()
	entries, _ := fs.ReadDir(migrations.FS, ".")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.FS, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
