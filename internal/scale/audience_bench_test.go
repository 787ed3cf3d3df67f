package scale

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	gomail "github.com/wneessen/go-mail"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// BenchmarkAudience sends one personal newsletter to a whole audience, end
// to end through one `herald serve`: the CSV import of N clients
// (rows/s), an all-clients mailing dispatched and followed until its
// report counts N successes (deliveries/s, and that rate as a ratio to the
// floor: go-mail alone sending the same mail to the same sink over as many
// connections, measured in the same run before the dispatch and again
// after the run, the ratio taken to the mean of the two), the
// process's peak RSS over import and send, what the send left in
// PostgreSQL per delivery (every table with its indexes, after the
// projectors caught up) and Redis's memory above idle once the consumers
// are done and the streams trimmed. Targets: rows/s ≥ 20,000,
// deliveries/s ≥ 0.85 of the floor, RSS ≤ 64 MB, ≤ 600 B a delivery,
// Redis ≤ 50 MB above idle; the timed figures are reported, not asserted.
// Beside the rate it reports the CPU time a delivery costs the machine
// (herald, PostgreSQL, Redis and the sink, against the floor's client and
// sink): where the cores are the limit, the floor's share of it bounds the
// ratio to the floor.
//
// N is 100,000 and 1,000,000 unless HERALD_BENCH_AUDIENCE lists others
// (comma-separated); SEND_CONCURRENCY, and the floor's connections, are 8
// unless HERALD_BENCH_CONCURRENCY says otherwise. HERALD_BENCH_PROFILE_DIR
// keeps a 30-second CPU profile of the process during the import and
// during the send (DEBUG_ADDR), and its heap after each;
// HERALD_BENCH_GOMEMLIMIT runs it with that GOMEMLIMIT and
// HERALD_BENCH_MEMORY_TARGET_MIB with that MEMORY_TARGET_MIB (0: Go's
// default heap growth).
func BenchmarkAudience(b *testing.B) {
	if os.Getenv("HERALD_BENCH") == "" && testing.Short() {
		b.Skip("needs the test services")
	}
	sizes := []int{100_000, 1_000_000}
	if v := os.Getenv("HERALD_BENCH_AUDIENCE"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("HERALD_BENCH_AUDIENCE=%q: want sizes such as 100000,1000000", v)
			}
			sizes = append(sizes, n)
		}
	}
	concurrency := 8
	if v := os.Getenv("HERALD_BENCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("HERALD_BENCH_CONCURRENCY=%q", v)
		}
		concurrency = n
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			for range b.N {
				benchAudience(b, n, concurrency)
			}
		})
	}
}

