package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testenv"
)

// afterAdjusting collects until g has adjusted the limit after a
// collection that began after the call, then returns the limit.
func afterAdjusting(t *testing.T, g *governor) int64 {
	t.Helper()
	g.mu.Lock()
	from := g.adjusted
	g.mu.Unlock()
	testenv.Eventually(t, 30*time.Second, "an adjustment after a collection", func() bool {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the cleanup runs on the runtime's goroutine
		g.mu.Lock()
		defer g.mu.Unlock()
		// The first adjustment seen may belong to a collection that began
		// before the call; the second cannot.
		return g.adjusted >= from+2
	})
	return debug.SetMemoryLimit(-1)
}

// The tests change the process's limit, so none runs in parallel.

func TestTheLimitIsTheTargetWhileTheLiveHeapIsSmall(t *testing.T) {
	const target = 256 << 20
	g := start(target)
	if g == nil {
		t.Fatal("not started")
	}
	if l := afterAdjusting(t, g); l != target {
		t.Fatalf("limit %d MiB after a collection, want the target's 256", l>>20)
	}
	g.stop()
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Fatalf("limit %d after stop, want none", l)
	}
}

func TestTheLimitRisesToTwiceALargeLiveHeapAndComesBack(t *testing.T) {
	const target = 32 << 20
	g := start(target)
	if g == nil {
		t.Fatal("not started")
	}
	defer g.stop()
	// 64 MiB kept live: a limit of 32 MiB would have the collector run
	// without pause; the limit follows the heap instead.
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 1<<20)
		live[i][0] = byte(i)
	}
	if l := afterAdjusting(t, g); l < 2*64<<20 || l > 2*80<<20 {
		t.Fatalf("limit %d MiB with 64 MiB live, want about twice that", l>>20)
	}
	runtime.KeepAlive(live)
	live = nil
	if l := afterAdjusting(t, g); l != target {
		t.Fatalf("limit %d MiB once the heap was freed, want the target's 32", l>>20)
	}
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
