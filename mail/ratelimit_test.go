package mail_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// TestSharedLimiterHoldsTwoProcessesToOneRate runs two limiters on two
// Redis connections, as two sender processes would have, each with
// several goroutines waiting at once. The slots the limiters hand out are
// their own accounting (Redis's clock), so the check does not depend on
// how fast this machine runs: every two slots are at least one interval
// apart, so any one-second window holds at most rate+1 of them. Together
// they must also have waited: the last grant cannot come before the slots
// allow, and load can only make that later.
func TestSharedLimiterHoldsTwoProcessesToOneRate(t *testing.T) {
	t.Parallel()
	const rate, perProcess, workers = 100.0, 30, 4
	key := testenv.Name("herald-test-rate-")
	var limiters []*mail.SharedLimiter
	for range 2 {
		l, err := mail.NewSharedLimiter(testenv.Redis(t), key, rate)
		if err != nil {
			t.Fatal(err)
		}
		limiters = append(limiters, l)
	}
	var (
		mu    sync.Mutex
		slots []time.Time
		wg    sync.WaitGroup
	)
	start := time.Now()
	for _, l := range limiters {
		for range workers {
			wg.Go(func() {
				for range perProcess / workers {
					at, wait, err := l.Reserve(ctx(t))
					if err != nil {
						t.Error(err)
						return
					}
					time.Sleep(wait)
					mu.Lock()
					slots = append(slots, at)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	n := len(slots)
	if n != 2*(perProcess/workers)*workers {
		t.Fatalf("%d grants", n)
	}
	slices.SortFunc(slots, func(a, b time.Time) int { return a.Compare(b) })
	interval := time.Duration(float64(time.Second) / rate)
	for i := 1; i < n; i++ {
		if gap := slots[i].Sub(slots[i-1]); gap < interval {
			t.Fatalf("slots %d and %d are %s apart, less than 1/%v s", i-1, i, gap, rate)
		}
	}
	for i := range slots {
		j := i
		for j < n && slots[j].Sub(slots[i]) < time.Second {
			j++
		}
		if j-i > int(rate)+1 {
			t.Fatalf("%d grants within one second from slot %d, the rate allows %d", j-i, i, int(rate)+1)
		}
	}
	// A few milliseconds spare for the two clocks (Redis's and ours).
	if least := time.Duration(n-1)*interval - 5*time.Millisecond; elapsed < least {
		t.Errorf("%d grants took %s, the slots allow no less than %s", n, elapsed, least)
	}
}

// TestClientWaitsForSharedLimiter: a Client given a SharedLimiter paces by
// it and reports its rate.
func TestClientWaitsForSharedLimiter(t *testing.T) {
	t.Parallel()
	l, err := mail.NewSharedLimiter(testenv.Redis(t), testenv.Name("herald-test-rate-"), 40)
	if err != nil {
		t.Fatal(err)
	}
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: 4, Rate: 1000, Limiter: l})
	if r, b := c.RateLimit(); r != 40 || b != 1 {
		t.Fatalf("limiter %v/s burst %d, want 40/s burst 1", r, b)
	}
	batch := make([]mail.Message, 6)
	for i := range batch {
		batch[i] = mail.Message{To: "r@example.org", Subject: "s", TextBody: "b"}
	}
	start := time.Now()
	for _, r := range c.SendBatch(ctx(t), batch) {
		if !r.OK() {
			t.Fatalf("%+v", r)
		}
	}
	if el := time.Since(start); el < 120*time.Millisecond {
		t.Errorf("6 messages at 40/s took %s, the limiter allows no less than 125ms", el)
	}
}
