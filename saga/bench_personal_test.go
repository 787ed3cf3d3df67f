package saga

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/compose"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// BenchmarkSendPersonal is what personal mail costs the sender against
// plain mail, measured in one run so both see the same load on the shared
// machine: rounds of a plain run (BenchmarkSend's message, unsigned) then a
// personal run (subject, text and a newsletter-sized HTML body rendered
// per client from {{.FullName}}, multipart/alternative, DKIM-signed), each
// run a new mailing of the same n clients sent by a new child sender.
// Reported: the medians of each kind's deliveries/s and sender CPU a
// delivery, the median of the rounds' personal/plain ratios (target ≥ 0.7),
// and each kind's largest peak RSS (target: flat in n).
//
// Sub-benchmarks dkim=ed25519 and dkim=rsa (RSA-2048) sign the personal
// runs; dkim=none leaves them unsigned, to tell what the signature costs
// from what rendering and the larger message cost. n is 10,000 and
// rounds 3 unless HERALD_BENCH_CLIENTS and HERALD_BENCH_ROUNDS say
// otherwise; the RSS check at 100,000:
//
//	HERALD_BENCH=1 HERALD_BENCH_CLIENTS=100000 HERALD_BENCH_ROUNDS=1 \
//	  go test ./saga -run '^$' -bench BenchmarkSendPersonal -benchtime 1x -timeout 60m
//
// HERALD_CHILD_CPUPROFILE=FILE profiles the children; each one writes FILE
// as it stops, so it ends up holding the last round's personal run.
func BenchmarkSendPersonal(b *testing.B) {
	if os.Getenv("HERALD_BENCH") == "" && testing.Short() {
		b.Skip("needs the test services")
	}
	n := benchSetting(b, "HERALD_BENCH_CLIENTS", 10_000)
	rounds := benchSetting(b, "HERALD_BENCH_ROUNDS", 3)
	for _, kind := range []string{"none", "ed25519", "rsa"} {
		b.Run(fmt.Sprintf("dkim=%s/clients=%d", kind, n), func(b *testing.B) {
			for range b.N {
				benchPersonal(b, kind, n, rounds)
			}
		})
	}
}

