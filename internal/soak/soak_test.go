package soak

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// settings of a run, from the environment; the defaults are the short run
// `make test` includes.
type settings struct {
	duration time.Duration // HERALD_SOAK_DURATION
	interval time.Duration // HERALD_SOAK_INTERVAL: one report and one sample per interval; 1m, or a sixth of a shorter run
	rate     int           // HERALD_SOAK_RATE: requests per second, all routes together
	bin      string        // HERALD_SOAK_BIN: a built herald; empty: testenv.HeraldBinary
	leak     int           // HERALD_SOAK_LEAK=N: hold N more PostgreSQL connections every interval, to see the check fail
}

func loadSettings(t *testing.T) settings {
	t.Helper()
	s := settings{duration: 30 * time.Second, rate: 50, bin: os.Getenv("HERALD_SOAK_BIN")}
	for name, d := range map[string]*time.Duration{"HERALD_SOAK_DURATION": &s.duration, "HERALD_SOAK_INTERVAL": &s.interval} {
		if v := os.Getenv(name); v != "" {
			var err error
			if *d, err = time.ParseDuration(v); err != nil || *d <= 0 {
				t.Fatalf("%s=%q: want a positive duration such as 10m", name, v)
			}
		}
	}
	for name, n := range map[string]*int{"HERALD_SOAK_RATE": &s.rate, "HERALD_SOAK_LEAK": &s.leak} {
		if v := os.Getenv(name); v != "" {
			var err error
			if *n, err = strconv.Atoi(v); err != nil || *n < 0 || (*n == 0 && name == "HERALD_SOAK_RATE") {
				t.Fatalf("%s=%q: want a whole number", name, v)
			}
		}
	}
	if s.interval == 0 {
		s.interval = min(time.Minute, s.duration/6)
	}
	if s.duration < 4*s.interval {
		t.Fatalf("HERALD_SOAK_DURATION %s is under four intervals of %s: too short to judge growth", s.duration, s.interval)
	}
	return s
}

// limits are what "without bound" means for each measured resource (see
// Limit): a slope per minute over the second half of the run together with
// a last value above Factor × the first steady value + Slack. The factors
// leave room for what is bounded by design: the PostgreSQL pool filling to
// its cap under a burst, a stream between two trims, the heap between two
// collections.
var limits = map[string]Limit{
	"rss_mib":        {PerMinute: 8, Factor: 1.5, Slack: 32},
	"goroutines":     {PerMinute: 10, Factor: 1.5, Slack: 50},
	"pg_connections": {PerMinute: 1, Factor: 1.5, Slack: 4},
	"stream_entries": {PerMinute: 2000, Factor: 2, Slack: 5000},
	"projection_lag": {PerMinute: 100, Factor: 2, Slack: 500},
}

// TestSoak runs a real `herald serve` under a fixed-rate mix for
// HERALD_SOAK_DURATION and fails on any error and on any resource growing
// without bound. `make soak` runs it long; `go test` runs the short default.
func TestSoak(t *testing.T) {
	cfg := loadSettings(t)
	began := time.Now()
	h := startHerald(t, cfg)
	l := newLoad(t, h, cfg)
	l.seed()

	series := map[string][]Sample{}
	var held []*pgx.Conn // HERALD_SOAK_LEAK's connections
	t.Cleanup(func() {
		for _, c := range held {
			_ = c.Close(context.Background())
		}
	})
	start := time.Now()
	ctx, stop := context.WithTimeout(context.Background(), cfg.duration)
	defer stop()
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx) }()

	h.printf("soak: %s at %d req/s against herald serve (pid %d) on %s, one line every %s (set up in %s)\n",
		cfg.duration, cfg.rate, h.cmd.Process.Pid, h.base, cfg.interval, time.Since(began).Round(100*time.Millisecond))
	intervals := int((cfg.duration + cfg.interval - 1) / cfg.interval)
	for n := 1; n <= intervals; n++ {
		if n < intervals {
			time.Sleep(time.Until(start.Add(time.Duration(n) * cfg.interval)))
		} else {
			<-done // the load has stopped and the last requests have answered
		}
		at := time.Since(start)
		stats := l.take()
		m := h.measure(l)
		for k, v := range m.values() {
			series[k] = append(series[k], Sample{At: at, Value: v})
		}
		h.printf("%s", report(n, at, stats, m))
		for range cfg.leak {
			c, err := pgx.Connect(context.Background(), h.dbURL)
			if err != nil {
				t.Fatalf("leak: %v", err)
			}
			held = append(held, c)
		}
	}

	total := l.total()
	var failures []string
	if total.errors > 0 {
		failures = append(failures, fmt.Sprintf("%d of %d requests failed; first: %s", total.errors, total.requests, strings.Join(total.firstErrors, "; ")))
	}
	if n, first := h.logErrors(); n > 0 {
		failures = append(failures, fmt.Sprintf("herald logged %d errors; first: %s", n, strings.Join(first, "\n")))
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range limits {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		if err := Check(name, series[name], limits[name]); err != nil {
			failures = append(failures, err.Error())
		}
	}
	if len(failures) > 0 {
		t.Fatalf("soak failed:\n  %s", strings.Join(failures, "\n  "))
	}
	h.printf("soak: passed: %d requests, 0 errors, no resource grew without bound\n", total.requests)
}

