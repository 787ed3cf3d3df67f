package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// sendConcurrency is SEND_CONCURRENCY of every sender the suite starts; a
// killed sender may leave 8 times this many deliveries in doubt (README,
// "What SMTP cannot make exactly-once").
const sendConcurrency = 8

// size is the suite's form: HERALD_FAULTS=all runs every scenario with
// 10,000 recipients and a 30 s SMTP stall; otherwise (the form `make test`
// runs) two scenarios with 1,000 recipients and a 3 s stall.
type size struct {
	full    bool
	clients int
	stall   time.Duration
}

func suiteSize() size {
	if os.Getenv("HERALD_FAULTS") == "all" {
		return size{full: true, clients: 10_000, stall: 30 * time.Second}
	}
	return size{clients: 1_000, stall: 3 * time.Second}
}

// cluster is one suite's world: private PostgreSQL, Redis, SMTP sink behind
// the proxy, and the herald processes.
type cluster struct {
	t         *testing.T
	size      size
	pg        *postgres
	redis     *testenv.PrivateRedis
	proxy     *smtpProxy
	h         *herald
	db        *pgxpool.Pool
	apiURL    string
	token     string
	ownerID   string
	messageID string
	clientIDs []string
	emails    map[string]bool

	api, scheduler, sender *proc
	senders                int // sender names used so far
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite runs real processes; not in -short")
	}
	sz := suiteSize()
	c := newCluster(t, sz)

	var rows []result
	defer func() { printTable(t, rows) }()
	for _, sc := range scenarios(sz) {
		if !sz.full && !sc.quick {
			continue
		}
		rows = append(rows, result{scenario: sc.name})
		ok := t.Run(sc.name, func(t *testing.T) {
			c.t = t
			c.play(sc, &rows[len(rows)-1])
		})
		c.t = nil
		if !ok {
			rows[len(rows)-1].failed = true
		}
	}
}

