package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns a client of the shared test Redis, closed when t ends. Use
// Name for topic prefixes so parallel tests do not see each other.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("testenv: redis url: %v", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("testenv: test Redis not reachable (run `scripts/services.sh up test`): %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// PrivateRedis is a redis-server of t's own, on a free loopback port, that
// the test may stop and start (to prove behaviour while Redis is down).
type PrivateRedis struct {
	t    testing.TB
	Port int
	dir  string
	cmd  *exec.Cmd
	// appendOnly keeps the data in an append-only file, fsynced at every
	// write: a restart keeps it.
	appendOnly bool
}

// StartPrivateRedis starts a redis-server without persistence.
func StartPrivateRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	return startPrivateRedis(t, false)
}

// StartPersistentRedis starts a redis-server that keeps its data across
// a restart (an append-only file): losing it takes a FLUSHALL.
func StartPersistentRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	return startPrivateRedis(t, true)
}

func startPrivateRedis(t testing.TB, appendOnly bool) *PrivateRedis {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	r := &PrivateRedis{t: t, Port: port, dir: t.TempDir(), appendOnly: appendOnly}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the server's redis:// URL.
func (r *PrivateRedis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Start (re)starts the server and waits until it answers.
func (r *PrivateRedis) Start() {
	r.t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		r.t.Fatalf("testenv: redis-server not installed (run `scripts/services.sh up test`): %v", err)
	}
	aof := []string{"--appendonly", "no"}
	if r.appendOnly {
		aof = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	args := append([]string{"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--save", "",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log")}, aof...)
	r.cmd = exec.Command(bin, args...)
	r.cmd.Stdout, r.cmd.Stderr = os.Stderr, os.Stderr
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("testenv: start redis: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.Port)})
	defer c.Close()
	Eventually(r.t, 10*time.Second, "the private redis to answer", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
}

// Stop kills the server (SIGKILL: nothing is saved).
func (r *PrivateRedis) Stop() { r.Signal(syscall.SIGKILL) }

// Signal ends the server with sig (SIGTERM: a clean shutdown) and waits.
func (r *PrivateRedis) Signal(sig syscall.Signal) {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(sig)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// FlushAll drops every key: streams, consumer groups, budgets.
func (r *PrivateRedis) FlushAll() error {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.Port)})
	defer c.Close()
	return c.FlushAll(context.Background()).Err()
}
