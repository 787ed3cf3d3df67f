package saga

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// selfCPUSeconds is this process's CPU time: the sink and the harness.
func selfCPUSeconds() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
}

// BenchmarkSend delivers one mailing to n clients end to end: dispatched
// onto the command stream, sent by a sender in a child process (SEND_
// CONCURRENCY 32) to the local SMTP sink, every attempt recorded in the
// event store. One iteration is the whole load (make bench runs
// -benchtime=1x). Reported: deliveries/s (target ≥ 2,000) and the sender
// process's peak RSS from /proc/<pid>/status VmHWM (target ≤ 150 MB, flat
// in n: compare the 10k and 100k cases). The sink runs in the benchmark's
// own process, so it competes with the sender and PostgreSQL for the two
// cores, as it would on one machine.
func BenchmarkSend(b *testing.B) {
	if os.Getenv("HERALD_BENCH") == "" && testing.Short() {
		b.Skip("needs the test services")
	}
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) { benchSend(b, n) })
	}
}

func benchSend(b *testing.B, n int) {
	const concurrency = 32
	for range b.N {
		b.StopTimer()
		e := newEnv(b, envOptions{noScheduler: true, noSender: true})
		setup := time.Now()
		clients := e.clients(n)
		m := e.manualMailing(clients)
		clients = nil
		b.Logf("%d clients and the mailing stored in %s", n, time.Since(setup).Round(time.Millisecond))
		c := e.startChild(concurrency)
		// usage is the sender's peak RSS, its CPU time and this process's.
		usage := func() (rss int64, cpu, self float64) {
			b.Helper()
			var errs [3]error
			rss, errs[0] = c.peakRSS()
			cpu, errs[1] = c.cpuSeconds()
			self, errs[2] = selfCPUSeconds()
			if err := errors.Join(errs[:]...); err != nil {
				b.Fatal(err)
			}
			return rss, cpu, self
		}
		baseRSS, cpu0, self0 := usage()

		b.StartTimer()
		start := time.Now()
		run := e.dispatchNow(m)
		var f = e.waitFinishedWithin(run, 10*time.Minute)
		elapsed := time.Since(start)
		b.StopTimer()

		if f.Sent != n || f.Failed != 0 {
			b.Fatalf("finished %+v", f)
		}
		if got := e.successes(run); got != n {
			b.Fatalf("%d successes recorded, want %d", got, n)
		}
		if got := e.sink.Count(); got != n {
			b.Fatalf("sink holds %d messages, want %d", got, n)
		}
		peak, cpu1, self1 := usage()
		b.ReportMetric((cpu1-cpu0)/float64(n)*1e6, "sender-CPU-µs/delivery")
		b.ReportMetric((self1-self0)/float64(n)*1e6, "sink-CPU-µs/delivery")
		if load, err := os.ReadFile("/proc/loadavg"); err == nil {
			b.Logf("load average during the run: %s", strings.TrimSpace(string(load)))
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "deliveries/s")
		b.ReportMetric(float64(peak)/(1<<20), "sender-peak-RSS-MB")
		b.ReportMetric(float64(baseRSS)/(1<<20), "sender-idle-RSS-MB")
		b.ReportMetric(0, "ns/op")
		b.Logf("%d deliveries recorded in %s: %.0f/s; sender peak RSS %.1f MB (idle %.1f MB)",
			n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(peak)/(1<<20), float64(baseRSS)/(1<<20))
		c.stop()
	}
}