// herald is the running `herald serve` process and what measures it.
type herald struct {
	t      *testing.T
	base   string // http://127.0.0.1:port
	dbURL  string
	prefix string // BUS_TOPIC_PREFIX
	cmd    *exec.Cmd
	sink   *mail.Sink
	rdb    *redis.Client
	db     *pgx.Conn
	client *http.Client

	mu        sync.Mutex
	errLines  int
	firstErrs []string
}

func (h *herald) printf(format string, args ...any) {
	if testing.Verbose() {
		fmt.Printf(format, args...)
		return
	}
	h.t.Logf(strings.TrimSuffix(format, "\n"), args...)
}

func startHerald(t *testing.T, cfg settings) *herald {
	t.Helper()
	bin := cfg.bin
	if bin == "" {
		bin = testenv.HeraldBinary(t)
	}
	sink, err := mail.NewSink(mail.SinkConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	h := &herald{t: t, base: "http://" + addr, dbURL: testenv.DatabaseURL(t), prefix: testenv.Name("soak") + ".", sink: sink,
		rdb: testenv.Redis(t), client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	t.Cleanup(func() { h.dropStreams() })
	h.db, err = pgx.Connect(context.Background(), h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.db.Close(context.Background()) })

	h.cmd = exec.Command(bin, "serve")
	h.cmd.Dir = t.TempDir() // no .env of the developer's
	h.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + h.dbURL,
		"REDIS_URL=" + testenv.RedisURL(),
		"SMTP_URL=" + sink.URL(),
		"MAIL_FROM=Herald <herald@soak.localhost>",
		"PUBLIC_BASE_URL=" + h.base,
		"HTTP_ADDR=" + addr,
		"UNSUBSCRIBE_SECRET=soak-unsubscribe-secret-0123456789abcdef",
		"BUS_TOPIC_PREFIX=" + h.prefix,
		"LOG_FORMAT=json",
		"LOG_LEVEL=warn",
	}
	stderr, err := h.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logged := make(chan struct{})
	go func() { defer close(logged); h.readLog(stderr, filepath.Join(t.TempDir(), "herald.log")) }()
	t.Cleanup(func() {
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { _ = h.cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = h.cmd.Process.Kill()
			<-exited
		}
		<-logged
	})
	testenv.Eventually(t, 60*time.Second, "herald's /readyz", func() bool {
		res, err := h.client.Get(h.base + "/readyz")
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == 200
	})
	return h
}

// readLog keeps herald's log and counts its error lines: an error logged
// is an error of the run even when every answer was right.
func (h *herald) readLog(r io.Reader, path string) {
	f, err := os.Create(path)
	if err != nil {
		_, _ = io.Copy(io.Discard, r)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = f.Write(append(line, '\n'))
		var entry struct {
			Level string `json:"level"`
		}
		if json.Unmarshal(line, &entry) == nil && (entry.Level == "error" || entry.Level == "fatal" || entry.Level == "panic") {
			h.mu.Lock()
			h.errLines++
			if len(h.firstErrs) < 3 {
				h.firstErrs = append(h.firstErrs, string(line))
			}
			h.mu.Unlock()
		}
	}
}

func (h *herald) logErrors() (int, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.errLines, slices.Clone(h.firstErrs)
}

