package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/heraldmail/herald/internal/password"
	"github.com/heraldmail/herald/internal/testenv"
)

func TestCCSUIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	opts := ccsuOptions{email: "Root@Example.com", name: "Root", passwordStdin: true}
	msg, err := createSuperuser(ctx, pool, opts, strings.NewReader("correct horse battery\n"), password.MinCost)
	if err != nil || !strings.HasPrefix(msg, "created superuser root@example.com") {
		t.Fatalf("first: %q %v", msg, err)
	}
	msg, err = createSuperuser(ctx, pool, opts, strings.NewReader("another password\n"), password.MinCost)
	if err != nil || !strings.Contains(msg, "already exists") {
		t.Fatalf("second: %q %v", msg, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'user.superuser_created'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d superuser events, %v", n, err)
	}
	if _, err := createSuperuser(ctx, pool, ccsuOptions{email: "x@example.com", passwordStdin: true}, strings.NewReader("short\n"), password.MinCost); err == nil {
		t.Fatal("short password accepted")
	}
	if _, err := createSuperuser(ctx, pool, ccsuOptions{email: "x@example.com", passwordStdin: true}, strings.NewReader(""), password.MinCost); err == nil {
		t.Fatal("empty stdin accepted")
	}
}

func TestCreateGroupsIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	var out bytes.Buffer
	if err := createGroups(ctx, pool, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "created") != 2 {
		t.Fatalf("first run:\n%s", out.String())
	}
	out.Reset()
	if err := createGroups(ctx, pool, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "unchanged") != 2 {
		t.Fatalf("second run:\n%s", out.String())
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_type = 'group'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d group events, %v", n, err)
	}
}
