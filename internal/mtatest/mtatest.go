// Package mtatest owns the private Postfix (with postgrey) that tests of
// Herald's SMTP client talk to: each Start runs an instance of its own on
// loopback ports, with its own configuration, queue, logs, Maildir and TLS
// certificate authority in a temporary directory, as strict as a careful
// public MX (fully-qualified HELO, angle-bracketed envelopes, no bare LF, no
// premature pipelining, no relaying), delivering every address of example.test
// to a Maildir that Messages reads, refusing reject-me@example.test and
// greylisting grey-me@example.test; it stops both daemons and removes the
// directory when the test ends, or when the test binary dies. The programs
// come from the Debian packages that scripts/mta.sh installs.
package mtatest

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testca"
)

// Domain is the only domain the instance accepts mail for.
const Domain = "example.test"

// Recipients with fixed answers (any other address of Domain is delivered).
const (
	RejectRecipient = "reject-me@" + Domain // 550 5.1.1 at RCPT
	GreyRecipient   = "grey-me@" + Domain   // greylisted by postgrey
)

// Options configure an instance; the zero value is usable.
type Options struct {
	// GreylistDelay is how long postgrey refuses a new (client, sender,
	// recipient) triplet; whole seconds, at least one. Default 2s.
	GreylistDelay time.Duration
	// Verbose logs every SMTP command and reply of loopback clients in the
	// maillog (debug_peer_list), for developing a test.
	Verbose bool
}

// MTA is a running instance.
type MTA struct {
	tools   *tools
	dir     string
	port    int
	pgPort  int
	caFile  string
	delay   int
	verbose bool

	mu       sync.Mutex
	master   *daemon
	postgrey *daemon
	watchdog *exec.Cmd
	// Kept open while the instance runs; its end is the watchdog's signal.
	watchdogPipe *os.File
}

// Delivered is one message as the virtual delivery agent stored it: one file,
// one recipient. Postfix stores lines ending in LF, not CRLF.
type Delivered struct {
	// Recipient is the envelope recipient (the Delivered-To header Postfix
	// prepended; X-Original-To holds the address as the client sent it).
	Recipient string
	// Sender is the envelope sender (the Return-Path header Postfix prepended,
	// without angle brackets; empty for the null sender).
	Sender string
	Raw    []byte      // the whole file: headers Postfix added, the client's headers, body
	Header mail.Header // all headers of Raw
	Body   []byte      // Raw after the blank line
	Path   string      // the Maildir file
}

// tools are the programs and users an instance needs, looked up once.
type tools struct {
	postfix, postconf, postmap, postgrey, master string
	postfixUID, postfixGID                       int
	postgreyUID, postgreyGID                     int
}

var (
	toolsOnce sync.Once
	toolsVal  *tools
	toolsErr  error
)

func lookupTools() (*tools, error) {
	toolsOnce.Do(func() { toolsVal, toolsErr = findTools() })
	return toolsVal, toolsErr
}

func findTools() (*tools, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the Postfix master must run as root; run the tests as root")
	}
	tl := &tools{}
	for name, dst := range map[string]*string{
		"postfix": &tl.postfix, "postconf": &tl.postconf, "postmap": &tl.postmap, "postgrey": &tl.postgrey,
	} {
		p, err := exec.LookPath(name)
		if err != nil {
			// Not every PATH has the sbin directories.
			p = filepath.Join("/usr/sbin", name)
			if _, serr := os.Stat(p); serr != nil {
				return nil, fmt.Errorf("%s not found: %w", name, err)
			}
		}
		*dst = p
	}
	out, err := exec.Command(tl.postconf, "-dh", "daemon_directory").Output()
	if err != nil {
		return nil, fmt.Errorf("postconf -dh daemon_directory: %w", err)
	}
	tl.master = filepath.Join(strings.TrimSpace(string(out)), "master")
	if _, err := os.Stat(tl.master); err != nil {
		return nil, err
	}
	if tl.postfixUID, tl.postfixGID, err = lookupUser("postfix"); err != nil {
		return nil, err
	}
	if tl.postgreyUID, tl.postgreyGID, err = lookupUser("postgrey"); err != nil {
		return nil, err
	}
	return tl, nil
}

func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, err
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