func newCluster(t *testing.T, sz size) *cluster {
	c := &cluster{t: t, size: sz, emails: map[string]bool{}}
	c.pg = startPostgres(t)
	c.redis = testenv.StartPersistentRedis(t)
	c.proxy = startProxy(t)
	c.newSink(t)
	port := freePort(t)
	c.apiURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	c.h = &herald{t: t, bin: testenv.HeraldBinary(t), dir: t.TempDir(), env: []string{
		"DATABASE_URL=" + c.pg.URL(),
		"REDIS_URL=" + c.redis.URL(),
		"HTTP_ADDR=127.0.0.1:" + strconv.Itoa(port),
		"PUBLIC_BASE_URL=" + c.apiURL,
		"SMTP_URL=" + c.proxy.URL(),
		"MAIL_FROM=Herald <herald@faults.example.com>",
		"UNSUBSCRIBE_SECRET=faults-suite-unsubscribe-secret-0123456789",
		"LOG_FORMAT=json",
		"LOG_LEVEL=warn",
		"SEND_CONCURRENCY=" + strconv.Itoa(sendConcurrency),
		"SEND_RATE=0",
		// Deliveries cut by a fault are retried within seconds, not minutes.
		"SEND_RETRY_SCHEDULE=1s,2s,4s,8s,15s,30s,60s,120s",
		// A run whose command a fault lost is handed back soon.
		"SEND_STALL_AFTER=15s",
		"SHUTDOWN_TIMEOUT=15s",
		"BCRYPT_COST=4",
	}}
	c.h.command("", nil, "migrate", "up")
	c.h.command("", nil, "create-groups")
	c.h.command("", []string{"HERALD_SUPERUSER_PASSWORD=faults-password-1"}, "ccsu", "--email", "owner@faults.example.com")

	db, err := pgxpool.New(context.Background(), c.pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	c.db = db

	c.api = c.h.serve("api", "api,projector")
	c.scheduler = c.h.serve("scheduler", "scheduler")
	c.startSender()
	testenv.Eventually(t, time.Minute, "the API to be ready", func() bool {
		res, err := http.Get(c.apiURL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})

	var login struct{ Token string }
	c.do("POST", "/api/v1/auth/login", "", map[string]string{"email": "owner@faults.example.com", "password": "faults-password-1"}, &login)
	c.token = login.Token
	var me struct{ ID string }
	c.do("GET", "/api/v1/me", "", nil, &me)
	c.ownerID = me.ID

	var csv strings.Builder
	csv.WriteString("email,full_name,comment\n")
	for i := range sz.clients {
		e := fmt.Sprintf("r%05d@faults.example.com", i)
		c.emails[e] = true
		fmt.Fprintf(&csv, "%s,Recipient %d,\n", e, i)
	}
	var imp struct{ Created int }
	c.do("POST", "/api/v1/clients/import", "text/csv", csv.String(), &imp)
	if imp.Created != sz.clients {
		t.Fatalf("import created %d clients, want %d", imp.Created, sz.clients)
	}
	testenv.Eventually(t, 2*time.Minute, "the clients read model to hold every client", func() bool {
		return c.count("SELECT count(*) FROM clients WHERE owner_id = $1 AND NOT deleted", c.ownerID) == sz.clients
	})
	rows, err := db.Query(context.Background(), "SELECT id::text FROM clients WHERE owner_id = $1 AND NOT deleted", c.ownerID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		c.clientIDs = append(c.clientIDs, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var msg struct{ ID string }
	c.do("POST", "/api/v1/messages", "", map[string]string{"subject": "Faults {{.FullName}}", "body": "Hello {{.FullName}}.\n\n{{.UnsubscribeURL}}\n"}, &msg)
	c.messageID = msg.ID
	return c
}

// startSender starts a sender under a new consumer name.
func (c *cluster) startSender() {
	c.senders++
	name := fmt.Sprintf("sender-%d", c.senders)
	c.sender = c.h.serve(name, "sender", "SENDER_NAME="+name)
}

func (c *cluster) newSink(t testing.TB) *mail.Sink {
	dir, cleanup, err := mail.ScratchDir("herald-faults-sink")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	s, err := mail.NewSink(mail.SinkConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.proxy.SetUpstream(s.Addr())
	return s
}

// do sends one API request and decodes a 2xx answer into out.
func (c *cluster) do(method, path, ctype string, body any, out any) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.apiURL+path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		c.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

func (c *cluster) count(q string, args ...any) int {
	var n int
	if err := c.db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		return -1
	}
	return n
}

// ---------------------------------------------------------------- scenarios

type scenario struct {
	name  string
	quick bool // part of the form `make test` runs
	// scheduled: the mailing starts on its own a few seconds ahead instead
	// of being dispatched.
	scheduled bool
	// dupBound is how many duplicate copies the scenario may cause.
	dupBound int
	// fault breaks something; it returns once the breakage is over (the
	// process restarted, the stall ended).
	fault func(c *cluster, s *mail.Sink)
}

func scenarios(sz size) []scenario {
	return []scenario{
		{name: "sender-sigkill", quick: true, dupBound: 8 * sendConcurrency, fault: func(c *cluster, _ *mail.Sink) {
			_ = c.sender.signal(syscall.SIGKILL, 10*time.Second)
			c.startSender() // another process takes over
		}},
		{name: "sender-sigterm", fault: func(c *cluster, _ *mail.Sink) {
			if err := c.sender.signal(syscall.SIGTERM, 60*time.Second); err != nil {
				c.t.Errorf("drain: %v", err)
			}
			c.sender = c.h.serve(c.sender.name, "sender", "SENDER_NAME="+c.sender.name)
		}},
		{name: "redis-restart", fault: func(c *cluster, _ *mail.Sink) {
			c.redis.Signal(syscall.SIGTERM)
			time.Sleep(2 * time.Second)
			c.redis.Start()
		}},
		{name: "redis-flushall", fault: func(c *cluster, _ *mail.Sink) {
			if err := c.redis.FlushAll(); err != nil {
				c.t.Fatal(err)
			}
		}},
		// A crash of PostgreSQL ends the session holding the sender's run
		// lock and fails its appends; the sender holds its batch (and so
		// its in-flight slots: nothing more is sent) and appends it again
		// until the database is back. A database down longer than that
		// leaves at most the in-flight window unrecorded, as a SIGKILL does
		// (README, "What SMTP cannot make exactly-once"): the same bound.
		{name: "postgres-restart", dupBound: 8 * sendConcurrency, fault: func(c *cluster, _ *mail.Sink) {
			c.pg.stop("immediate")
			time.Sleep(2 * time.Second)
			c.pg.Start()
		}},
		// A reset may cut a transaction whose whole message the server
		// had already taken (MAIL, RCPT and BDAT LAST go in one pipeline)
		// before its replies came back. The client then reads no reply at
		// MAIL on a reused connection, takes it for one the server had
		// closed, and sends again on a fresh one, inside the same attempt:
		// at most one extra copy per connection cut.
		{name: "smtp-reset-stall", quick: true, dupBound: sendConcurrency, fault: func(c *cluster, _ *mail.Sink) {
			c.proxy.Reset()
			c.proxy.Stall(sz.stall)
			time.Sleep(sz.stall)
		}},
		{name: "scheduler-kill-at-start", scheduled: true, fault: func(c *cluster, _ *mail.Sink) {
			_ = c.scheduler.signal(syscall.SIGKILL, 10*time.Second)
			time.Sleep(2 * time.Second)
			c.scheduler = c.h.serve("scheduler", "scheduler")
		}},
		// The sender's clock a minute behind the others' and PostgreSQL's
		// (CLOCK_OFFSET): its attempts carry times a minute old, and the
		// scheduler's watch of the run must not take it for stalled.
		{name: "clock-skew", fault: func(c *cluster, _ *mail.Sink) {
			if err := c.sender.signal(syscall.SIGTERM, 60*time.Second); err != nil {
				c.t.Errorf("drain: %v", err)
			}
			c.sender = c.h.serve(c.sender.name, "sender", "SENDER_NAME="+c.sender.name, "CLOCK_OFFSET=-1m")
		}},
	}
}

// result is one line of the summary table.
type result struct {
	scenario    string
	recipients  int
	duplicates  int
	skips       int
	attempts    int // attempts recorded in the run's events
	attemptRows int // rows of the attempts read model
	reportOK    bool
	rebuildOK   bool
	recover     time.Duration
	failed      bool
}

// play runs one scenario: a mailing to every client, the fault once a third
// of it is delivered (or at its start time), then the checks.
func (c *cluster) play(sc scenario, res *result) {
	t := c.t
	res.recipients = len(c.clientIDs)
	sink := c.newSink(t)
	startAt := time.Now().Add(time.Hour)
	if sc.scheduled {
		startAt = time.Now().Add(5 * time.Second)
	}
	var m struct{ ID string }
	c.do("POST", "/api/v1/mailings", "", map[string]any{
		"message_id": c.messageID, "client_ids": c.clientIDs, "periodicity": "once",
		"start_at": startAt.UTC().Format(time.RFC3339Nano), "end_at": startAt.Add(24 * time.Hour).UTC().Format(time.RFC3339Nano),
	}, &m)

	var runID string
	if sc.scheduled {
		time.Sleep(time.Until(startAt))
	} else {
		var d struct {
			RunID string `json:"run_id"`
		}
		c.do("POST", "/api/v1/mailings/"+m.ID+"/dispatch", "", nil, &d)
		runID = d.RunID
		testenv.Eventually(t, 2*time.Minute, "a third of the mailing to be delivered", func() bool {
			return sink.Count() >= len(c.clientIDs)/3
		})
	}
	faultAt := time.Now()
	sc.fault(c, sink)
	after := sink.Count()
	if sc.scheduled {
		testenv.Eventually(t, 3*time.Minute, "the scheduled run to start", func() bool {
			runID = c.runOf(m.ID)
			return runID != ""
		})
	}
	finished := func() bool {
		return c.count("SELECT count(*) FROM events WHERE stream_id = $1 AND type = 'run.finished'", runID) > 0
	}
	testenv.Eventually(t, 5*time.Minute, "deliveries to resume after the fault", func() bool {
		return sink.Count() > after || finished()
	})
	res.recover = time.Since(faultAt)
	testenv.Eventually(t, 10*time.Minute, "the run to finish without help", finished)

	if n := c.count("SELECT count(*) FROM events WHERE type = 'run.started' AND data->>'mailing_id' = $1", m.ID); n != 1 {
		t.Errorf("%d runs started for the mailing, want 1", n)
	}
	// Copies per recipient at the sink, by Message-ID.
	msgs, err := sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string]int{}
	ids := map[string]string{}
	for _, msg := range msgs {
		if len(msg.Recipients) != 1 {
			t.Errorf("message %s has %d recipients", msg.File, len(msg.Recipients))
			continue
		}
		rcpt := strings.ToLower(msg.Recipients[0])
		if !c.emails[rcpt] {
			t.Errorf("message to a stranger: %s", rcpt)
			continue
		}
		if !strings.HasPrefix(msg.MessageID, runID+".") {
			t.Errorf("message to %s has Message-ID %q, not of run %s", rcpt, msg.MessageID, runID)
		}
		if prev, ok := ids[rcpt]; ok && prev != msg.MessageID {
			t.Errorf("%s got two different Message-IDs: %s and %s", rcpt, prev, msg.MessageID)
		}
		ids[rcpt] = msg.MessageID
		copies[rcpt]++
	}
	for e := range c.emails {
		switch n := copies[e]; {
		case n == 0:
			res.skips++
		case n > 1:
			res.duplicates += n - 1
		}
	}
	if res.skips > 0 {
		t.Errorf("%d recipients got nothing", res.skips)
	}
	if res.duplicates > sc.dupBound {
		t.Errorf("%d duplicate copies, more than the bound %d", res.duplicates, sc.dupBound)
	}

	// Every attempt is recorded in the run's events; the sink's deliveries are the successes.
	res.attempts = c.count("SELECT count(*) FROM run_attempts($1)", runID)
	success := c.count("SELECT count(*) FROM run_attempts($1) WHERE success", runID)
	failure := res.attempts - success
	distinct := c.count("SELECT count(DISTINCT client_id) FROM run_attempts($1) WHERE success", runID)
	if success != distinct {
		t.Errorf("%d successful attempts for %d clients: a client recorded as sent twice", success, distinct)
	}
	if distinct != len(c.clientIDs) {
		t.Errorf("%d clients recorded as sent, want %d", distinct, len(c.clientIDs))
	}
	if len(msgs) < success {
		t.Errorf("the sink holds %d messages but %d attempts are recorded as sent", len(msgs), success)
	}
	if extra := len(msgs) - success; extra > sc.dupBound {
		t.Errorf("the sink holds %d messages more than the successes recorded (bound %d)", extra, sc.dupBound)
	}

	// The read models catch up to the events; the report equals a recount.
	testenv.Eventually(t, 2*time.Minute, "the attempts read model to hold every attempt", func() bool {
		res.attemptRows = c.count("SELECT count(*) FROM attempts WHERE run_id = $1", runID)
		return res.attemptRows == res.attempts
	})
	var last *report
	defer func() {
		if !res.reportOK {
			t.Logf("report %+v; events: %d attempts, %d success, %d failure", last, res.attempts, success, failure)
		}
	}()
	// A dispatched run leaves a once mailing started (its scheduled run is
	// still ahead); the scheduled run completes it.
	testenv.Eventually(t, 2*time.Minute, "the mailing report to equal a recount of the events", func() bool {
		r := c.report(m.ID)
		last = r
		res.reportOK = r != nil && r.Runs == 1 && r.AttemptsTotal == res.attempts && r.AttemptsSuccess == success &&
			r.AttemptsFailure == failure && (!sc.scheduled || r.Status == "completed")
		return res.reportOK
	})

	// The read models equal a fresh rebuild from the event store.
	before := c.snapshot(m.ID, runID)
	c.h.command("", nil, "rebuild-projections", "--projection", "reports", "--projection", "attempts", "--nice", "0")
	afterSnap := c.snapshot(m.ID, runID)
	res.rebuildOK = before == afterSnap
	if !res.rebuildOK {
		t.Errorf("read models differ from a rebuild:\n before %s\n after  %s", before, afterSnap)
	}
	for _, p := range []*proc{c.api, c.scheduler, c.sender} {
		if !p.alive() {
			t.Errorf("%s exited: %v\n%s", p.name, p.err, p.tail())
		}
	}
}

// runOf is the run a mailing's schedule started, "" before it starts.
func (c *cluster) runOf(mailingID string) string {
	var id string
	_ = c.db.QueryRow(context.Background(),
		"SELECT stream_id::text FROM events WHERE type = 'run.started' AND data->>'mailing_id' = $1 ORDER BY position LIMIT 1", mailingID).Scan(&id)
	return id
}

type report struct {
	MailingID       string `json:"mailing_id"`
	Status          string `json:"status"`
	Runs            int    `json:"runs"`
	AttemptsTotal   int    `json:"attempts_total"`
	AttemptsSuccess int    `json:"attempts_success"`
	AttemptsFailure int    `json:"attempts_failure"`
}

// report is the mailing's line of GET /api/v1/reports/mailings.
func (c *cluster) report(mailingID string) *report {
	var page struct{ Items []report }
	c.do("GET", "/api/v1/reports/mailings?limit=500", "", nil, &page)
	for i := range page.Items {
		if page.Items[i].MailingID == mailingID {
			return &page.Items[i]
		}
	}
	return nil
}

// snapshot is what the reports and attempts read models hold of one
// mailing and run, as text.
func (c *cluster) snapshot(mailingID, runID string) string {
	c.t.Helper()
	var out strings.Builder
	for _, q := range []string{
		"SELECT row(status, deleted, version, runs, attempts_total, attempts_success, attempts_failure, last_attempt_at)::text FROM report_mailings WHERE mailing_id = $1",
		"SELECT row(status, clients, sent, failed, attempts_total, attempts_success, attempts_failure, last_attempt_at, finished_at, version)::text FROM report_runs WHERE mailing_id = $1",
		"SELECT row(count(*), count(*) FILTER (WHERE success), min(position), max(position), sum(attempt))::text FROM attempts WHERE mailing_id = $1",
	} {
		var s string
		if err := c.db.QueryRow(context.Background(), q, mailingID).Scan(&s); err != nil {
			c.t.Fatalf("snapshot: %v", err)
		}
		out.WriteString(s + " ")
	}
	return out.String()
}

func printTable(t *testing.T, rows []result) {
	if len(rows) == 0 {
		return
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "NO"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| scenario | recipients | duplicates | skips | attempts recorded | report = recount | projections = rebuild | seconds to recover |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---|---|---:|\n")
	for _, r := range rows {
		if r.recipients == 0 {
			continue // not run: -run chose other scenarios
		}
		name := r.scenario
		if r.failed {
			name += " (FAILED)"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d recorded / %d rows | %s | %s | %.1f |\n", name, r.recipients, r.duplicates, r.skips,
			r.attempts, r.attemptRows, yes(r.reportOK), yes(r.rebuildOK), r.recover.Seconds())
	}
	t.Log(b.String())
	if path := os.Getenv("HERALD_FAULTS_TABLE"); path != "" {
		_ = os.WriteFile(path, []byte(b.String()), 0o644)
	}
}
