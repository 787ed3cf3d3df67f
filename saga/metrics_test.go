package saga

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// The in-flight gauge counts the deliveries waiting on the SMTP server and
// is back at 0 once they are answered. Not parallel: the gauge is the
// process's, and another test's sender would move it.
func TestSenderInFlightCountsDeliveriesAtTheServer(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	e := newEnv(t, envOptions{noScheduler: true, noSender: true, reply: func(_, _ string, _ int) *mail.Reply {
		<-release
		return nil
	}})
	t.Cleanup(open)
	if n := gaugeOf(t, senderInFlight); n != 0 {
		t.Fatalf("in flight %v before any sender ran, want 0", n)
	}
	e.startSender(e.ctx, SenderConfig{Concurrency: 2}, "sender-1")
	run := e.dispatchNow(e.manualMailing(e.clients(3)))
	// Two connections, each held at the server with one delivery.
	testenv.Eventually(t, 30*time.Second, "two deliveries in flight", func() bool { return gaugeOf(t, senderInFlight) == 2 })
	open()
	if f := e.waitFinished(run); f.Sent != 3 {
		t.Fatalf("finished %+v, want 3 sent", f)
	}
	if n := gaugeOf(t, senderInFlight); n != 0 {
		t.Fatalf("in flight %v after the run finished, want 0", n)
	}
}

// The next fire gauge is the earliest run the schedule holds, 0 when it
// holds none.
func TestNextFireIsTheEarliestScheduledRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSender: true})
	next := NewNextFire(e.pool, zerolog.Nop())
	if at := gaugeOf(t, next); at != 0 {
		t.Fatalf("next fire %v with nothing scheduled, want 0", at)
	}
	start := e.clock.Now().Add(48 * time.Hour)
	later := e.mailing(e.clients(1), start.Add(time.Hour), start.Add(24*time.Hour), domain.Once, "UTC")
	sooner := e.mailing(e.clients(1), start, start.Add(24*time.Hour), domain.Once, "UTC")
	e.waitDue(later, start.Add(time.Hour))
	e.waitDue(sooner, start)
	if at := gaugeOf(t, next); at != float64(start.Unix()) {
		t.Fatalf("next fire %v, want %v (%v)", at, start.Unix(), start)
	}
}

// gaugeOf is the value of the one gauge c serves.
func gaugeOf(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("collector served %v, want one gauge", mfs)
	}
	return mfs[0].GetMetric()[0].GetGauge().GetValue()
}