// Start starts a private Postfix and postgrey and returns once the SMTP port
// answers with its banner; both are stopped when t ends.
func Start(t testing.TB, o Options) *MTA {
	t.Helper()
	tl, err := lookupTools()
	if err != nil {
		t.Fatalf("mtatest: Postfix/postgrey not usable (run `scripts/mta.sh install` or `make test`): %v", err)
	}
	becomeSubreaper()
	delay := int((o.GreylistDelay + time.Second - 1) / time.Second)
	if o.GreylistDelay == 0 {
		delay = 2
	}
	delay = max(delay, 1)
	// Not t.TempDir: the postfix and postgrey users must be able to reach the
	// queue and the Maildir, so every directory on the path needs o+x.
	dir, err := os.MkdirTemp("/tmp", "herald-mta-")
	if err != nil {
		t.Fatalf("mtatest: %v", err)
	}
	m := &MTA{tools: tl, dir: dir, delay: delay, verbose: o.Verbose}
	t.Cleanup(func() {
		m.stopWatchdog()
		m.stopAll()
		if t.Failed() {
			t.Logf("mtatest: postfix maillog:\n%s", m.readFile("maillog"))
			t.Logf("mtatest: postgrey log:\n%s", m.readFile("postgrey.log"))
		}
		_ = os.RemoveAll(dir)
	})
	if err := m.startWatchdog(); err != nil {
		t.Fatalf("mtatest: %v", err)
	}
	if err := m.prepare(); err != nil {
		t.Fatalf("mtatest: %v", err)
	}
	// Another process may take a port between choosing and binding it: retry
	// with fresh ports.
	for attempt := 1; ; attempt++ {
		err := m.boot(attempt == 1)
		if err == nil {
			return m
		}
		m.stopAll()
		if attempt == 3 || !errors.Is(err, errDaemonExited) {
			t.Fatalf("mtatest: %v\nmaillog:\n%s\npostgrey log:\n%s", err, m.readFile("maillog"), m.readFile("postgrey.log"))
		}
	}
}

// Addr is the host:port of the SMTP listener.
func (m *MTA) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// URL is an SMTP_URL for Herald that requires STARTTLS.
func (m *MTA) URL() string { return "smtp://" + m.Addr() + "?starttls=required" }

// CAFile is the PEM file of the CA that signed the server certificate (valid
// for 127.0.0.1, localhost and mx.example.test).
func (m *MTA) CAFile() string { return m.caFile }

// RootCAs is a pool holding the CA of CAFile.
func (m *MTA) RootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(m.caFile)
	pool.AppendCertsFromPEM(b)
	return pool
}

// Domain is the domain the instance delivers (Domain).
func (m *MTA) Domain() string { return Domain }

// Hostname is the instance's myhostname, the name in its banner and Received
// headers.
func (m *MTA) Hostname() string { return "mx." + Domain }

// GreylistDelay is postgrey's delay in effect.
func (m *MTA) GreylistDelay() time.Duration { return time.Duration(m.delay) * time.Second }

// Messages returns every message delivered so far, oldest first.
func (m *MTA) Messages(t testing.TB) []Delivered {
	t.Helper()
	ds, err := m.messages()
	if err != nil {
		t.Fatalf("mtatest: %v", err)
	}
	return ds
}

// MessagesTo returns the messages delivered so far to rcpt (case-insensitive).
func (m *MTA) MessagesTo(t testing.TB, rcpt string) []Delivered {
	t.Helper()
	var out []Delivered
	for _, d := range m.Messages(t) {
		if strings.EqualFold(d.Recipient, rcpt) {
			out = append(out, d)
		}
	}
	return out
}

