package testenv_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testenv"
)

// fatalRecorder keeps what Fatalf said and ends the goroutine, as
// testing.T does.
type fatalRecorder struct {
	testing.TB
	failed string
}

func (*fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func run(fn func(t testing.TB)) *fatalRecorder {
	r := &fatalRecorder{}
	done := make(chan struct{})
	go func() { defer close(done); fn(r) }()
	<-done
	return r
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	calls := 0
	r := run(func(tb testing.TB) {
		testenv.Eventually(tb, 5*time.Second, "the third call", func() bool { calls++; return calls == 3 })
	})
	if r.failed != "" || calls != 3 {
		t.Fatalf("failed %q after %d calls, want success on the third", r.failed, calls)
	}
}

func TestEventuallyFailsNamingWhatItWaitedFor(t *testing.T) {
	r := run(func(tb testing.TB) {
		testenv.Eventually(tb, 20*time.Millisecond, "the impossible", func() bool { return false })
	})
	if !strings.Contains(r.failed, "the impossible") {
		t.Fatalf("failure %q does not name what it waited for", r.failed)
	}
}
