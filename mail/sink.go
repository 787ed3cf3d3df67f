package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Reply is an SMTP answer the Sink gives instead of accepting a recipient,
// e.g. Reply{Code: 421, Text: "try later"} or Reply{Code: 550, Text: "no such user"}.
type Reply struct {
	Code int
	Text string
}

// ReplyFunc decides, at RCPT time, how the Sink answers one recipient of one
// message. attempt counts the RCPT commands seen for that recipient (case
// folded) since the Sink started, 1 for the first. nil accepts.
type ReplyFunc func(from, to string, attempt int) *Reply

// Stored describes a message the Sink has just written; it never holds the
// body, so it is safe to log. Recipients is only valid during the OnStored call.
type Stored struct {
	File       string
	From       string
	Recipients []string
	Size       int
	TLS        bool   // the message came over TLS
	User       string // the name the client authenticated as, if it did
}

// SinkConfig configures a Sink.
type SinkConfig struct {
	// Addr to listen on; default "127.0.0.1:0" (a random free port).
	Addr string
	// Dir receives one <unix nanos>-<seq>.eml file per message (created if
	// missing). Required unless Discard.
	Dir string
	// Discard reads every message to its end and answers it as a stored
	// one, but writes nothing: for benchmarks whose million messages no
	// directory should hold. Count still counts them; Messages finds none.
	Discard bool
	// Fsync makes every stored message durable before the Sink answers 250.
	// Off by default: the Sink is a development and test tool, and the
	// benchmarks push 100,000 messages through it; without fsync a message
	// is still written completely (temp file + rename) before the 250.
	Fsync bool
	// TLSConfig, when set, makes the Sink offer STARTTLS.
	TLSConfig *tls.Config
	// Reply scripts answers per recipient; see ReplyFunc. SetReply changes it
	// while the Sink runs.
	Reply ReplyFunc
	// OnStored is called after each message is stored (for logging).
	OnStored func(Stored)
	// ErrorLog receives go-smtp's connection errors; default: discarded.
	ErrorLog *log.Logger
}

// Sink is a loopback SMTP server that accepts every message (unless its
// ReplyFunc says otherwise) and stores each one as an .eml file. It is safe
// for concurrent use and serves many parallel connections.
type Sink struct {
	cfg    SinkConfig
	server *smtp.Server
	ln     net.Listener
	reply  atomic.Pointer[ReplyFunc]

	seq       atomic.Int64
	stored    atomic.Int64
	conns     atomic.Int64
	open      atomic.Int64
	maxOpen   atomic.Int64
	closeOnce sync.Once
	stop      func() bool
	serveErr  chan error

	mu       sync.Mutex
	attempts map[string]int
	changed  chan struct{} // closed and replaced whenever a message is stored
}

// NewSink prepares a Sink; Start makes it listen.
func NewSink(cfg SinkConfig) (*Sink, error) {
	if cfg.Dir == "" && !cfg.Discard {
		return nil, errors.New("mail: sink needs a directory")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("mail: sink directory: %w", err)
		}
	}
	s := &Sink{cfg: cfg, attempts: map[string]int{}, changed: make(chan struct{}), serveErr: make(chan error, 1)}
	if cfg.Reply != nil {
		s.SetReply(cfg.Reply)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "herald-sink.localhost"
	srv.MaxMessageBytes = 32 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout = 2 * time.Minute
	srv.WriteTimeout = 2 * time.Minute
	srv.AllowInsecureAuth = true // loopback only; credentials are accepted, not checked
	srv.EnableSMTPUTF8 = true    // so internationalized addresses can be tried locally
	srv.TLSConfig = cfg.TLSConfig
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.ErrorLog != nil {
		srv.ErrorLog = cfg.ErrorLog
	}
	s.server = srv
	return s, nil
}

// Start listens and serves in the background until ctx ends or Close.
func (s *Sink) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("mail: sink listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = &countingListener{Listener: ln, sink: s}
	go func() { s.serveErr <- s.server.Serve(s.ln) }()
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	return nil
}

// Wait blocks until the Sink stops serving and returns why (nil after Close).
func (s *Sink) Wait() error {
	err := <-s.serveErr
	s.serveErr <- err
	return err
}

// Addr is the address the Sink listens on (host:port).
func (s *Sink) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL is an SMTP_URL pointing at the Sink.
func (s *Sink) URL() string { return "smtp://" + s.Addr() }

// Endpoint is URL parsed, for a Client's Config.
func (s *Sink) Endpoint() Endpoint {
	host, port, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(port)
	return Endpoint{Host: host, Port: n, TLS: STARTTLSOpportunistic}
}

// Dir is where messages are stored.
func (s *Sink) Dir() string { return s.cfg.Dir }

// Close stops listening and drops open connections.
func (s *Sink) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		err = s.server.Close()
		if errors.Is(err, smtp.ErrServerClosed) {
			err = nil
		}
	})
	return err
}

// SetReply replaces the reply script (nil accepts everything).
func (s *Sink) SetReply(f ReplyFunc) {
	if f == nil {
		s.reply.Store(nil)
		return
	}
	s.reply.Store(&f)
}

// Attempts is how many RCPT commands the Sink has seen for addr.
func (s *Sink) Attempts(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[strings.ToLower(addr)]
}

