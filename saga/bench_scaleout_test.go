package saga

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkSendScaleOut delivers six mailings of 4,000 clients each,
// dispatched at once, with 1, 2 and 3 sender processes sharing the consumer
// group, each with its own 8 connections to the sink (SEND_CONCURRENCY's
// default). A run is one command, taken by one sender: processes share
// runs, not the deliveries of one run. In interleaved
// rounds (1, 2, 3, 3, 2, 1, ...), and reports each count's median
// deliveries/s and its ratio to one sender's. The sink, PostgreSQL and
// every sender share the machine's cores, so the ratio says what another
// process buys on one machine; on separate machines the senders' CPU is
// their own. HERALD_BENCH_SCALEOUT_ROUNDS sets the rounds (default 2).
func BenchmarkSendScaleOut(b *testing.B) {
	if os.Getenv("HERALD_BENCH") == "" && testing.Short() {
		b.Skip("needs the test services")
	}
	const mailings, n, concurrency = 6, 4_000, 8
	rounds := 2
	if v := os.Getenv("HERALD_BENCH_SCALEOUT_ROUNDS"); v != "" {
		if _, err := fmt.Sscan(v, &rounds); err != nil || rounds < 1 {
			b.Fatalf("HERALD_BENCH_SCALEOUT_ROUNDS: want a positive integer, got %q", v)
		}
	}
	for range b.N {
		rates := map[int][]float64{}
		for r := range rounds {
			order := []int{1, 2, 3}
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, senders := range order {
				rates[senders] = append(rates[senders], sendWith(b, mailings, n, senders, concurrency))
			}
		}
		one := median(rates[1])
		for _, senders := range []int{1, 2, 3} {
			m := median(rates[senders])
			b.ReportMetric(m, fmt.Sprintf("deliveries/s-%d-senders", senders))
			b.ReportMetric(m/one, fmt.Sprintf("ratio-%d-senders", senders))
			b.Logf("%d sender(s): %.0f deliveries/s (rounds %.0f), %.2f× one", senders, m, rates[senders], m/one)
		}
		b.ReportMetric(0, "ns/op")
	}
}

// sendWith runs mailings of n clients each through senders child
// processes and returns deliveries/s, checking that every client got one
// message.
func sendWith(b *testing.B, mailings, n, senders, concurrency int) float64 {
	b.Helper()
	b.StopTimer()
	e := newEnv(b, envOptions{noScheduler: true, noSender: true})
	ms := make([]uuid.UUID, mailings)
	for i := range ms {
		ms[i] = e.manualMailing(e.clients(n))
	}
	children := make([]*child, senders)
	for i := range children {
		children[i] = e.startChild(concurrency, fmt.Sprintf("HERALD_CHILD_SENDER_NAME=sender-%d", i+1))
	}
	b.StartTimer()
	start := time.Now()
	runs := make([]uuid.UUID, mailings)
	for i, m := range ms {
		runs[i] = e.dispatchNow(m)
	}
	for _, run := range runs {
		if f := e.waitFinishedWithin(run, 10*time.Minute); f.Sent != n || f.Failed != 0 {
			b.Fatalf("finished %+v", f)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	total := mailings * n
	if seen, got := e.messageIDs(); len(seen) != total || got != total {
		b.Fatalf("the sink holds %d messages for %d deliveries, want %d", got, len(seen), total)
	}
	for _, c := range children {
		c.stop()
	}
	return float64(total) / elapsed.Seconds()
}
