package scale

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// rig is one herald serve process (every role) with its own database,
// Redis and a discarding sink.
type rig struct {
	b        testing.TB
	ctx      context.Context
	bin      string
	base     string
	debug    string // DEBUG_ADDR
	dbURL    string
	prefix   string
	redis    *redis.Client
	db       *pgx.Conn
	sink     *mail.Sink
	cmd      *exec.Cmd
	env      []string
	client   *http.Client
	token    string
	stderrTo string
}

func freeAddr(b testing.TB) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startRig(b testing.TB, concurrency int) *rig {
	b.Helper()
	ctx := context.Background()
	r := &rig{b: b, ctx: ctx, bin: testenv.HeraldBinary(b), dbURL: testenv.DatabaseURL(b), prefix: "herald.",
		client: &http.Client{Timeout: time.Hour}}
	red := testenv.StartPrivateRedis(b)
	r.redis = redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", red.Port)})
	b.Cleanup(func() { _ = r.redis.Close() })
	var err error
	if r.db, err = pgx.Connect(ctx, r.dbURL); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.db.Close(context.Background()) })
	if r.sink, err = mail.NewSink(mail.SinkConfig{Discard: true}); err != nil {
		b.Fatal(err)
	}
	if err := r.sink.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.sink.Close() })

	addr := freeAddr(b)
	r.base, r.debug = "http://"+addr, freeAddr(b)
	r.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + r.dbURL,
		"REDIS_URL=" + red.URL(),
		"SMTP_URL=" + r.sink.URL() + "?starttls=none",
		"MAIL_FROM=Herald News <news@scale.example.test>",
		"PUBLIC_BASE_URL=" + r.base,
		"HTTP_ADDR=" + addr,
		"DEBUG_ADDR=" + r.debug,
		"UNSUBSCRIBE_SECRET=scale-unsubscribe-secret-0123456789abcdef",
		"SEND_CONCURRENCY=" + strconv.Itoa(concurrency),
		"BUS_TOPIC_PREFIX=" + r.prefix,
		"LOG_FORMAT=json",
		"LOG_LEVEL=warn",
	}
	if v := os.Getenv("HERALD_BENCH_GOMEMLIMIT"); v != "" {
		r.env = append(r.env, "GOMEMLIMIT="+v)
	}
	if v := os.Getenv("HERALD_BENCH_MEMORY_TARGET_MIB"); v != "" {
		r.env = append(r.env, "MEMORY_TARGET_MIB="+v)
	}
	r.run("", "create-groups")
	const password = "scale benchmark password"
	r.run(password+"\n", "ccsu", "--email", "owner@scale.example.test", "--name", "Scale", "--password-stdin")

	r.cmd = exec.Command(r.bin, "serve")
	r.cmd.Dir = b.TempDir()
	r.cmd.Env = r.env
	r.stderrTo = filepath.Join(b.TempDir(), "herald.log")
	logf, err := os.Create(r.stderrTo)
	if err != nil {
		b.Fatal(err)
	}
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = r.cmd.Process.Kill()
			<-done
		}
		_ = logf.Close()
		if b.Failed() {
			r.logTail()
		}
	})
	testenv.Eventually(b, 60*time.Second, "herald's /readyz", func() bool {
		res, err := r.client.Get(r.base + "/readyz")
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == 200
	})
	var login struct {
		Token string `json:"token"`
	}
	r.call("POST", "/api/v1/auth/login", map[string]string{"email": "owner@scale.example.test", "password": password}, 200, &login)
	r.token = login.Token
	return r
}

// run runs a one-shot herald command with the rig's settings.
func (r *rig) run(stdin string, args ...string) {
	r.b.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = r.b.TempDir()
	cmd.Env = r.env
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.b.Fatalf("herald %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (r *rig) logTail() {
	b, _ := os.ReadFile(r.stderrTo)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	r.b.Logf("herald's log ends:\n%s", b)
}

// call sends a JSON request (body nil for none) as the owner, fails unless
// the answer has status want, and decodes it into out when out is not nil.
func (r *rig) call(method, path string, body any, want int, out any) {
	r.b.Helper()
	var in io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			r.b.Fatal(err)
		}
		in = bytes.NewReader(j)
	}
	r.do(method, path, "application/json", in, want, out)
}

func (r *rig) do(method, path, contentType string, body io.Reader, want int, out any) {
	r.b.Helper()
	req, err := http.NewRequestWithContext(r.ctx, method, r.base+path, body)
	if err != nil {
		r.b.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	res, err := r.client.Do(req)
	if err != nil {
		r.b.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		r.b.Fatal(err)
	}
	if res.StatusCode != want {
		r.b.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, bytes.TrimSpace(got))
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			r.b.Fatalf("%s %s: %v: %s", method, path, err, got)
		}
	}
}

// lags is every projector's and the relay's lag in events, from /metrics.
func (r *rig) lags() (map[string]float64, error) {
	res, err := r.client.Get(r.base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "herald_projection_lag_events") && !strings.HasPrefix(line, "herald_relay_lag_events") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[name] = v
	}
	return out, sc.Err()
}