// Count is how many messages this Sink has stored since it started.
func (s *Sink) Count() int { return int(s.stored.Load()) }

// Connections is how many SMTP connections the Sink has accepted in total.
func (s *Sink) Connections() int { return int(s.conns.Load()) }

// Open is how many connections are open now.
func (s *Sink) Open() int { return int(s.open.Load()) }

// MaxOpen is the largest number of connections that were open at once.
func (s *Sink) MaxOpen() int { return int(s.maxOpen.Load()) }

// WaitFor waits until this Sink has stored at least n messages, then returns
// every message in its directory.
func (s *Sink) WaitFor(ctx context.Context, n int) ([]StoredMessage, error) {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if s.Count() >= n {
			return s.Messages()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("mail: sink has %d of %d messages: %w", s.Count(), n, ctx.Err())
		case <-ch:
		}
	}
}

// Messages reads every stored message back, oldest first.
func (s *Sink) Messages() ([]StoredMessage, error) {
	if s.cfg.Discard {
		return nil, nil
	}
	return ReadDir(s.cfg.Dir)
}

func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, tls := c.TLSConnectionState()
	return &session{sink: s, tls: tls}, nil
}

// countingListener counts TCP connections, so tests can check pooling.
type countingListener struct {
	net.Listener
	sink *Sink
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	s := l.sink
	s.conns.Add(1)
	open := s.open.Add(1)
	for {
		m := s.maxOpen.Load()
		if open <= m || s.maxOpen.CompareAndSwap(m, open) {
			break
		}
	}
	return &countedConn{Conn: c, sink: s}, nil
}

// countedConn also holds the server's replies until it reads again, as RFC
// 2920 (4) advises a pipelining server: go-smtp flushes every reply, so a
// client's pipelined MAIL, RCPT and DATA cost three writes; held, they
// leave in one when the server turns to read the message. The server always
// reads (or closes) after replying, so a reply is never held while the
// client waits for it.
type countedConn struct {
	net.Conn
	sink *Sink
	once sync.Once
	mu   sync.Mutex
	held []byte
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = append(c.held, p...)
	return len(p), nil
}

func (c *countedConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	if cap(c.held) > 64<<10 {
		c.held = nil
	} else {
		c.held = c.held[:0]
	}
	return err
}

func (c *countedConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// Close counts the connection closed before the last reply (a QUIT's 221)
// leaves: a client that read it may connect again at once, and must not
// be seen holding two connections.
func (c *countedConn) Close() error {
	c.once.Do(func() { c.sink.open.Add(-1) })
	_ = c.flush()
	return c.Conn.Close()
}

func (s *Sink) answer(from, to string) error {
	s.mu.Lock()
	key := strings.ToLower(to)
	s.attempts[key]++
	n := s.attempts[key]
	s.mu.Unlock()
	f := s.reply.Load()
	if f == nil {
		return nil
	}
	r := (*f)(from, to, n)
	if r == nil {
		return nil
	}
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: r.Text}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// store writes one message: envelope headers, then the data as received,
// into a temp file renamed into place so readers never see half a message.
func (s *Sink) store(ss *session, r io.Reader) (string, error) {
	from, rcpts := ss.from, ss.rcpts
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	buf.WriteString("Return-Path: <")
	buf.WriteString(from)
	buf.WriteString(">\r\n")
	for _, rc := range rcpts {
		buf.WriteString("Delivered-To: ")
		buf.WriteString(rc)
		buf.WriteString("\r\n")
	}
	head := buf.Len()
	if _, err := buf.ReadFrom(r); err != nil {
		return "", fmt.Errorf("read data: %w", err)
	}
	name := fmt.Sprintf("%019d-%08d.eml", time.Now().UnixNano(), s.seq.Add(1))
	if !s.cfg.Discard {
		if err := writeFileAtomic(s.cfg.Dir, name, buf.Bytes(), s.cfg.Fsync); err != nil {
			return "", err
		}
	}
	s.stored.Add(1)
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.cfg.OnStored != nil {
		s.cfg.OnStored(Stored{File: name, From: from, Recipients: rcpts, Size: buf.Len() - head, TLS: ss.tls, User: ss.user})
	}
	return name, nil
}

type session struct {
	sink  *Sink
	tls   bool
	user  string
	from  string
	rcpts []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth accepts any credentials: the Sink is a local development server.
func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, _ string) error {
		ss.user = user
		return nil
	}), nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.rcpts = ss.rcpts[:0]
}

func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.sink.answer(ss.from, to); err != nil {
		return err
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	name, err := ss.sink.store(ss, r)
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "sink could not store the message"}
	}
	// A 250 with the file name: the client keeps it as the server response.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: queued as " + name}
}

// ScratchDir makes a fresh directory for a Sink's messages on a RAM-backed
// file system when there is one (/dev/shm), else in os.TempDir. Creating a
// file on a disk caps how fast a Sink stores messages, and on tmpfs it is
// far cheaper, so tests and benchmarks that push many messages should store
// them here. cleanup removes the directory.
func ScratchDir(prefix string) (dir string, cleanup func(), err error) {
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", prefix); err == nil {
			return d, func() { _ = os.RemoveAll(d) }, nil
		}
	}
	d, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", nil, fmt.Errorf("mail: scratch dir: %w", err)
	}
	return d, func() { _ = os.RemoveAll(d) }, nil
}
