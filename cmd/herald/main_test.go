package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/migrations"
)

func TestDispatch(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "usage: herald <command>"},
		{[]string{"help"}, 0, "rebuild-projections", ""},
		{[]string{"--help"}, 0, "usage: herald <command>", ""},
		{[]string{"bogus"}, 2, "", `unknown command "bogus"`},
		{[]string{"serve", "-h"}, 0, "usage: herald serve [--roles", ""},
		{[]string{"help", "migrate"}, 0, "usage: herald migrate [up|down|status]", ""},
		{[]string{"serve", "--nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"serve", "--roles", "api,mailer"}, 2, "", `unknown role "mailer"`},
		{[]string{"migrate", "sideways"}, 2, "", `unknown action "sideways"`},
		{[]string{"migrate", "up", "down"}, 2, "", "one action at most"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errb.String())
			}
			if tt.stdout != "" && !strings.Contains(out.String(), tt.stdout) {
				t.Fatalf("stdout %q lacks %q", out.String(), tt.stdout)
			}
			if tt.stderr != "" && !strings.Contains(errb.String(), tt.stderr) {
				t.Fatalf("stderr %q lacks %q", errb.String(), tt.stderr)
			}
		})
	}
}

// A configuration error is one line naming the variable, exit 1.
func TestConfigErrorIsOneLine(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("SEND_CONCURRENCY", "x")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "status"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d", code)
	}
	want := `herald migrate: config: DATABASE_URL: required, not set; config: SEND_CONCURRENCY: must be a positive integer, got "x"` + "\n"
	if errb.String() != want {
		t.Fatalf("stderr %q\nwant   %q", errb.String(), want)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// migrate down makes serve refuse to start; migrate up lets it start; serve
// answers /healthz and /readyz with real PostgreSQL and Redis and exits 0
// when its context ends (the signal).
func TestMigrateAndServe(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("REDIS_URL", testenv.RedisURL())
	t.Setenv("HTTP_ADDR", addr)
	debugAddr := freeAddr(t)
	t.Setenv("DEBUG_ADDR", debugAddr)
	t.Setenv("PUBLIC_BASE_URL", "http://"+addr)
	t.Setenv("UNSUBSCRIBE_SECRET", "main-test-unsubscribe-secret-0123456789")
	t.Setenv("BUS_TOPIC_PREFIX", testenv.Name("h2serve")+".")
	t.Setenv("LOG_LEVEL", "warn")
	t.Setenv("SHUTDOWN_TIMEOUT", "5s")
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"migrate", "down"}, &out, &errb); code != 0 {
		t.Fatalf("migrate down: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run(ctx, []string{"serve", "--roles", "api"}, &out, &errb); code != exitRefused ||
		!strings.Contains(errb.String(), "1 database migrations are pending; run `herald migrate up` first") {
		t.Fatalf("serve with a pending migration: exit %d: %q", code, errb.String())
	}
	if code := run(ctx, []string{"migrate", "status"}, &out, &errb); code != 0 {
		t.Fatalf("migrate status: exit %d: %s", code, errb.String())
	}
	if code := run(ctx, []string{"migrate"}, &out, &errb); code != 0 { // up is the default
		t.Fatalf("migrate: exit %d: %s", code, errb.String())
	}
	out.Reset()
	if code := run(ctx, []string{"migrate", "status", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("migrate status --json: exit %d: %s", code, errb.String())
	}
	var status migrateReport
	if err := json.Unmarshal(out.Bytes(), &status); err != nil || status.Action != "status" || status.Pending != 0 ||
		status.Applied == 0 || len(status.Migrations) != status.Applied || status.Migrations[0].AppliedAt == nil {
		t.Fatalf("migrate status --json: %v %s", err, out.String())
	}
	p, err := openPool(ctx, mustConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := migrations.Pending(ctx, p)
	p.Close()
	if err != nil || n != 0 {
		t.Fatalf("after migrate up: %d pending, %v", n, err)
	}

	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	exited := make(chan int, 1)
	var serveErr bytes.Buffer
	go func() { exited <- run(serveCtx, []string{"serve", "--roles", "api"}, &out, &serveErr) }()

	base := "http://" + addr
	testenv.Eventually(t, 30*time.Second, "serve to answer /healthz", func() bool {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("serve exited early with %d: %s", code, serveErr.String())
		default:
		}
		return false
	})
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || ready.Status != "ready" {
		t.Fatalf("readyz: %d %+v", resp.StatusCode, ready)
	}
	resp, err = http.Get(base + "/api/v1/no-such-endpoint")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("404: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// The profiler answers on DEBUG_ADDR only.
	for _, c := range []struct {
		url  string
		want int
	}{{"http://" + debugAddr + "/debug/pprof/", 200}, {"http://" + debugAddr + "/debug/pprof/heap?debug=1", 200},
		{base + "/debug/pprof/", 404}} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d", c.url, resp.StatusCode, c.want)
		}
	}

	stop() // what SIGINT/SIGTERM do through signal.NotifyContext
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("serve exited %d after the signal: %s", code, serveErr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s of the signal")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still answering after shutdown")
	}
	if _, err := http.Get("http://" + debugAddr + "/debug/pprof/"); err == nil {
		t.Fatal("the profiler still answers after shutdown")
	}
}

func mustConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A port already taken stops serve at once with one line naming HTTP_ADDR.
func TestServePortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	t.Setenv("DATABASE_URL", testenv.DatabaseURL(t))
	t.Setenv("REDIS_URL", testenv.RedisURL())
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("PUBLIC_BASE_URL", "http://"+addr)
	t.Setenv("UNSUBSCRIBE_SECRET", "main-test-unsubscribe-secret-0123456789")
	t.Setenv("BUS_TOPIC_PREFIX", testenv.Name("h2port")+".")
	t.Setenv("LOG_LEVEL", "error")
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), []string{"serve", "--roles", "api"}, &out, &errb) }()
	select {
	case code := <-done:
		msg := errb.String()
		if code != 1 || !strings.HasPrefix(msg, "herald serve: HTTP_ADDR: listen tcp "+addr) || strings.Count(msg, "\n") != 1 {
			t.Fatalf("exit %d, stderr %q", code, msg)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve kept running on a taken port")
	}
}