// caughtUp waits until the relay and every projector have applied
// everything the store holds.
func (r *rig) caughtUp(within time.Duration) time.Duration {
	r.b.Helper()
	start := time.Now()
	testenv.Eventually(r.b, within, "the relay and every projector to catch up", func() bool {
		l, err := r.lags()
		if err != nil {
			r.b.Fatal(err)
		}
		// A gauge whose query outlasted the scrape's timeout is left out
		// of that scrape: its reader is not known to have caught up.
		if _, ok := l["herald_relay_lag_events"]; !ok || len(l) < 2 {
			return false
		}
		for _, v := range l {
			if v != 0 {
				return false
			}
		}
		return true
	})
	return time.Since(start)
}

// peakRSS is the herald process's VmHWM in bytes.
func (r *rig) peakRSS() int64 {
	r.b.Helper()
	peak, err := testenv.PeakRSS(r.cmd.Process.Pid)
	if err != nil {
		r.b.Fatal(err)
	}
	return peak
}

// redisUsed is Redis's used_memory in bytes.
func (r *rig) redisUsed() int64 {
	r.b.Helper()
	info, err := r.redis.Info(r.ctx, "memory").Result()
	if err != nil {
		r.b.Fatal(err)
	}
	for l := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				r.b.Fatal(err)
			}
			return n
		}
	}
	r.b.Fatal("no used_memory in INFO memory")
	return 0
}

// streamEntries is how many entries the bus's streams hold together.
func (r *rig) streamEntries() int64 {
	r.b.Helper()
	keys, err := r.redis.Keys(r.ctx, r.prefix+"*").Result()
	if err != nil {
		r.b.Fatal(err)
	}
	var n int64
	for _, k := range keys {
		if t, err := r.redis.Type(r.ctx, k).Result(); err != nil || t != "stream" {
			continue
		}
		l, err := r.redis.XLen(r.ctx, k).Result()
		if err != nil {
			r.b.Fatal(err)
		}
		n += l
	}
	return n
}

// relations is the size of every table (with its TOAST) and of every
// index, in bytes.
func (r *rig) relations() map[string]int64 {
	r.b.Helper()
	rows, err := r.db.Query(r.ctx, `SELECT c.relname, CASE c.relkind WHEN 'r' THEN pg_table_size(c.oid) ELSE pg_relation_size(c.oid) END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')`)
	if err != nil {
		r.b.Fatal(err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			r.b.Fatal(err)
		}
		out[name] = size
	}
	if err := rows.Err(); err != nil {
		r.b.Fatal(err)
	}
	return out
}

// growth lists the tables that grew from before to after, largest first.
func growth(before, after map[string]int64) (total int64, lines []string) {
	type g struct {
		name string
		d    int64
	}
	var gs []g
	for name, a := range after {
		if d := a - before[name]; d != 0 {
			gs = append(gs, g{name, d})
			total += d
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].d > gs[j].d })
	for _, x := range gs {
		if x.d >= 100_000 {
			lines = append(lines, fmt.Sprintf("%s %+.1f MB", x.name, float64(x.d)/1e6))
		}
	}
	return total, lines
}

// profile takes a CPU profile of the herald process for d into dir, when
// dir is not empty; it returns at once and reports on done.
func (r *rig) profile(dir, name string, d time.Duration) (done <-chan error) {
	ch := make(chan error, 1)
	if dir == "" {
		close(ch)
		return ch
	}
	go func() {
		res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.debug, int(d.Seconds())))
		if err != nil {
			ch <- err
			return
		}
		defer res.Body.Close()
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			ch <- err
			return
		}
		_, err = io.Copy(f, res.Body)
		ch <- errors.Join(err, f.Close())
	}()
	return ch
}

// heapProfile keeps the herald process's heap profile in dir, when dir is
// not empty.
func (r *rig) heapProfile(dir, name string) {
	r.b.Helper()
	if dir == "" {
		return
	}
	res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/heap", r.debug))
	if err != nil {
		r.b.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		r.b.Fatal(err)
	}
}

// cpuTimes is the CPU time (user and system, with that of reaped
// children) the processes on this machine used, by command name: herald,
// postgres (its children's exits counted by the postmaster), redis-server,
// and this benchmark's own process (the sink, and the floor's client) as
// "bench".
func cpuTimes(b testing.TB) map[string]time.Duration {
	b.Helper()
	out, err := testenv.CPUTimes("bench", "herald", "postgres", "redis-server")
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// cpuPer is the CPU time each command used between before and after, per
// delivery of n, in µs, as "herald 123, postgres 45, …", and their sum.
func cpuPer(before, after map[string]time.Duration, n int) (string, float64) {
	var parts []string
	var total float64
	for _, c := range []string{"herald", "postgres", "redis-server", "bench"} {
		us := float64(after[c]-before[c]) / float64(time.Microsecond) / float64(n)
		total += us
		parts = append(parts, fmt.Sprintf("%s %.0f", c, us))
	}
	return strings.Join(parts, ", "), total
}
