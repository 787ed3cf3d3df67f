package testenv

import (
	"testing"
	"time"
)

// Eventually calls cond until it returns true, and fails t naming what it
// waited for if timeout passes first. Tests wait for the system this way
// instead of sleeping a guessed while: a quick run does not wait, a loaded
// machine is given the whole timeout. cond runs on the test's goroutine, so
// it may call t.Fatal.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
