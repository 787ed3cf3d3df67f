// Package memlimit keeps a long-running herald process's memory near a
// target. It sets the Go runtime's soft memory limit
// (runtime/debug.SetMemoryLimit) to the target, so the collector runs
// sooner and gives freed pages back rather than letting the heap grow to
// twice what is live, and after every collection raises the limit to twice
// the heap that collection found live whenever that is more: a process that
// needs more than the target collects as often as by Go's default, never
// without pause. GOMEMLIMIT in the environment, Go's own limit, takes
// precedence over it.
package memlimit

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// liveHeap is the runtime metric of the heap the last collection marked live.
const liveHeap = "/gc/heap/live:bytes"

// governor adjusts the limit after each collection until stopped.
type governor struct {
	target   int64
	sample   []metrics.Sample
	mu       sync.Mutex // orders an adjustment and stop
	stopped  bool
	adjusted int // collections seen, for tests
}

// sentinel is allocated after each collection and left unreachable, so
// the next collection frees it and runs its cleanup. Large enough not to
// share a block with other small objects (which would keep it alive).
type sentinel [32]byte

// Start sets the process's memory limit to target bytes and keeps it
// adjusted after every collection until stop is called, which removes the
// limit. It does nothing, and reports false, when target is not positive
// or GOMEMLIMIT is set.
func Start(target int64) (stop func(), ok bool) {
	g := start(target)
	if g == nil {
		return func() {}, false
	}
	return g.stop, true
}

func start(target int64) *governor {
	if target <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	g := &governor{target: target, sample: []metrics.Sample{{Name: liveHeap}}}
	debug.SetMemoryLimit(target)
	g.arm()
	return g
}

func (g *governor) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	debug.SetMemoryLimit(math.MaxInt64)
}

func (g *governor) arm() {
	runtime.AddCleanup(new(sentinel), (*governor).collected, g)
}

// collected runs once a collection has ended, on a goroutine of the
// runtime's cleanups; mu orders it with stop.
func (g *governor) collected() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	metrics.Read(g.sample)
	limit := g.target
	if v := g.sample[0].Value; v.Kind() == metrics.KindUint64 {
		limit = max(limit, int64(min(v.Uint64(), math.MaxInt64/2))*2)
	}
	if debug.SetMemoryLimit(-1) != limit {
		debug.SetMemoryLimit(limit)
	}
	g.adjusted++
	g.arm()
}
