package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func readyAnswer(t *testing.T, checkers []Checker) (int, readiness, *syncBuffer) {
	t.Helper()
	h, logs := newTestRouter(t, Config{Checkers: checkers})
	rec := do(h, "GET", "/readyz", "")
	var r readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("readyz body %q: %v", rec.Body, err)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("readyz may be cached: %q", rec.Header().Get("Cache-Control"))
	}
	if strings.Contains(rec.Body.String(), "10.0.0.7") {
		t.Fatalf("readyz shows a failure's reason: %s", rec.Body)
	}
	return rec.Code, r, logs
}

// /readyz runs every check and names each one's result; a failure's reason
// (it names hosts) is logged, not shown. The real probes are the
// composition root's (internal/app).
func TestReadyz(t *testing.T) {
	t.Parallel()
	ok := CheckFunc("postgres", func(context.Context) error { return nil })
	down := CheckFunc("redis", func(context.Context) error { return errors.New("dial tcp 10.0.0.7:6379: refused") })

	code, r, _ := readyAnswer(t, []Checker{ok})
	if code != 200 || r.Status != "ready" || r.Checks["postgres"] != "ok" {
		t.Fatalf("all up: %d %+v", code, r)
	}
	code, r, logs := readyAnswer(t, []Checker{ok, down})
	if code != 503 || r.Status != "unavailable" || r.Checks["redis"] != "failing" || r.Checks["postgres"] != "ok" {
		t.Fatalf("redis down: %d %+v", code, r)
	}
	logged := false
	for _, l := range logs.lines(t) {
		if l["check"] == "redis" && strings.Contains(fmt.Sprint(l["error"]), "10.0.0.7") {
			logged = true
		}
	}
	if !logged {
		t.Fatalf("the failure's reason is not logged: %v", logs.lines(t))
	}
	// A check that outlives its time fails instead of holding the probe.
	slow := CheckFunc("slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if code, r, _ := readyAnswer(t, []Checker{slow}); code != 503 || r.Checks["slow"] != "failing" {
		t.Fatalf("slow check: %d %+v", code, r)
	}
}