func benchAudience(b *testing.B, n, concurrency int) {
	b.StopTimer()
	profiles := os.Getenv("HERALD_BENCH_PROFILE_DIR")
	r := startRig(b, concurrency)
	redisIdle := r.redisUsed()

	// The floor first, on the same sink, while herald idles.
	floorN := min(n, 100_000)
	cpu := cpuTimes(b)
	floor := floorRate(b, r.sink, concurrency, floorN)
	floorCPU, floorTotal := cpuPer(cpu, cpuTimes(b), floorN)
	b.Logf("floor: go-mail sent %d newsletters over %d connections at %.0f/s; CPU µs a delivery: %s",
		floorN, concurrency, floor, floorCPU)

	// Import.
	var csv bytes.Buffer
	csv.Grow(n * 64)
	csv.WriteString("email,full_name,comment\n")
	for i := range n {
		fmt.Fprintf(&csv, "reader%07d@scale.example.test,Reader Number %d,\n", i, i)
	}
	var imported struct {
		Created  int   `json:"created"`
		Skipped  int   `json:"skipped"`
		Rejected []any `json:"rejected"`
	}
	importProfile := r.profile(profiles, fmt.Sprintf("import-%d.pprof", n), 30*time.Second)
	importCPU := cpuTimes(b)
	start := time.Now()
	r.do("POST", "/api/v1/clients/import", "text/csv", bytes.NewReader(csv.Bytes()), 200, &imported)
	importTook := time.Since(start)
	importCPUPer, importCPUTotal := cpuPer(importCPU, cpuTimes(b), n)
	csv = bytes.Buffer{}
	if imported.Created != n || imported.Skipped != 0 || len(imported.Rejected) != 0 {
		b.Fatalf("import: %+v", imported)
	}
	if err := <-importProfile; err != nil {
		b.Fatal(err)
	}
	catchUp := r.caughtUp(30 * time.Minute)
	importPeak := r.peakRSS()
	r.heapProfile(profiles, fmt.Sprintf("import-%d.heap", n))
	b.Logf("imported %d clients in %s (%.0f/s); the projectors caught up %s later; peak RSS so far %.1f MB; "+
		"CPU µs a client until the import answered: %s (cores busy %.2f)",
		n, importTook.Round(time.Millisecond), float64(n)/importTook.Seconds(), catchUp.Round(time.Millisecond), float64(importPeak)/(1<<20),
		importCPUPer, importCPUTotal*float64(n)/1e6/importTook.Seconds())

	// The mailing.
	var msg, mailing struct {
		ID uuid.UUID `json:"id"`
	}
	r.call("POST", "/api/v1/messages", map[string]any{"subject": testenv.NewsletterSubject,
		"body": testenv.NewsletterText, "body_html": testenv.NewsletterHTML()}, 201, &msg)
	startAt := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	r.call("POST", "/api/v1/mailings", map[string]any{"message_id": msg.ID, "all_clients": true,
		"start_at": startAt.Format(time.RFC3339), "end_at": startAt.Add(24 * time.Hour).Format(time.RFC3339),
		"periodicity": "once", "timezone": "UTC"}, 201, &mailing)
	r.caughtUp(time.Minute)
	dbBefore := r.relations()
	sinkBefore := r.sink.Count()

	b.StartTimer()
	cpu = cpuTimes(b)
	start = time.Now()
	var dispatched struct {
		RunID uuid.UUID `json:"run_id"`
	}
	r.call("POST", "/api/v1/mailings/"+mailing.ID.String()+"/dispatch", nil, 202, &dispatched)
	sendProfile := r.profile(profiles, fmt.Sprintf("send-%d.pprof", n), 30*time.Second)
	var mailed time.Duration
	type report struct {
		MailingID       uuid.UUID `json:"mailing_id"`
		AttemptsTotal   int       `json:"attempts_total"`
		AttemptsSuccess int       `json:"attempts_success"`
		AttemptsFailure int       `json:"attempts_failure"`
	}
	var rep report
	deadline := time.Now().Add(2 * time.Hour)
	for {
		if mailed == 0 && r.sink.Count()-sinkBefore >= n {
			mailed = time.Since(start)
		}
		var page struct {
			Items []report `json:"items"`
		}
		r.call("GET", "/api/v1/reports/mailings?limit=500", nil, 200, &page)
		for _, it := range page.Items {
			if it.MailingID == mailing.ID {
				rep = it
			}
		}
		if rep.AttemptsTotal >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 2h the report counts %+v of %d", rep, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	sendCPU, sendTotal := cpuPer(cpu, cpuTimes(b), n)
	if rep.AttemptsSuccess != n || rep.AttemptsFailure != 0 {
		b.Fatalf("report %+v, want %d successes", rep, n)
	}
	if got := r.sink.Count() - sinkBefore; got != n {
		b.Fatalf("the sink received %d newsletters, want %d", got, n)
	}
	if err := <-sendProfile; err != nil {
		b.Fatal(err)
	}
	r.heapProfile(profiles, fmt.Sprintf("send-%d.heap", n))
	var history struct {
		Runs []struct {
			Status string `json:"status"`
			Sent   int    `json:"sent"`
		} `json:"runs"`
	}
	r.call("GET", "/api/v1/mailings/"+mailing.ID.String()+"/history", nil, 200, &history)
	if len(history.Runs) != 1 || history.Runs[0].Status != "finished" || history.Runs[0].Sent != n {
		b.Fatalf("history runs %+v, want one finished run that sent %d", history.Runs, n)
	}

	r.caughtUp(10 * time.Minute)
	dbGrowth, tables := growth(dbBefore, r.relations())
	// The bus is trimmed every few seconds to what every group has passed.
	var entries int64
	trimStart := time.Now()
	for {
		entries = r.streamEntries()
		if entries < 1000 || time.Since(trimStart) > 2*time.Minute {
			break
		}
		time.Sleep(time.Second)
	}
	redisAbove := r.redisUsed() - redisIdle
	// The floor again, now that herald idles once more: the machine's
	// speed drifts over minutes, so the ratio is to the mean of the two.
	floorBefore := floor
	floorAfter := floorRate(b, r.sink, concurrency, floorN)
	floor = (floorBefore + floorAfter) / 2
	b.Logf("floor after the run: %.0f/s (before: %.0f/s)", floorAfter, floorBefore)
	rate := float64(n) / took.Seconds()
	peak := r.peakRSS()
	b.ReportMetric(float64(n)/importTook.Seconds(), "import-rows/s")
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(floor, "floor-deliveries/s")
	b.ReportMetric(rate/floor, "of-floor")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(dbGrowth)/float64(n), "PG-B/delivery")
	b.ReportMetric(float64(redisAbove)/(1<<20), "Redis-MB-above-idle")
	b.ReportMetric(sendTotal/floorTotal, "CPU-of-floor")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d deliveries: the sink had them all after %s, the report counted them after %s (%.0f/s, %.2f of the floor)",
		n, mailed.Round(time.Millisecond), took.Round(time.Millisecond), rate, rate/floor)
	cores := float64(runtime.NumCPU())
	b.Logf("CPU µs a delivery: %s; %.0f in all against the floor's %.0f (%.2f×). Cores busy: %.2f sending, %.2f for the floor; "+
		"all %.0f cores at %.0f µs a delivery would send %.0f/s, %.2f of the floor",
		sendCPU, sendTotal, floorTotal, sendTotal/floorTotal, rate*sendTotal/1e6, floor*floorTotal/1e6,
		cores, sendTotal, cores*1e6/sendTotal, cores*1e6/sendTotal/floor)
	b.Logf("PostgreSQL grew %.1f MB (%.0f B a delivery): %s", float64(dbGrowth)/1e6, float64(dbGrowth)/float64(n), strings.Join(tables, ", "))
	var batches int
	if err := r.db.QueryRow(r.ctx, `SELECT count(*) FROM events WHERE type = 'run.deliveries_attempted'`).Scan(&batches); err != nil {
		b.Fatal(err)
	}
	b.Logf("the sender recorded the attempts in %d events, %.1f attempts an event", batches, float64(n)/float64(max(batches, 1)))
	b.Logf("Redis %.1f MB above idle with %d stream entries left; herald's peak RSS %.1f MB",
		float64(redisAbove)/(1<<20), entries, float64(peak)/(1<<20))
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average at the end: %s", strings.TrimSpace(string(load)))
	}
}