// dropStreams removes the run's Redis keys (the test Redis is shared).
func (h *herald) dropStreams() {
	ctx := context.Background()
	iter := h.rdb.Scan(ctx, 0, h.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		_ = h.rdb.Del(ctx, iter.Val()).Err()
	}
}

// measurement is what one interval's end saw of the process and its
// stores; a failed probe counts as an error of the run.
type measurement struct {
	rssMiB       float64
	goroutines   float64
	pgConns      float64
	streams      map[string]int64 // XLEN by stream, prefix removed
	lag          float64          // the largest projection lag, in events
	head         int64            // the store's last position
	mails        int              // messages the sink has accepted so far
	probeFailure []string
}

func (m measurement) streamTotal() int64 {
	var n int64
	for _, v := range m.streams {
		n += v
	}
	return n
}

func (m measurement) values() map[string]float64 {
	return map[string]float64{
		"rss_mib":        m.rssMiB,
		"goroutines":     m.goroutines,
		"pg_connections": m.pgConns,
		"stream_entries": float64(m.streamTotal()),
		"projection_lag": m.lag,
	}
}

// lagSQL is, over every projector's checkpoint on every topic, the largest
// number of events of the topic's stream type the projector has not applied.
const lagSQL = `
SELECT coalesce(max((SELECT count(*) FROM events e
                     WHERE e.stream_type = substr(c.topic, length('events.') + 1)
                       AND (e.tx_id, e.position) > (c.tx_id, c.position))), 0),
       (SELECT coalesce(max(position), 0) FROM events)
FROM projection_checkpoints c`

func (h *herald) measure(l *load) measurement {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := measurement{streams: map[string]int64{}, mails: h.sink.Count()}
	fail := func(what string, err error) {
		m.probeFailure = append(m.probeFailure, fmt.Sprintf("%s: %v", what, err))
		l.fail("probe " + what + ": " + err.Error())
	}
	if rss, err := rssMiB(h.cmd.Process.Pid); err != nil {
		fail("rss", err)
	} else {
		m.rssMiB = rss
	}
	if g, err := h.goroutines(ctx); err != nil {
		fail("goroutines", err)
	} else {
		m.goroutines = g
	}
	// Herald's connections, not this probe's own.
	if err := h.db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&m.pgConns); err != nil {
		fail("pg_stat_activity", err)
	}
	if err := h.db.QueryRow(ctx, lagSQL).Scan(&m.lag, &m.head); err != nil {
		fail("projection lag", err)
	}
	iter := h.rdb.ScanType(ctx, 0, h.prefix+"*", 1000, "stream").Iterator()
	for iter.Next(ctx) {
		n, err := h.rdb.XLen(ctx, iter.Val()).Result()
		if err != nil {
			fail("xlen", err)
			continue
		}
		m.streams[strings.TrimPrefix(iter.Val(), h.prefix)] = n
	}
	if err := iter.Err(); err != nil {
		fail("scan streams", err)
	}
	return m
}

