package saga

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// The crash test and the benchmark run the sender in a child process: the
// test binary itself, started with HERALD_SAGA_CHILD=sender, so it can be
// killed with SIGKILL and its memory measured on its own.
func TestMain(m *testing.M) {
	if os.Getenv("HERALD_SAGA_CHILD") == "sender" {
		os.Exit(childSender())
	}
	os.Exit(m.Run())
}

func childSender() int {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child sender:", err); return 1 }
	pool, err := pgxpool.New(ctx, os.Getenv("HERALD_CHILD_DATABASE_URL"))
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	store, err := eventstore.New(pool)
	if err != nil {
		return fail(err)
	}
	rc, err := bus.Connect(ctx, testenv.RedisURL())
	if err != nil {
		return fail(err)
	}
	log := zerolog.Nop()
	if os.Getenv("HERALD_TEST_LOG") != "" {
		log = zerolog.New(os.Stderr).With().Timestamp().Str("process", "child").Logger()
	}
	cfg := bus.Config{Client: rc, Prefix: os.Getenv("HERALD_CHILD_PREFIX"), Logger: log}
	queue, err := NewQueue(cfg)
	if err != nil {
		return fail(err)
	}
	runs, err := commands.NewRuns(store, &Roster{pool: pool}, queue, time.Now)
	if err != nil {
		return fail(err)
	}
	conc, err := strconv.Atoi(os.Getenv("HERALD_CHILD_CONCURRENCY"))
	if err != nil {
		return fail(err)
	}
	mcfg := mail.Config{Endpoint: mail.MustParseURL(os.Getenv("HERALD_CHILD_SMTP_URL")), From: "herald@example.test", Concurrency: max(conc, 1)}
	// Signing as the service does with DKIM_* set: the key read once, the
	// domain the From address's.
	if file := os.Getenv("HERALD_CHILD_DKIM_KEY_FILE"); file != "" {
		key, err := mail.LoadDKIMKey(file)
		if err != nil {
			return fail(err)
		}
		mcfg.DKIM = &mail.DKIM{Domain: "example.test", Selector: os.Getenv("HERALD_CHILD_DKIM_SELECTOR"), Key: key}
	}
	mailer, err := mail.NewClient(mcfg)
	if err != nil {
		return fail(err)
	}
	defer mailer.Close()
	s, err := NewSender(pool, store, mailer, commands.NewDecorator(log).Runs(runs), RealClock{}, SenderConfig{Concurrency: conc}, log)
	if err != nil {
		return fail(err)
	}
	if path := os.Getenv("HERALD_CHILD_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	fmt.Println("ready")
	name := os.Getenv("HERALD_CHILD_SENDER_NAME")
	if name == "" {
		name = "sender-child"
	}
	if err := s.Consume(ctx, cfg, name); err != nil {
		return fail(err)
	}
	return 0
}

// child is a running sender process.
type child struct {
	cmd *exec.Cmd
	out *bufio.Reader
}

// startChild starts a sender process; env adds NAME=value settings to
// its environment (HERALD_CHILD_DKIM_KEY_FILE and _SELECTOR to sign).
func (e *env) startChild(concurrency int, env ...string) *child {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"HERALD_SAGA_CHILD=sender",
		"HERALD_CHILD_DATABASE_URL="+e.dbURL,
		"HERALD_CHILD_PREFIX="+e.bus.Prefix,
		"HERALD_CHILD_SMTP_URL="+e.sink.URL(),
		"HERALD_CHILD_CONCURRENCY="+strconv.Itoa(concurrency),
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	c := &child{cmd: cmd, out: bufio.NewReader(stdout)}
	e.t.Cleanup(func() { c.kill() })
	line, err := c.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		e.t.Fatalf("child sender did not start: %q %v", line, err)
	}
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.cmd.Wait()
	}
}

// peakRSS is the child's VmHWM (peak resident set) in bytes.
func (c *child) peakRSS() (int64, error) { return testenv.PeakRSS(c.cmd.Process.Pid) }

// cpuSeconds is the child's user+system CPU time so far.
func (c *child) cpuSeconds() (float64, error) {
	_, cpu, err := testenv.ProcCPU(c.cmd.Process.Pid, false)
	return cpu.Seconds(), err
}

// stop ends the child with SIGTERM (a CPU profile, if asked for, is written).
func (c *child) stop() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		_ = c.cmd.Wait()
	}
}