// floorRate is what go-mail alone achieves against sink: n newsletters,
// each to its own recipient, over conns connections opened beforehand.
func floorRate(b *testing.B, sink *mail.Sink, conns, n int) float64 {
	b.Helper()
	ep := sink.Endpoint()
	clients := make([]*gomail.Client, conns)
	for i := range clients {
		c, err := gomail.NewClient(ep.Host, gomail.WithPort(ep.Port), gomail.WithTLSPolicy(gomail.NoTLS),
			gomail.WithHELO("floor.scale.example.test"))
		if err != nil {
			b.Fatal(err)
		}
		if err := c.DialWithContext(context.Background()); err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}
	html := testenv.NewsletterHTML()
	before := sink.Count()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := time.Now()
	for _, c := range clients {
		wg.Go(func() {
			defer c.Close()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				name := fmt.Sprintf("Reader Number %d", i)
				to := fmt.Sprintf("reader%07d@scale.example.test", i)
				m := gomail.NewMsg()
				if err := m.From("news@scale.example.test"); err != nil {
					errs <- err
					return
				}
				if err := m.To(to); err != nil {
					errs <- err
					return
				}
				m.Subject(personal(testenv.NewsletterSubject, name, to))
				m.SetGenHeader("List-Unsubscribe", "<http://127.0.0.1/unsubscribe/floor>")
				m.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
				m.SetBodyString(gomail.TypeTextPlain, personal(testenv.NewsletterText, name, to))
				m.AddAlternativeString(gomail.TypeTextHTML, personal(html, name, to))
				if err := c.Send(m); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatalf("floor: %v", err)
	}
	if got := sink.Count() - before; got != n {
		b.Fatalf("floor: the sink received %d, want %d", got, n)
	}
	return float64(n) / took.Seconds()
}

// personal fills the newsletter's fields as the message's template does.
func personal(s, name, email string) string {
	return strings.NewReplacer("{{.FullName}}", name, "{{.Email}}", email, "{{if .Comment}} ({{.Comment}}){{end}}", "").Replace(s)
}