var vmRSS = regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`)

func rssMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	m := vmRSS.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	kb, err := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024, err
}

var goGoroutines = regexp.MustCompile(`(?m)^go_goroutines (\S+)$`)

func (h *herald) goroutines(ctx context.Context) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", h.base+"/metrics", nil)
	res, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	m := goGoroutines.FindSubmatch(b)
	if res.StatusCode != 200 || m == nil {
		return 0, fmt.Errorf("/metrics: %d without go_goroutines", res.StatusCode)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// report is one interval's lines: the totals and resources, then p50/p99
// per route.
func report(n int, at time.Duration, s intervalStats, m measurement) string {
	var b strings.Builder
	longest, longestLen := "-", int64(0)
	for k, v := range m.streams {
		if v > longestLen || (v == longestLen && k < longest) {
			longest, longestLen = k, v
		}
	}
	fmt.Fprintf(&b, "#%-2d %7s  req %5d  err %d  rss %6.1f MiB  goroutines %4.0f  pg conns %3.0f  streams %6d (longest %s %d)  lag %4.0f of head %d  mails %d\n",
		n, at.Round(time.Second), s.requests, s.errors, m.rssMiB, m.goroutines, m.pgConns, m.streamTotal(), longest, longestLen, m.lag, m.head, m.mails)
	routes := make([]string, 0, len(s.latency))
	for r := range s.latency {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		d := s.latency[r]
		slices.Sort(d)
		fmt.Fprintf(&b, "      %-38s n %4d  p50 %7.1f ms  p99 %7.1f ms\n", r, len(d), ms(quantile(d, 0.50)), ms(quantile(d, 0.99)))
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// intervalStats are the answers of one interval (or of the run).
type intervalStats struct {
	requests    int
	errors      int
	firstErrors []string
	latency     map[string][]time.Duration // by route pattern; an interval's only
}

// load issues the mix on a ticker: open loop, so a slow answer does not
// slow the offered rate; requests beyond maxInFlight count as errors.
type load struct {
	t     *testing.T
	h     *herald
	cfg   settings
	token string
	mix   []op

	mu       sync.Mutex
	interval intervalStats
	all      intervalStats
	inFlight atomic.Int64

	pools    map[string]*pool // churned clients, messages, mailings
	message  uuid.UUID        // what churned and dispatched mailings send
	audience []uuid.UUID      // the clients of dispatched mailings
	dispatch []uuid.UUID      // mailings dispatched in turn
	next     atomic.Int64     // the next of dispatch
}

const maxInFlight = 256

// op is one kind of request of the mix; weight is its share of every
// second's requests.
type op struct {
	route  string
	weight int
	do     func(l *load) (route string, status int, want int, err error)
}

func newLoad(t *testing.T, h *herald, cfg settings) *load {
	l := &load{t: t, h: h, cfg: cfg, pools: map[string]*pool{"clients": {}, "messages": {}, "mailings": {}}}
	l.interval.latency = map[string][]time.Duration{}
	l.token = signUp(t, h)
	var ops []op
	for _, o := range theMix() {
		for range o.weight {
			ops = append(ops, o)
		}
	}
	// A fixed interleaving, so every run offers the same sequence.
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	l.mix = ops
	return l
}

// theMix: per 50 requests, 24 commands, 16 list queries, 8 report reads and
// 2 dispatches of small mailings (three recipients each). Creates and
// deletes of each kind are equal, so what the mix keeps stays bounded.
func theMix() []op {
	return []op{
		{"POST /api/v1/clients", 4, (*load).createClient},
		{"PATCH /api/v1/clients/{id}", 4, (*load).updateClient},
		{"DELETE /api/v1/clients/{id}", 4, deleteOf("clients")},
		{"POST /api/v1/messages", 2, (*load).createMessage},
		{"PATCH /api/v1/messages/{id}", 2, (*load).updateMessage},
		{"DELETE /api/v1/messages/{id}", 2, deleteOf("messages")},
		{"POST /api/v1/mailings", 2, (*load).createMailing},
		{"PATCH /api/v1/mailings/{id}", 2, (*load).updateMailing},
		{"DELETE /api/v1/mailings/{id}", 2, deleteOf("mailings")},
		{"GET /api/v1/clients?q=", 8, get("/api/v1/clients?q=soak&limit=20")},
		{"GET /api/v1/messages", 4, get("/api/v1/messages?limit=20")},
		{"GET /api/v1/mailings", 4, get("/api/v1/mailings?limit=20")},
		{"GET /api/v1/reports/mailings", 4, get("/api/v1/reports/mailings")},
		{"GET /api/v1/reports/summary", 4, get("/api/v1/reports/summary")},
		{"POST /api/v1/mailings/{id}/dispatch", 2, (*load).dispatchOne},
	}
}

// pool holds ids the mix created and may update or delete. An update takes
// its id out until it has answered, so no delete races it.
type pool struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (p *pool) put(id uuid.UUID) { p.mu.Lock(); p.ids = append(p.ids, id); p.mu.Unlock() }

func (p *pool) take() (uuid.UUID, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		return uuid.Nil, false
	}
	id := p.ids[0]
	p.ids = p.ids[1:]
	return id, true
}

// seed creates what the mix works on before the clock starts.
func (l *load) seed() {
	t := l.t
	for i := range 3 {
		l.audience = append(l.audience, l.mustCreate("/api/v1/clients", map[string]any{
			"email": fmt.Sprintf("audience%d-%s@soak.example.org", i, uuid.NewString()[:8]), "full_name": fmt.Sprintf("Audience %d", i)}))
	}
	l.message = l.mustCreate("/api/v1/messages", map[string]any{"subject": "Soak {{.FullName}}", "body": "Hello {{.FullName}}, this is the soak."})
	for range 10 {
		l.dispatch = append(l.dispatch, l.mustCreate("/api/v1/mailings", l.mailingBody()))
	}
	for range 20 {
		for _, o := range []func(*load) (string, int, int, error){(*load).createClient, (*load).createMessage, (*load).createMailing} {
			if route, status, want, err := o(l); err != nil || status != want {
				t.Fatalf("seed %s: %d %v", route, status, err)
			}
		}
	}
}

func (l *load) mustCreate(path string, body any) uuid.UUID {
	l.t.Helper()
	var out struct {
		ID uuid.UUID `json:"id"`
	}
	status, err := l.call("POST", path, body, &out)
	if err != nil || status != 201 || out.ID == uuid.Nil {
		l.t.Fatalf("POST %s: %d %v", path, status, err)
	}
	return out.ID
}

// mailingBody starts tomorrow, so only dispatch sends it.
func (l *load) mailingBody() map[string]any {
	start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	return map[string]any{"message_id": l.message, "client_ids": l.audience, "start_at": start.Format(time.RFC3339),
		"end_at": start.Add(30 * 24 * time.Hour).Format(time.RFC3339), "periodicity": "weekly", "timezone": "UTC"}
}

func (l *load) createClient() (string, int, int, error) {
	return l.create("POST /api/v1/clients", "clients", "/api/v1/clients", map[string]any{
		"email": "soak-" + uuid.NewString()[:13] + "@soak.example.org", "full_name": "Soak client", "comment": "soak"})
}

func (l *load) createMessage() (string, int, int, error) {
	return l.create("POST /api/v1/messages", "messages", "/api/v1/messages", map[string]any{"subject": "Soak churn", "body": "Churned {{.FullName}}"})
}

func (l *load) createMailing() (string, int, int, error) {
	return l.create("POST /api/v1/mailings", "mailings", "/api/v1/mailings", l.mailingBody())
}

func (l *load) create(route, kind, path string, body any) (string, int, int, error) {
	var out struct {
		ID uuid.UUID `json:"id"`
	}
	status, err := l.call("POST", path, body, &out)
	if err == nil && status == 201 {
		l.pools[kind].put(out.ID)
	}
	return route, status, 201, err
}

func (l *load) updateClient() (string, int, int, error) {
	return l.update("PATCH /api/v1/clients/{id}", "clients", map[string]any{"full_name": "Soak client " + strconv.Itoa(rand.IntN(1000))})
}

func (l *load) updateMessage() (string, int, int, error) {
	return l.update("PATCH /api/v1/messages/{id}", "messages", map[string]any{"subject": "Soak churn " + strconv.Itoa(rand.IntN(1000))})
}

func (l *load) updateMailing() (string, int, int, error) {
	end := time.Now().Add(time.Duration(30+rand.IntN(30)) * 24 * time.Hour).UTC().Truncate(time.Second)
	return l.update("PATCH /api/v1/mailings/{id}", "mailings", map[string]any{"end_at": end.Format(time.RFC3339)})
}

func (l *load) update(route, kind string, body any) (string, int, int, error) {
	id, ok := l.pools[kind].take()
	if !ok {
		return route, 0, 0, fmt.Errorf("no %s left to update", kind)
	}
	defer l.pools[kind].put(id)
	status, err := l.call("PATCH", "/api/v1/"+kind+"/"+id.String(), body, nil)
	return route, status, 200, err
}

func deleteOf(kind string) func(*load) (string, int, int, error) {
	route := "DELETE /api/v1/" + kind + "/{id}"
	return func(l *load) (string, int, int, error) {
		id, ok := l.pools[kind].take()
		if !ok {
			return route, 0, 0, fmt.Errorf("no %s left to delete", kind)
		}
		status, err := l.call("DELETE", "/api/v1/"+kind+"/"+id.String(), nil, nil)
		return route, status, 204, err
	}
}

func get(path string) func(*load) (string, int, int, error) {
	route := "GET " + strings.SplitN(path, "?", 2)[0]
	if strings.Contains(path, "q=") {
		route += "?q="
	}
	return func(l *load) (string, int, int, error) {
		status, err := l.call("GET", path, nil, nil)
		return route, status, 200, err
	}
}

func (l *load) dispatchOne() (string, int, int, error) {
	id := l.dispatch[int(l.next.Add(1))%len(l.dispatch)]
	status, err := l.call("POST", "/api/v1/mailings/"+id.String()+"/dispatch", nil, nil)
	return "POST /api/v1/mailings/{id}/dispatch", status, 202, err
}

// call sends one request as the soak's user and decodes a JSON answer into
// out when out is not nil.
func (l *load) call(method, path string, body, out any) (int, error) {
	return l.h.call(method, path, l.token, body, out)
}

func (h *herald) call(method, path, token string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("%s", bytes.TrimSpace(b))
	}
	if out != nil {
		return res.StatusCode, json.Unmarshal(b, out)
	}
	return res.StatusCode, nil
}

// run offers the mix at cfg.rate until ctx ends, then waits for every
// request in flight. Request i is due at start + i/rate whatever happened
// before it: one late to be sent goes at once, so the offered rate holds
// when the machine stalls the generator.
func (l *load) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	start, period := time.Now(), time.Second/time.Duration(l.cfg.rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * period)
		timer.Reset(time.Until(due))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		o := l.mix[i%len(l.mix)]
		if l.inFlight.Load() >= maxInFlight {
			l.recordLatency(o.route, -1, fmt.Errorf("%d requests in flight: the server does not keep up with %d req/s", maxInFlight, l.cfg.rate))
			continue
		}
		l.inFlight.Add(1)
		wg.Go(func() {
			defer l.inFlight.Add(-1)
			route, status, want, err := o.do(l)
			took := time.Since(due) // from when it was due: a late send is the server's wait too
			switch {
			case err != nil && status != 0:
				err = fmt.Errorf("%d: %w", status, err)
			case err == nil && status != want:
				err = fmt.Errorf("status %d, want %d", status, want)
			}
			l.recordLatency(route, took, err)
		})
	}
}

// recordLatency counts one request; took < 0 means it was never sent.
func (l *load) recordLatency(route string, took time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if took >= 0 {
		l.interval.latency[route] = append(l.interval.latency[route], took)
	}
	for _, s := range []*intervalStats{&l.interval, &l.all} {
		s.requests++
		if err != nil {
			s.errors++
			if len(s.firstErrors) < 3 {
				s.firstErrors = append(s.firstErrors, route+": "+err.Error())
			}
		}
	}
}

// fail counts an error that is no request's (a probe that failed).
func (l *load) fail(what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range []*intervalStats{&l.interval, &l.all} {
		s.errors++
		if len(s.firstErrors) < 3 {
			s.firstErrors = append(s.firstErrors, what)
		}
	}
}

// take returns the interval's stats and starts the next interval.
func (l *load) take() intervalStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.interval
	l.interval = intervalStats{latency: map[string][]time.Duration{}}
	return s
}

func (l *load) total() intervalStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all
}

var verifyLink = regexp.MustCompile(`token=([A-Za-z0-9_\-.~%]+)`)

// signUp registers the soak's user, follows the verification mail at the
// sink and logs in; it returns the session token.
func signUp(t *testing.T, h *herald) string {
	t.Helper()
	email := testenv.Name("soak") + "@soak.example.org"
	const password = "correct horse battery staple"
	if status, err := h.call("POST", "/api/v1/auth/register", "", map[string]string{"email": email, "password": password, "name": "Soak"}, nil); err != nil || status != 201 {
		t.Fatalf("register: %d %v", status, err)
	}
	var token string
	testenv.Eventually(t, 30*time.Second, "the verification mail", func() bool {
		msgs, err := h.sink.Messages()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if slices.Contains(m.Recipients, email) {
				if s := verifyLink.FindStringSubmatch(m.Body); s != nil {
					token, _ = url.QueryUnescape(s[1])
				}
			}
		}
		return token != ""
	})
	if status, err := h.call("POST", "/api/v1/auth/verify", "", map[string]string{"token": token}, nil); err != nil || status != 200 {
		t.Fatalf("verify: %d %v", status, err)
	}
	var login struct {
		Token string `json:"token"`
	}
	if status, err := h.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &login); err != nil || status != 200 || login.Token == "" {
		t.Fatalf("login: %d %v", status, err)
	}
	return login.Token
}