func benchSetting(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// runFigures are one run's measurements.
type runFigures struct {
	perSecond, cpuMicros, peakMB float64
}

func benchPersonal(b *testing.B, kind string, n, rounds int) {
	const concurrency = 32
	b.StopTimer()
	e := newEnv(b, envOptions{noScheduler: true, noSender: true})
	var dkimEnv []string
	if kind != "none" {
		_, pemBytes, err := mail.GenerateDKIMKey(kind)
		if err != nil {
			b.Fatal(err)
		}
		keyFile := filepath.Join(b.TempDir(), "dkim.pem")
		if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
			b.Fatal(err)
		}
		dkimEnv = []string{"HERALD_CHILD_DKIM_KEY_FILE=" + keyFile, "HERALD_CHILD_DKIM_SELECTOR=bench"}
	}

	setup := time.Now()
	clients := e.clients(n)
	plainMsg := e.message("Subject plain")
	personalMsg := e.personalMessage()
	b.Logf("%d clients stored in %s", n, time.Since(setup).Round(time.Millisecond))

	var plain, personal []runFigures
	var ratios []float64
	for r := range rounds {
		p := e.measureRun(b, e.mailingOf(plainMsg, clients), n, concurrency)
		q := e.measureRun(b, e.mailingOf(personalMsg, clients), n, concurrency, dkimEnv...)
		e.checkSample(b, kind != "none")
		plain, personal = append(plain, p), append(personal, q)
		ratios = append(ratios, q.perSecond/p.perSecond)
		b.Logf("round %d: plain %.0f/s %.1f µs CPU %.1f MB, personal %.0f/s %.1f µs CPU %.1f MB, ratio %.2f",
			r+1, p.perSecond, p.cpuMicros, p.peakMB, q.perSecond, q.cpuMicros, q.peakMB, q.perSecond/p.perSecond)
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average after the rounds: %s", strings.TrimSpace(string(load)))
	}
	pick := func(fs []runFigures, f func(runFigures) float64) []float64 {
		out := make([]float64, len(fs))
		for i, x := range fs {
			out[i] = f(x)
		}
		return out
	}
	rate := func(x runFigures) float64 { return x.perSecond }
	cpu := func(x runFigures) float64 { return x.cpuMicros }
	peak := func(x runFigures) float64 { return x.peakMB }
	b.ReportMetric(median(pick(plain, rate)), "plain-deliveries/s")
	b.ReportMetric(median(pick(personal, rate)), "personal-deliveries/s")
	b.ReportMetric(median(ratios), "personal/plain")
	b.ReportMetric(median(pick(plain, cpu)), "plain-sender-CPU-µs/delivery")
	b.ReportMetric(median(pick(personal, cpu)), "personal-sender-CPU-µs/delivery")
	b.ReportMetric(slices.Max(pick(plain, peak)), "plain-peak-RSS-MB")
	b.ReportMetric(slices.Max(pick(personal, peak)), "personal-peak-RSS-MB")
	b.ReportMetric(0, "ns/op")
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// measureRun sends mailing m to its n clients through a new child sender
// started with env, and checks every one was delivered.
func (e *env) measureRun(b *testing.B, m uuid.UUID, n, concurrency int, env ...string) runFigures {
	b.Helper()
	e.clearSink(b)
	before := e.sink.Count()
	c := e.startChild(concurrency, env...)
	defer c.stop()
	cpu0, err := c.cpuSeconds()
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	start := time.Now()
	run := e.dispatchNow(m)
	f := e.waitFinishedWithin(run, 20*time.Minute)
	elapsed := time.Since(start)
	b.StopTimer()
	if f.Sent != n || f.Failed != 0 {
		b.Fatalf("finished %+v", f)
	}
	if got := e.sink.Count() - before; got != n {
		b.Fatalf("sink received %d messages, want %d", got, n)
	}
	peak, err1 := c.peakRSS()
	cpu1, err2 := c.cpuSeconds()
	if err := errors.Join(err1, err2); err != nil {
		b.Fatal(err)
	}
	return runFigures{perSecond: float64(n) / elapsed.Seconds(), cpuMicros: (cpu1 - cpu0) / float64(n) * 1e6,
		peakMB: float64(peak) / (1 << 20)}
}

// checkSample fails unless a message the sink holds is the personal mail:
// multipart/alternative, greeting its client, and signed when it should be.
func (e *env) checkSample(b *testing.B, signed bool) {
	b.Helper()
	entries, err := os.ReadDir(e.sink.Dir())
	if err != nil || len(entries) == 0 {
		b.Fatalf("no message in the sink: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(e.sink.Dir(), entries[0].Name()))
	if err != nil {
		b.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	if !strings.Contains(head, "multipart/alternative") || !strings.Contains(head, "your monthly news") {
		b.Fatalf("not the personal mail:\n%s", head)
	}
	if got := strings.Contains(head, "DKIM-Signature:"); got != signed {
		b.Fatalf("signed %v, want %v:\n%s", got, signed, head)
	}
}

// clearSink removes the messages stored so far: the sink's directory is
// in memory, and several runs of 100,000 would fill it.
func (e *env) clearSink(b *testing.B) {
	b.Helper()
	entries, err := os.ReadDir(e.sink.Dir())
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range entries {
		if err := os.RemoveAll(filepath.Join(e.sink.Dir(), d.Name())); err != nil {
			b.Fatal(err)
		}
	}
}

// mailingOf creates a manually dispatched mailing of message msg.
func (e *env) mailingOf(msg uuid.UUID, clients []uuid.UUID) uuid.UUID {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7())
	start := e.clock.Now().Add(30 * 24 * time.Hour)
	m, err := domain.NewMailing(id, e.owner, domain.MailingFields{MessageID: msg, ClientIDs: clients,
		StartAt: start, EndAt: start.Add(24 * time.Hour), Periodicity: domain.Daily, Timezone: "UTC"}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.MailingStreamType, ID: id}, Expected: eventstore.NoStream, Events: newEvents(m.Changes())})
	return id
}

// personalMessage stores a newsletter as a user would write one: every
// part a template over the client's name, the HTML body about 4 KB once
// sanitized, and a text body of its own.
func (e *env) personalMessage() uuid.UUID {
	e.t.Helper()
	fields, err := compose.Prepare(domain.MessageFields{Subject: testenv.NewsletterSubject, Body: testenv.NewsletterText,
		BodyHTML: testenv.NewsletterHTML()})
	if err != nil {
		e.t.Fatal(err)
	}
	if size := len(fields.BodyHTML); size < 3500 || size > 5000 {
		e.t.Fatalf("the HTML body is %d bytes, want about 4 KB", size)
	}
	id := uuid.Must(uuid.NewV7())
	m, err := domain.NewMessage(id, e.owner, fields)
	if err != nil {
		e.t.Fatal(err)
	}
	e.commit(eventstore.StreamAppend{Stream: domain.Stream{Type: domain.MessageStreamType, ID: id}, Expected: eventstore.NoStream, Events: newEvents(m.Changes())})
	return id
}
