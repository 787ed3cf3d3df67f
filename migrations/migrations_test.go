package migrations_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/migrations"
)

// Every migration can be rolled back: each Down leaves the schema exactly
// as it was before its Up, all the way down leaves nothing of Herald's in
// the database, and all the way up again gives the schema the migrations
// gave the first time.
func TestMigrationsAllDownThenUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t) // a fresh database, migrated up
	migrated := schema(t, pool)
	if len(migrated) < 50 {
		t.Fatalf("the migrated schema has only %d objects", len(migrated))
	}

	p, closeDB, err := migrations.Provider(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	down, err := p.DownTo(ctx, 0)
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	if want := len(p.ListSources()); len(down) != want {
		t.Fatalf("rolled back %d migrations, want %d", len(down), want)
	}
	if left := schema(t, pool); len(left) != 0 {
		t.Fatalf("all the way down leaves %d objects: %v", len(left), left)
	}

	// Up one at a time, noting the schema after each; then down one at a
	// time, each Down compared with the schema before its Up.
	before := [][]string{nil}
	for range p.ListSources() {
		if _, err := p.UpByOne(ctx); err != nil {
			t.Fatalf("up: %v", err)
		}
		before = append(before, schema(t, pool))
	}
	for i := len(before) - 1; i > 0; i-- {
		res, err := p.Down(ctx)
		if err != nil {
			t.Fatalf("down: %v", err)
		}
		if !same(t, "down "+res.Source.Path, before[i-1], schema(t, pool)) {
			t.FailNow() // the Downs below start from the wrong schema
		}
	}

	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if n, err := migrations.Pending(ctx, pool); err != nil || n != 0 {
		t.Fatalf("after up: %d pending (%v)", n, err)
	}
	same(t, "down and up", migrated, schema(t, pool))
}

// same reports what got has that want has not, and the reverse, and
// whether they hold the same objects.
func same(t *testing.T, after string, want, got []string) bool {
	t.Helper()
	ok := true
	for _, o := range want {
		if !slices.Contains(got, o) {
			t.Errorf("after %s, missing: %s", after, o)
			ok = false
		}
	}
	for _, o := range got {
		if !slices.Contains(want, o) {
			t.Errorf("after %s, left over: %s", after, o)
			ok = false
		}
	}
	return ok
}

// schema describes every object of the public schema but goose's own
// table, one line each, sorted: tables and their columns, indexes,
// constraints, functions, triggers, views and sequences.
func schema(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
SELECT format('relation %s %s', c.relkind, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname NOT LIKE 'goose_db_version%'
UNION ALL
SELECT format('column %s.%s %s not null %s default %s', table_name, column_name, data_type, is_nullable = 'NO', column_default)
FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'goose_db_version'
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'goose_db_version'
UNION ALL
SELECT format('constraint %s on %s: %s', con.conname, con.conrelid::regclass, pg_get_constraintdef(con.oid))
FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
WHERE n.nspname = 'public' AND con.conrelid::regclass::text <> 'goose_db_version'
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(tg.oid)
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT tg.tgisinternal
UNION ALL
SELECT 'type ' || ty.typname
FROM pg_type ty JOIN pg_namespace n ON n.oid = ty.typnamespace
WHERE n.nspname = 'public' AND ty.typtype IN ('e', 'd', 'c') AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = ty.typrelid AND c.relkind <> 'c')
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(fmt.Errorf("schema: %w", err))
	}
	return objects
}
