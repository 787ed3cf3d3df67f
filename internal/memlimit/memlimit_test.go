package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testenv"
)

// limitBecomes collects until the limit is want, and fails after a while.
func limitBecomes(t *testing.T, what string, want func(int64) bool) int64 {
	t.Helper()
	var got int64
	testenv.Eventually(t, 30*time.Second, what, func() bool {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the cleanup runs on the runtime's goroutine
		got = debug.SetMemoryLimit(-1)
		return want(got)
	})
	return got
}

// The tests change the process's limit, so none runs in parallel.

func TestTheLimitIsTheTargetWhileTheLiveHeapIsSmall(t *testing.T) {
	const target = 256 << 20
	stop, ok := Start(target)
	if !ok {
		t.Fatal("not started")
	}
	limitBecomes(t, "the limit at the target", func(l int64) bool { return l == target })
	stop()
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Fatalf("limit %d after stop, want none", l)
	}
}

func TestTheLimitRisesToTwiceALargeLiveHeapAndComesBack(t *testing.T) {
	const target = 32 << 20
	stop, ok := Start(target)
	if !ok {
		t.Fatal("not started")
	}
	defer stop()
	// 64 MiB kept live: a limit of 32 MiB would have the collector run
	// without pause; the limit follows the heap instead.
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 1<<20)
		live[i][0] = byte(i)
	}
	got := limitBecomes(t, "the limit at twice the live heap", func(l int64) bool { return l >= 2*64<<20 })
	if got > 2*80<<20 {
		t.Fatalf("limit %d MiB, want about twice the 64 MiB live", got>>20)
	}
	runtime.KeepAlive(live)
	live = nil
	limitBecomes(t, "the limit back at the target", func(l int64) bool { return l == target })
}

func TestGOMEMLIMITTakesPrecedence(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	before := debug.SetMemoryLimit(-1)
	if _, ok := Start(32 << 20); ok {
		t.Fatal("started although GOMEMLIMIT is set")
	}
	if l := debug.SetMemoryLimit(-1); l != before {
		t.Fatalf("limit changed to %d", l)
	}
	if _, ok := Start(0); ok {
		t.Fatal("started without a target")
	}
}
