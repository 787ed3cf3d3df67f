package testenv

import (
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// Logger writes to t's log at level and above, and drops lines written after
// t ended (background goroutines of libraries may log a little late).
func Logger(t testing.TB, level zerolog.Level) zerolog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}
