package faults

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// freePort is a loopback port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sharedDir is a temporary directory other OS users may enter (PostgreSQL
// runs as user postgres when the suite runs as root).
func sharedDir(t testing.TB, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// ---------------------------------------------------------------- PostgreSQL

// postgres is a private PostgreSQL cluster on a free loopback port.
type postgres struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	asPG bool
}

func pgBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL binaries (initdb, pg_ctl) not found; run `scripts/services.sh up test` once to install them")
}

func startPostgres(t testing.TB) *postgres {
	t.Helper()
	bin, err := pgBin()
	if err != nil {
		t.Fatal(err)
	}
	p := &postgres{t: t, bin: bin, dir: sharedDir(t, "herald-faults-pg"), Port: freePort(t), asPG: os.Geteuid() == 0}
	data := filepath.Join(p.dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if p.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the OS user postgres: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{p.dir, data} {
			if err := os.Chown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.run("initdb", "-D", data, "-A", "trust", "-U", "herald", "--encoding=UTF8", "--no-locale")
	// A commit is in the WAL before PostgreSQL answers it
	// (synchronous_commit on, the default): a crash of PostgreSQL alone
	// loses no acknowledged commit. fsync and full-page writes guard
	// against the machine losing power, which no scenario does.
	conf := "\nmax_connections = 200\nfsync = off\nsynchronous_commit = on\nfull_page_writes = off\n" +
		"log_min_messages = warning\nunix_socket_directories = '" + p.dir + "'\n"
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(conf)
	_ = f.Close()
	p.Start()
	t.Cleanup(func() { p.stop("fast") })
	p.run("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", "herald", "herald")
	return p
}

func (p *postgres) run(tool string, args ...string) {
	p.t.Helper()
	name := filepath.Join(p.bin, tool)
	if p.asPG {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

// URL is the cluster's herald database.
func (p *postgres) URL() string {
	return fmt.Sprintf("postgres://herald@127.0.0.1:%d/herald?sslmode=disable", p.Port)
}

// Start starts the cluster and waits until it accepts connections.
func (p *postgres) Start() {
	p.t.Helper()
	p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-l", filepath.Join(p.dir, "pg.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1", p.Port), "start")
}

// Stop stops it: "immediate" is a crash (recovery at the next start),
// "fast" a clean shutdown that ends every session.
func (p *postgres) stop(mode string) {
	name := filepath.Join(p.bin, "pg_ctl")
	args := []string{"-D", filepath.Join(p.dir, "data"), "-m", mode, "-w", "stop"}
	if p.asPG {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	_ = cmd.Run()
}

// ---------------------------------------------------------------- Redis

// ---------------------------------------------------------------- SMTP

// smtpProxy stands between the senders and the sink: it can reset every
// open connection (an RST, as a crashed relay or a middlebox gives) and
// stall (hold every byte both ways, and the greeting of new connections)
// for a while.
type smtpProxy struct {
	ln         net.Listener
	upstream   atomic.Value // string, host:port of the sink
	stallUntil atomic.Int64 // unix nanos
	resets     atomic.Int64
	mu         sync.Mutex
	conns      map[net.Conn]struct{}
}

func startProxy(t testing.TB) *smtpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &smtpProxy{ln: ln, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.Reset() })
	return p
}

// URL is an SMTP_URL for the proxy (plain text: the sink is local).
func (p *smtpProxy) URL() string { return "smtp://" + p.ln.Addr().String() + "?starttls=none" }

// SetUpstream points new connections at addr.
func (p *smtpProxy) SetUpstream(addr string) { p.upstream.Store(addr) }

func (p *smtpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *smtpProxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *smtpProxy) handle(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.upstream.Load().(string), 5*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p.track(c, true)
	p.track(up, true)
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c); done <- struct{}{} }()
	go func() { p.pipe(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	<-done
	p.track(c, false)
	p.track(up, false)
}

// pipe copies src to dst, holding each chunk while the proxy stalls.
func (p *smtpProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			for {
				wait := time.Until(time.Unix(0, p.stallUntil.Load()))
				if wait <= 0 {
					break
				}
				time.Sleep(min(wait, 50*time.Millisecond))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Reset closes every open connection with an RST and reports how many
// client connections it cut.
func (p *smtpProxy) Reset() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
		n++
	}
	p.resets.Add(int64(n))
	return n / 2
}

// Stall holds all traffic for d from now.
func (p *smtpProxy) Stall(d time.Duration) { p.stallUntil.Store(time.Now().Add(d).UnixNano()) }

// ---------------------------------------------------------------- herald processes

// proc is one running herald process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// alive reports whether the process has not exited.
func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig and waits (up to wait) for the process to exit.
func (p *proc) signal(sig syscall.Signal, wait time.Duration) error {
	if !p.alive() {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(wait):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not exit within %s of %s", p.name, wait, sig)
	}
}

// tail is the end of the process's log, for a failure message.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// herald runs the herald binary built for the suite.
type herald struct {
	t   testing.TB
	bin string
	dir string
	env []string
	seq atomic.Int64
}

// command runs a one-shot herald command to its end and returns its stdout.
func (h *herald) command(stdin string, env []string, args ...string) string {
	h.t.Helper()
	cmd := exec.Command(h.bin, args...)
	cmd.Dir = h.dir
	cmd.Env = append(append(os.Environ(), h.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("herald %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// serve starts `herald serve --roles roles` with extra settings.
func (h *herald) serve(name, roles string, env ...string) *proc {
	h.t.Helper()
	logPath := filepath.Join(h.dir, fmt.Sprintf("%02d-%s.log", h.seq.Add(1), name))
	f, err := os.Create(logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(h.bin, "serve", "--roles", roles)
	cmd.Dir = h.dir
	cmd.Env = append(append(os.Environ(), h.env...), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	h.t.Cleanup(func() { _ = p.signal(syscall.SIGKILL, 10*time.Second) })
	return p
}