// WaitMessages waits until at least n messages were delivered and returns
// them all; it fails t with the maillog after timeout.
func (m *MTA) WaitMessages(t testing.TB, n int, timeout time.Duration) []Delivered {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ds := m.Messages(t)
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("mtatest: %d message(s) delivered after %v, want %d; maillog:\n%s", len(ds), timeout, n, m.readFile("maillog"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Maillog is Postfix's log so far (postlogd writes it a moment after the
// event).
func (m *MTA) Maillog(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.dir, "maillog"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("mtatest: %v", err)
	}
	return string(b)
}

// Down stops Postfix so that the port refuses connections; the queue, the
// Maildir and postgrey's state are kept for Up.
func (m *MTA) Down(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	d := m.master
	m.master = nil
	m.mu.Unlock()
	d.stop()
}

// Up starts Postfix again on the same port after Down.
func (m *MTA) Up(t testing.TB) {
	t.Helper()
	if err := m.startMaster(); err != nil {
		t.Fatalf("mtatest: %v\nmaillog:\n%s", err, m.readFile("maillog"))
	}
}

func (m *MTA) path(elem ...string) string { return filepath.Join(append([]string{m.dir}, elem...)...) }

func (m *MTA) readFile(name string) string {
	b, _ := os.ReadFile(m.path(name))
	return string(b)
}

// prepare writes everything that does not depend on the ports.
func (m *MTA) prepare() error {
	tl := m.tools
	if err := os.Chmod(m.dir, 0o755); err != nil {
		return err
	}
	for _, d := range []struct {
		name     string
		uid, gid int
		mode     os.FileMode
	}{
		{"etc", 0, 0, 0o755},
		{"groups", 0, 0, 0o700},
		{"queue", 0, 0, 0o755},
		{"data", tl.postfixUID, tl.postfixGID, 0o700},
		{"vmail", tl.postfixUID, tl.postfixGID, 0o700},
		{"postgrey", tl.postgreyUID, tl.postgreyGID, 0o700},
	} {
		p := m.path(d.name)
		if err := os.Mkdir(p, d.mode); err != nil {
			return err
		}
		if err := os.Chown(p, d.uid, d.gid); err != nil {
			return err
		}
	}
	m.caFile = m.path("ca.pem")
	if err := writeCertificates(m.caFile, m.path("etc", "server.pem")); err != nil {
		return err
	}
	maps := map[string]string{
		// Catch-all: every address of the domain shares one Maildir; the
		// Delivered-To header tells the recipients apart.
		"vmailbox": "@" + Domain + " " + Domain + "/all/\n",
		"access": RejectRecipient + " 550 5.1.1 no such user\n" +
			GreyRecipient + " greylist\n",
	}
	for name, content := range maps {
		if err := writeOld(m.path("etc", name), content, 0o644); err != nil {
			return err
		}
	}
	// postmap needs a main.cf to read; the final one replaces it in boot.
	if err := m.writeConfig(); err != nil {
		return err
	}
	args := []string{"-c", m.path("etc"), "hash:" + m.path("etc", "vmailbox"), "hash:" + m.path("etc", "access")}
	if out, err := exec.Command(tl.postmap, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("postmap: %v: %s", err, out)
	}
	return nil
}

// errDaemonExited marks a start that failed because a daemon quit early (a
// port taken in the meantime, usually).
var errDaemonExited = errors.New("daemon exited during start")

// boot picks ports, writes the configuration, checks it (first only) and
// starts postgrey and Postfix.
func (m *MTA) boot(check bool) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	m.port, m.pgPort = ports[0], ports[1]
	if err := m.writeConfig(); err != nil {
		return err
	}
	// postgrey (perl) starts slowly: let it start during the check.
	pgErr := make(chan error, 1)
	go func() { pgErr <- m.startPostgrey() }()
	var checkErr error
	if check {
		checkErr = m.check()
	}
	err = <-pgErr
	if checkErr != nil {
		return checkErr
	}
	if err != nil {
		return err
	}
	return m.startMaster()
}

// check runs `postfix check`; warnings go to stderr or, from the scripts it
// runs, to the maillog (empty before the first start), and neither fails its
// exit status.
func (m *MTA) check() error {
	out, err := exec.Command(m.tools.postfix, "-c", m.path("etc"), "check").CombinedOutput()
	logged := m.readFile("maillog")
	if err != nil || len(bytes.TrimSpace(out)) > 0 || strings.TrimSpace(logged) != "" {
		return fmt.Errorf("postfix check complains (%v):\n%s%s", err, out, logged)
	}
	return nil
}

func (m *MTA) writeConfig() error {
	tl := m.tools
	var b strings.Builder
	set := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	set("compatibility_level", "3.6")
	set("config_directory", m.path("etc"))
	set("queue_directory", m.path("queue"))
	set("data_directory", m.path("data"))
	set("syslog_name", filepath.Base(m.dir))
	set("maillog_file", m.path("maillog"))
	set("maillog_file_prefixes", m.dir)
	set("myhostname", m.Hostname())
	set("mydomain", Domain)
	set("myorigin", "$myhostname")
	set("inet_interfaces", "127.0.0.1")
	set("inet_protocols", "ipv4")
	// The test client must look like a stranger on the Internet: no trusted
	// networks, and no header rewriting (such as adding a missing Date or
	// Message-Id) that Postfix does only for local clients.
	set("mynetworks", "")
	set("local_header_rewrite_clients", "")
	// Nothing leaves the machine: no local delivery, no relaying, no DNS.
	set("mydestination", "")
	set("relayhost", "")
	set("default_transport", "error:mtatest delivers nothing off the machine")
	set("relay_transport", "error:mtatest delivers nothing off the machine")
	set("local_transport", "error:mtatest has no local mailboxes")
	set("smtp_dns_support_level", "disabled")
	set("alias_maps", "")
	set("alias_database", "")
	set("biff", "no")
	// Maildir delivery owned by the postfix user, without system accounts.
	set("virtual_mailbox_domains", Domain)
	set("virtual_mailbox_base", m.path("vmail"))
	set("virtual_mailbox_maps", "hash:"+m.path("etc", "vmailbox"))
	set("virtual_uid_maps", "static:"+strconv.Itoa(tl.postfixUID))
	set("virtual_gid_maps", "static:"+strconv.Itoa(tl.postfixGID))
	set("virtual_minimum_uid", strconv.Itoa(tl.postfixUID))
	// As strict as a careful public MX.
	set("strict_rfc821_envelopes", "yes")
	set("smtpd_helo_required", "yes")
	set("smtpd_forbid_unauth_pipelining", "yes")
	set("smtpd_forbid_bare_newline", "reject")
	set("smtpd_forbid_bare_newline_exclusions", "")
	set("smtpd_helo_restrictions", "reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname")
	set("smtpd_relay_restrictions", "reject_unauth_destination")
	set("smtpd_restriction_classes", "greylist")
	set("greylist", "check_policy_service inet:127.0.0.1:"+strconv.Itoa(m.pgPort))
	set("smtpd_recipient_restrictions", "check_recipient_access hash:"+m.path("etc", "access")+", permit")
	set("smtpd_tls_security_level", "may")
	set("smtpd_tls_chain_files", m.path("etc", "server.pem"))
	set("smtpd_tls_received_header", "yes")
	set("smtpd_tls_loglevel", "1")
	if m.verbose {
		set("debug_peer_list", "127.0.0.1")
	}
	if err := writeOld(m.path("etc", "main.cf"), b.String(), 0o644); err != nil {
		return err
	}
	// Debian's service list without chroot (the queue is not set up as a
	// chroot jail) and without the transports nothing uses.
	master := fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", m.port) + `pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
virtual    unix  - n n -     - virtual
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
`
	return writeOld(m.path("etc", "master.cf"), master, 0o644)
}

// writeOld writes a file dated in the past: Postfix programs wait, in steps
// of 300ms, until a configuration file they read is a second or more old, in
// case an editor is still writing it.
func writeOld(name, content string, mode os.FileMode) error {
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		return err
	}
	past := time.Now().Add(-time.Hour)
	return os.Chtimes(name, past, past)
}

func (m *MTA) startPostgrey() error {
	tl := m.tools
	logf, err := os.OpenFile(m.path("postgrey.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(tl.postgrey,
		"--inet=127.0.0.1:"+strconv.Itoa(m.pgPort),
		"--delay="+strconv.Itoa(m.delay),
		"--dbdir="+m.path("postgrey"),
		"--user=postgrey", "--group=postgrey",
		// Otherwise a client that passed five times skips greylisting.
		"--auto-whitelist-clients=0",
	)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, out of reach of a terminal's ^C, which would
	// otherwise stop it before the cleanup does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d, err := m.startDaemon("postgrey", cmd)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.postgrey = d
	m.mu.Unlock()
	return d.waitReady(m.pgPort, false)
}

func (m *MTA) startMaster() error {
	// The master makes itself a session leader: its children share its
	// process group.
	cmd := exec.Command(m.tools.master, "-c", m.path("etc"))
	cmd.Dir = "/"
	d, err := m.startDaemon("master", cmd)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.master = d
	m.mu.Unlock()
	return d.waitReady(m.port, true)
}

func (m *MTA) stopAll() {
	m.mu.Lock()
	ma, pg := m.master, m.postgrey
	m.master, m.postgrey = nil, nil
	m.mu.Unlock()
	ma.stop()
	pg.stop()
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// Held open until all are chosen so that none is chosen twice.
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// daemon is a child process that stays in the foreground and leads a
// process group, with the children it has.
type daemon struct {
	name      string
	cmd       *exec.Cmd
	done      chan struct{}
	groupFile string // tells the watchdog the process group
}

func (m *MTA) startDaemon(name string, cmd *exec.Cmd) (*daemon, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{}), groupFile: m.path("groups", name)}
	go func() {
		_ = cmd.Wait()
		close(d.done)
	}()
	if err := os.WriteFile(d.groupFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// watchdogScript waits for the end of its standard input, which comes when
// the test binary exits without its cleanup (a timeout, a signal); then it
// stops the daemons' process groups and removes the directory.
const watchdogScript = `read -r _
for f in "$1"/groups/*; do [ -f "$f" ] && g=$(cat "$f") && kill -TERM "-$g" "$g"; done 2>/dev/null
sleep 3
for f in "$1"/groups/*; do [ -f "$f" ] && g=$(cat "$f") && kill -KILL "-$g"; done 2>/dev/null
rm -rf "$1"
`

func (m *MTA) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "mtatest-watchdog", m.dir)
	cmd.Dir = "/"
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = w.Close()
		return fmt.Errorf("start watchdog: %w", err)
	}
	m.watchdog, m.watchdogPipe = cmd, w
	return nil
}

func (m *MTA) stopWatchdog() {
	if m.watchdog == nil {
		return
	}
	_ = m.watchdog.Process.Kill()
	_ = m.watchdog.Wait()
	_ = m.watchdogPipe.Close()
	m.watchdog, m.watchdogPipe = nil, nil
}

// waitReady waits until port accepts connections (and, for smtp, until the
// banner arrives, which proves smtpd starts).
func (d *daemon) waitReady(port int, smtp bool) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-d.done:
			return fmt.Errorf("%s: %w (%v)", d.name, errDaemonExited, d.cmd.ProcessState)
		default:
		}
		if ok, err := probe(addr, smtp); ok {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer on %s", d.name, addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// probe reports whether addr answers; err is set for an answer that is not an
// SMTP banner.
func probe(addr string, smtp bool) (bool, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false, nil
	}
	defer c.Close()
	if !smtp {
		return true, nil
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false, fmt.Errorf("no SMTP banner: %v", err)
	}
	if !strings.HasPrefix(line, "220 ") {
		return false, fmt.Errorf("unexpected banner %q", line)
	}
	_, _ = io.WriteString(c, "QUIT\r\n")
	return true, nil
}

// stop terminates the daemon (and its process group) and reaps everything;
// safe on nil.
func (d *daemon) stop() {
	if d == nil {
		return
	}
	pid := d.cmd.Process.Pid
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	reapGroup(pid)
	_ = os.Remove(d.groupFile)
}

var subreaperOnce sync.Once

// becomeSubreaper makes orphans of this process's descendants its own
// children instead of init's: the Postfix master exits on SIGTERM without
// waiting for its children, and an init that reaps late leaves them as
// zombies meanwhile. reapGroup collects them.
func becomeSubreaper() {
	subreaperOnce.Do(func() {
		const prSetChildSubreaper = 36
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	})
}

// reapGroup waits for every process of process group pgid (the master's
// children, terminated by the master), killing what is left after a while.
func reapGroup(pgid int) {
	deadline := time.Now().Add(5 * time.Second)
	killed := false
	for {
		pids := groupMembers(pgid)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
		if !killed && time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			killed = true
			deadline = time.Now().Add(5 * time.Second)
		} else if killed && time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// groupMembers lists the processes (zombies included) in process group pgid.
func groupMembers(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) >= 3 && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (m *MTA) messages() ([]Delivered, error) {
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	base := m.path("vmail", Domain, "all")
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(base, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				return nil, err
			}
			files = append(files, file{filepath.Join(base, sub, e.Name()), info.ModTime()})
		}
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	out := make([]Delivered, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f.path)
		if err != nil {
			return nil, err
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.path, err)
		}
		body, err := io.ReadAll(msg.Body)
		if err != nil {
			return nil, err
		}
		out = append(out, Delivered{
			Recipient: msg.Header.Get("Delivered-To"),
			Sender:    strings.Trim(msg.Header.Get("Return-Path"), "<>"),
			Raw:       raw,
			Header:    msg.Header,
			Body:      body,
			Path:      f.path,
		})
	}
	return out, nil
}

// writeCertificates writes a fresh CA to caFile and the server's key and
// certificate, signed by it, to chainFile (the key first, as
// smtpd_tls_chain_files wants).
func writeCertificates(caFile, chainFile string) error {
	ca, err := testca.New("Herald mtatest CA")
	if err != nil {
		return err
	}
	cert, err := ca.Issue("mx."+Domain, "localhost")
	if err != nil {
		return err
	}
	chain, err := testca.ChainPEM(cert)
	if err != nil {
		return err
	}
	if err := os.WriteFile(caFile, ca.PEM(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(chainFile, chain, 0o600)
}
