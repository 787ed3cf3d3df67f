package http

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Checker is one readiness condition of /readyz. The composition root
// implements the probes of the infrastructure (PostgreSQL, Redis, pending
// migrations); this package only runs them and answers.
type Checker interface {
	Name() string
	Check(ctx context.Context) error
}

type checkFunc struct {
	name string
	fn   func(ctx context.Context) error
}

func (c checkFunc) Name() string                    { return c.name }
func (c checkFunc) Check(ctx context.Context) error { return c.fn(ctx) }

// CheckFunc makes a Checker from a name and a function.
func CheckFunc(name string, fn func(ctx context.Context) error) Checker {
	return checkFunc{name: name, fn: fn}
}

// checkTimeout bounds each readiness check: a probe must answer quickly.
const checkTimeout = 2 * time.Second

// healthz says the process is up and serving; it checks nothing else.
func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	respond(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs every checker concurrently and answers 200 when all pass,
// 503 otherwise, with each check's result. Failure reasons are logged, not
// shown: the endpoint is public and the reasons name hosts.
func readyz(checkers []Checker) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		results := make(map[string]string, len(checkers))
		var mu sync.Mutex
		var wg sync.WaitGroup
		ready := true
		for _, c := range checkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
				defer cancel()
				err := c.Check(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					ready = false
					results[c.Name()] = "failing"
					zerolog.Ctx(r.Context()).Warn().Err(err).Str("check", c.Name()).Msg("readiness check failed")
					return
				}
				results[c.Name()] = "ok"
			}()
		}
		wg.Wait()
		status, code := "ready", http.StatusOK
		if !ready {
			status, code = "unavailable", http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		respond(w, r, code, map[string]any{"status": status, "checks": results})
	}
}
