package migrations_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/heraldmail/herald/internal/testenv"
)

// Events cannot be changed or removed by anyone: the table's owner (the
// tests' role, a superuser too) and a role granted every privilege on the
// table are refused UPDATE, DELETE and TRUNCATE, even of no row, while
// appending still works.
func TestEventsAreImmutable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	if _, err := pool.Exec(ctx, `
INSERT INTO events (event_id, stream_type, stream_id, version, type, data, metadata)
VALUES ($1, 'test', $2, 1, 'test.happened', '{}', '{}')`, uuid.New(), uuid.New()); err != nil {
		t.Fatalf("append: %v", err)
	}
	role := "herald_immutable_" + uuid.NewString()[:8]
	if _, err := pool.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s; GRANT ALL ON events TO %[1]s`, role)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), fmt.Sprintf(`REVOKE ALL ON events FROM %s; DROP ROLE %[1]s`, role))
	})
	for _, as := range []string{"", role} {
		for _, stmt := range []string{
			`UPDATE events SET type = 'changed'`,
			`UPDATE events SET type = 'changed' WHERE false`,
			`DELETE FROM events`,
			`DELETE FROM events WHERE false`,
			`TRUNCATE events`,
		} {
			name := "owner"
			if as != "" {
				name = as
			}
			t.Run(name+": "+stmt, func(t *testing.T) {
				conn, err := pool.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Release()
				tx, err := conn.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback(ctx) }()
				if as != "" {
					if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+as); err != nil {
						t.Fatal(err)
					}
				}
				_, err = tx.Exec(ctx, stmt)
				var pg *pgconn.PgError
				if !errors.As(err, &pg) || pg.Code != "42501" || pg.Message != "events are immutable: "+verb(stmt)+" on events refused" {
					t.Fatalf("%s: %v, want the immutability refusal", stmt, err)
				}
			})
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'test.happened'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the event: %d rows, %v", n, err)
	}
}

func verb(stmt string) string {
	for _, v := range []string{"UPDATE", "DELETE", "TRUNCATE"} {
		if len(stmt) >= len(v) && stmt[:len(v)] == v {
			return v
		}
	}
	return ""
}
