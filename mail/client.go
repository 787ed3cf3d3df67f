package mail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
	"golang.org/x/time/rate"
)

// Config configures a Client.
type Config struct {
	// Endpoint is the server, SMTP_URL parsed by ParseURL.
	Endpoint Endpoint
	// From is MAIL_FROM: "noreply@example.com" or "Herald <noreply@example.com>".
	// Its domain also ends generated Message-IDs.
	From string
	// HELOName is SMTP_HELO_NAME, the name the Client greets with (EHLO):
	// a fully qualified domain name or an address literal. Empty: From's
	// domain, which must then be fully qualified. See CheckHELOName.
	HELOName string
	// RootCAs verifies the server's certificate; nil: the system roots.
	// LoadRootCAs reads SMTP_TLS_CA_FILE into such a pool.
	RootCAs *x509.CertPool
	// Concurrency is SEND_CONCURRENCY: at most this many connections are
	// open at once, each reused across messages. Default 4.
	Concurrency int
	// Rate is SEND_RATE in messages per second across the Client; 0 is
	// unlimited. Ignored when Limiter is set.
	Rate float64
	// Limiter, when not nil, paces Sends instead of Rate: a SharedLimiter
	// holds several processes' Clients to one rate together.
	Limiter Limiter
	// Connections, when not nil, is SEND_CONNECTIONS: every connection
	// holds one of its leases while open, so the Clients of several
	// processes together keep at most its Max connections open. A Send
	// that finds none free waits for one, taking over an idle connection
	// of its own Client the moment one is free; idle connections are given
	// up when another Client waits.
	Connections *SharedConnections
	// DKIM, when not nil, signs every message.
	DKIM *DKIM
	// Timeout bounds dialing and each SMTP exchange. Default 30 s.
	Timeout time.Duration
	// MaxIdle closes a pooled connection unused for longer, instead of
	// reusing it (servers drop idle clients). Default 60 s.
	MaxIdle time.Duration
}

// Message is one mail to one recipient.
type Message struct {
	To       string // address
	ToName   string // display name, may be empty
	Subject  string
	TextBody string
	// HTMLBody, when not empty, makes the mail multipart/alternative: the
	// text part first, the HTML part second (the one clients prefer).
	HTMLBody string
	// MessageID is the Message-ID without angle brackets ("key@host"). The
	// caller makes it stable (the sender builds it from the delivery key),
	// so a resent message can be recognised. A bare local part without "@"
	// ("RUNID.CLIENTID") is completed with "@" and MAIL_FROM's domain.
	// Empty: a random one is generated in that domain.
	MessageID string
	// Headers are extra header fields (List-Unsubscribe, X-…).
	Headers map[string]string
	// Date is the Date header; zero means now.
	Date time.Time
}

// Limiter paces sends: Wait returns when one more message may leave, or
// ctx's error.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Outcome classifies an attempt the way the sender acts on it.
type Outcome uint8

const (
	// Delivered: the server accepted the message (2xx).
	Delivered Outcome = iota + 1
	// Temporary: a 4xx reply, or no reply at all (connection refused, reset,
	// timeout). Retrying later may succeed.
	Temporary
	// Permanent: a 5xx reply, or a fault retrying cannot fix (an invalid
	// address, STARTTLS required but not offered, a certificate rejected).
	Permanent
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	}
	return "unknown"
}

// Result is what became of one Send.
type Result struct {
	Outcome Outcome
	// Code is the server's reply code (250, 421, 550…), 0 when there was
	// no reply.
	Code int
	// Response is the server's reply, code first ("250 2.0.0 OK: queued
	// as …", "550 5.1.1 no such user"), or the error when there was no
	// reply. It is what DeliveryAttempted.server_response keeps.
	Response string
	// Err is nil when delivered.
	Err error
}

// OK reports delivery.
func (r Result) OK() bool { return r.Outcome == Delivered }

// Retryable reports whether sending the same message again later may
// succeed: the sender retries these with backoff and records the rest.
func (r Result) Retryable() bool { return r.Outcome == Temporary }

var (
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("mail: client closed")
	// ErrSTARTTLSUnavailable means starttls=required and the server does
	// not offer STARTTLS.
	ErrSTARTTLSUnavailable = errors.New("mail: STARTTLS required but the server does not offer it")
	// ErrSMTPUTF8Unavailable means an envelope address is not ASCII and the
	// server does not offer SMTPUTF8 (RFC 6531), so it cannot take the mail.
	ErrSMTPUTF8Unavailable = errors.New("mail: an envelope address is not ASCII and the server does not offer SMTPUTF8")
)

// Client sends mail through one SMTP server over a bounded pool of reused
// connections. It is safe for concurrent use; Send blocks while all
// connections are busy.
type Client struct {
	endpoint Endpoint
	from     *netmail.Address
	fromPath string // "<address>", as MAIL FROM carries it
	fromUTF8 bool   // the sender's address is not ASCII
	domain   string // MAIL_FROM's domain, for Message-IDs
	helo     string
	timeout  time.Duration
	maxIdle  time.Duration
	dialer   *gomail.Client     // holds the connection settings; dials each pooled connection
	limiter  Limiter            // nil: unlimited
	conns    *SharedConnections // nil: no cap beyond Concurrency
	dkim     *DKIM              // nil: unsigned
	// The pool's Concurrency entries, each free one in one of two queues:
	// idle holds those with an open connection, empty those without (no
	// connection and no lease), so a Send takes an open connection first.
	idle     chan *pooled
	empty    chan *pooled
	done     chan struct{}
	once     sync.Once
	reaper   sync.WaitGroup
	closed   sync.Once
	closeErr error
	dials    atomic.Int64
}

type pooled struct {
	conn     *gosmtp.Client
	lastUsed time.Time
	lease    *ConnLease // held from before the dial until the connection closes
	// The server's extensions: with PIPELINING (RFC 2920) MAIL, RCPT and
	// DATA go out in one write; 8BITMIME and SMTPUTF8 are declared on a
	// message only when it needs them and the server offers them. With
	// CHUNKING as well (RFC 3030) the message follows in the same write,
	// as BDAT: one round trip a message, and no dot-stuffing on either end.
	pipelining, chunking, eightBitMIME, smtpUTF8 bool
}

// NewClient checks cfg and prepares the pool; connections are dialed on
// first use.
func NewClient(cfg Config) (*Client, error) {
	ep := cfg.Endpoint
	if ep.Host == "" {
		return nil, errors.New("SMTP_URL: no server given")
	}
	if ep.Port < 1 || ep.Port > 65535 {
		return nil, fmt.Errorf("SMTP_URL: port %d is not from 1 to 65535", ep.Port)
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("MAIL_FROM: %q is not an address: %w", cfg.From, err)
	}
	helo := cfg.HELOName
	if helo == "" {
		if helo, err = DefaultHELOName(from.Address); err != nil {
			return nil, fmt.Errorf("SMTP_HELO_NAME: %w", err)
		}
	} else if err := CheckHELOName(helo); err != nil {
		return nil, fmt.Errorf("SMTP_HELO_NAME: %w", err)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("SEND_RATE: %v is negative", cfg.Rate)
	}
	if d := cfg.DKIM; d != nil {
		if d.Key == nil || keyType(d.Key) == "" {
			return nil, errors.New("DKIM_KEY_FILE: no RSA or Ed25519 key")
		}
		if err := CheckDKIMSelector(d.Selector); err != nil {
			return nil, fmt.Errorf("DKIM_SELECTOR: %w", err)
		}
		if err := CheckDKIMDomain(d.Domain, from.Address); err != nil {
			return nil, fmt.Errorf("DKIM_DOMAIN: %w", err)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = 60 * time.Second
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: ep.Host, RootCAs: cfg.RootCAs}
	opts := []gomail.Option{
		gomail.WithPort(ep.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithHELO(helo),
	}
	switch ep.TLS {
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case STARTTLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case STARTTLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if ep.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if ep.Auth != "" {
			auth = gomail.SMTPAuthType(ep.Auth)
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(ep.Username), gomail.WithPassword(ep.Password))
	}
	d, err := gomail.NewClient(ep.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	c := &Client{
		endpoint: ep,
		from:     from,
		fromPath: path(from.Address),
		fromUTF8: !isASCII(from.Address),
		domain:   domainOf(from.Address),
		helo:     helo,
		timeout:  cfg.Timeout,
		maxIdle:  cfg.MaxIdle,
		dialer:   d,
		conns:    cfg.Connections,
		dkim:     cfg.DKIM,
		idle:     make(chan *pooled, cfg.Concurrency),
		empty:    make(chan *pooled, cfg.Concurrency),
		done:     make(chan struct{}),
	}
	for range cfg.Concurrency {
		c.empty <- &pooled{}
	}
	if c.conns != nil {
		c.reaper.Go(c.reap)
	}
	switch {
	case cfg.Limiter != nil:
		c.limiter = cfg.Limiter
	case cfg.Rate > 0:
		// Burst 1: messages leave evenly spaced, never in a clump.
		c.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}
	return c, nil
}

// Endpoint is the parsed SMTP_URL (String() hides the password).
func (c *Client) Endpoint() Endpoint { return c.endpoint }

// HELOName is the name the Client greets servers with.
func (c *Client) HELOName() string { return c.helo }

// Concurrency is the most connections the Client opens at once.
func (c *Client) Concurrency() int { return cap(c.empty) }

// RateLimit is the configured messages/s cap and burst; 0, 0 when unlimited.
func (c *Client) RateLimit() (perSecond float64, burst int) {
	switch l := c.limiter.(type) {
	case *rate.Limiter:
		return float64(l.Limit()), l.Burst()
	case *SharedLimiter:
		return l.Rate(), 1
	}
	return 0, 0
}

// Signed reports whether the Client signs its messages with DKIM.
func (c *Client) Signed() bool { return c.dkim != nil }

// Dials is how many connections the Client has opened so far.
func (c *Client) Dials() int { return int(c.dials.Load()) }

// Check opens one connection (keeping it in the pool), to report a bad
// configuration at start rather than at the first mailing.
func (c *Client) Check(ctx context.Context) error {
	p, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.release(p)
	if p.conn == nil {
		if err := c.dial(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// Send delivers m and says what the server answered. It waits for the rate
// limiter and for a free connection; ctx bounds those waits and the dial.
func (c *Client) Send(ctx context.Context, m Message) Result {
	o, err := c.build(m)
	if err != nil {
		return Result{Outcome: Permanent, Response: err.Error(), Err: err}
	}
	defer o.release()
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return noReply(Temporary, err)
		}
	}
	p, err := c.acquire(ctx)
	if err != nil {
		return noReply(Temporary, err)
	}
	defer c.release(p)
	for try := 0; ; try++ {
		reused := p.conn != nil
		if reused && time.Since(p.lastUsed) > c.maxIdle {
			c.drop(p)
			reused = false
		}
		if p.conn == nil {
			if err := c.dial(ctx, p); err != nil {
				return classify(err)
			}
		}
		res, stage := c.transact(p, o)
		// A reused connection the server has since closed fails at MAIL
		// without a reply; nothing was sent, so one fresh dial is safe.
		if stage == stageMail && res.Code == 0 && res.Outcome != Delivered && reused && try == 0 {
			c.drop(p)
			continue
		}
		return res
	}
}

// SendBatch sends every message, using up to Concurrency connections in
// parallel, and returns the results in the order of msgs.
func (c *Client) SendBatch(ctx context.Context, msgs []Message) []Result {
	out := make([]Result, len(msgs))
	workers := min(cap(c.empty), len(msgs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) {
					return
				}
				out[i] = c.Send(ctx, msgs[i])
			}
		})
	}
	wg.Wait()
	return out
}

// Close waits for sends in flight, then says QUIT on every connection and
// gives its lease back. Sends after Close fail with ErrClosed; calling it
// again returns what the first call did.
func (c *Client) Close() error {
	c.closed.Do(func() {
		c.once.Do(func() { close(c.done) })
		c.reaper.Wait()
		var errs []error
		for range cap(c.empty) {
			var p *pooled
			select {
			case p = <-c.idle:
			case p = <-c.empty:
			}
			if err := c.hangUp(p); err != nil {
				errs = append(errs, err)
			}
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// acquire takes a pool entry for one Send: one with an open connection if
// any is free, else one to dial, holding a lease when connections are
// capped. While no lease is to be had it asks Redis again with growing
// pauses, and takes the first connection of its own that comes free.
func (c *Client) acquire(ctx context.Context) (*pooled, error) {
	select {
	case <-c.done:
		return nil, ErrClosed
	default:
	}
	var p *pooled
	select {
	case p = <-c.idle:
	default:
		select {
		case p = <-c.idle:
		case p = <-c.empty:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.done:
			return nil, ErrClosed
		}
	}
	pause := leasePauseMin
	for {
		if p.lease != nil && p.lease.Lost() {
			c.drop(p)
			c.unlease(p)
		}
		if c.conns == nil || p.lease != nil {
			return p, nil
		}
		l, err := c.conns.TryAcquire(ctx)
		if err != nil {
			c.empty <- p
			return nil, err
		}
		if l != nil {
			p.lease = l
			return p, nil
		}
		t := time.NewTimer(jitter(pause))
		select {
		case q := <-c.idle:
			c.empty <- p
			p = q
		case <-t.C:
			pause = min(2*pause, leasePauseMax)
		case <-ctx.Done():
			c.empty <- p
			return nil, ctx.Err()
		case <-c.done:
			c.empty <- p
			return nil, ErrClosed
		}
		t.Stop()
	}
}

// The pauses between asking for a lease: short at first (a place is often
// freed in a moment), never so long that a freed place stays unused for
// long.
const (
	leasePauseMin = 10 * time.Millisecond
	leasePauseMax = time.Second
)

// jitter is d give or take a quarter, so waiting processes do not ask in
// step.
func jitter(d time.Duration) time.Duration {
	return d - d/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// release puts p back: with its connection as idle, or without one (its
// lease given back) as empty.
func (c *Client) release(p *pooled) {
	if p.conn != nil {
		p.lastUsed = time.Now()
		c.idle <- p
		return
	}
	c.unlease(p)
	c.empty <- p
}

func (c *Client) unlease(p *pooled) {
	if p.lease != nil {
		_ = p.lease.Close()
		p.lease = nil
	}
}

// hangUp says QUIT on p's connection, if any, and gives its lease back.
func (c *Client) hangUp(p *pooled) error {
	var err error
	if p.conn != nil {
		// The deadline is still the last message's: renewed, so QUIT is
		// said even to a connection idle for longer than Timeout.
		_ = p.conn.UpdateDeadline(c.timeout)
		if err = p.conn.Quit(); err != nil {
			_ = p.conn.Close()
		}
		p.conn = nil
	}
	c.unlease(p)
	return err
}

// reap runs while the Client's connections are capped: every third of a
// lease's TTL it closes the free connections whose lease was lost, those
// idle for longer than MaxIdle (which would be redialed anyway, and hold a
// place meanwhile), and, when another Client waits for a place, those idle
// for a moment (not between two messages of a run).
func (c *Client) reap() {
	every := c.conns.TTL() / 3
	moment := min(time.Second, every/3)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		wanted, _ := c.conns.Wanted(ctx)
		cancel()
		var keep []*pooled
	free:
		for range cap(c.idle) {
			select {
			case p := <-c.idle:
				idle := time.Since(p.lastUsed)
				if (p.lease != nil && p.lease.Lost()) || idle > c.maxIdle || (wanted && idle > moment) {
					_ = c.hangUp(p)
					c.empty <- p
				} else {
					keep = append(keep, p)
				}
			default:
				break free
			}
		}
		for _, p := range keep {
			c.idle <- p
		}
	}
}

func (c *Client) dial(ctx context.Context, p *pooled) error {
	c.dials.Add(1)
	conn, err := c.dialer.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if c.endpoint.TLS == STARTTLSRequired && strings.Contains(err.Error(), "does not support STARTTLS") {
			return fmt.Errorf("%w (%s)", ErrSTARTTLSUnavailable, c.endpoint)
		}
		return fmt.Errorf("connect to %s: %w", c.endpoint, err)
	}
	p.conn, p.lastUsed = conn, time.Now()
	p.pipelining, _ = conn.Extension("PIPELINING")
	p.chunking, _ = conn.Extension("CHUNKING")
	p.eightBitMIME, _ = conn.Extension("8BITMIME")
	p.smtpUTF8, _ = conn.Extension("SMTPUTF8")
	return nil
}

func (c *Client) drop(p *pooled) {
	if p.conn != nil {
		_ = p.conn.Close()
		p.conn = nil
	}
}

type stage uint8

const (
	stageNone stage = iota // refused before a command was sent
	stageMail
	stageRcpt
	stageData
)

// transact runs MAIL, RCPT, DATA on p's connection. After a refusal it
// sends RSET so the connection is clean for the next message; after a
// delivery it does not, because a completed DATA ends the transaction
// (RFC 5321 4.1.1.4) and the extra round trip is a cost on every message.
// A connection that failed without a reply, or answered 421 (closing), is
// dropped; the next Send dials a fresh one. Every other refusal keeps it:
// redialing, and over TLS a new handshake, would cost every retry.
func (c *Client) transact(p *pooled, o *outgoing) (Result, stage) {
	if o.smtpUTF8 && !p.smtpUTF8 {
		return noReply(Permanent, fmt.Errorf("%w (%s)", ErrSMTPUTF8Unavailable, c.endpoint)), stageNone
	}
	conn := p.conn
	p.lastUsed = time.Now()
	if err := conn.UpdateDeadline(c.timeout); err != nil {
		c.drop(p)
		return classify(err), stageMail
	}
	// The parameters say what this message needs, not what the server
	// offers: strict servers refuse a needless SMTPUTF8, and BODY=8BITMIME
	// on a 7-bit message misstates it.
	params := ""
	if o.eightBit && p.eightBitMIME {
		params = " BODY=8BITMIME"
	}
	if o.smtpUTF8 {
		params += " SMTPUTF8"
	}
	var res Result
	var st stage
	if p.pipelining {
		res, st = c.exchangePipelined(conn.Text, o, params, p.chunking)
	} else {
		res, st = c.exchange(conn.Text, o, params)
	}
	if res.Code == 0 || res.Code == 421 {
		c.drop(p)
		return res, st
	}
	if res.Outcome != Delivered {
		if err := conn.Reset(); err != nil {
			c.drop(p)
		}
	}
	return res, st
}

// exchange sends MAIL, RCPT and DATA one at a time, each waiting for its
// reply, then the message. It writes the commands itself rather than
// through gosmtp's Mail and Rcpt, which send the address without the angle
// brackets RFC 5321 4.1.2 requires and declare BODY=8BITMIME and SMTPUTF8
// whenever the server offers them.
func (c *Client) exchange(text *textproto.Conn, o *outgoing, params string) (Result, stage) {
	w := text.W
	writeMail(w, c.fromPath, params)
	if err := w.Flush(); err != nil {
		return classify(err), stageMail
	}
	if _, _, err := text.ReadResponse(250); err != nil {
		return classify(err), stageMail
	}
	writeRcpt(w, o.rcptPath)
	if err := w.Flush(); err != nil {
		return classify(err), stageRcpt
	}
	if _, _, err := text.ReadResponse(25); err != nil {
		return classify(err), stageRcpt
	}
	_, _ = w.WriteString("DATA\r\n")
	if err := w.Flush(); err != nil {
		return classify(err), stageData
	}
	if _, _, err := text.ReadResponse(354); err != nil {
		return classify(err), stageData
	}
	return writeData(text, o)
}

// exchangePipelined is exchange for a server that offers PIPELINING: MAIL,
// RCPT and DATA leave in one write and their three replies are read in
// order, then the message follows. Two round trips per message instead of
// four, which halves the system calls and wake-ups of both ends. With
// chunking, BDAT and the message itself join that write (RFC 3030 allows
// it in a pipeline): one round trip.
func (c *Client) exchangePipelined(text *textproto.Conn, o *outgoing, params string, chunking bool) (Result, stage) {
	w := text.W
	writeMail(w, c.fromPath, params)
	writeRcpt(w, o.rcptPath)
	last := struct {
		code int
		at   stage
	}{354, stageData}
	if chunking {
		_, _ = w.WriteString("BDAT ")
		_, _ = w.WriteString(strconv.Itoa(o.data.Len()))
		_, _ = w.WriteString(" LAST\r\n")
		_, _ = w.Write(o.data.Bytes())
		last.code = 250
	} else {
		_, _ = w.WriteString("DATA\r\n")
	}
	if err := w.Flush(); err != nil {
		return classify(err), stageMail
	}
	// The server answers every command, whatever became of the earlier
	// ones (a refused envelope's BDAT chunk is read and discarded); all
	// three replies are read so the connection stays in step.
	var (
		failed   error
		failedAt stage
		lastResp string
		lastOK   bool
	)
	for _, r := range []struct {
		code int
		at   stage
	}{{250, stageMail}, {25, stageRcpt}, last} {
		_, resp, err := text.ReadResponse(r.code)
		var tp *textproto.Error
		switch {
		case err == nil && r.at == stageData:
			lastResp, lastOK = resp, true
		case err == nil:
		case !errors.As(err, &tp):
			// No reply: the connection is gone (or out of step).
			if failed != nil {
				return classify(failed), failedAt
			}
			return classify(err), r.at
		case failed == nil:
			failed, failedAt = err, r.at
		}
	}
	if failed != nil {
		if lastOK && !chunking {
			// A server that took DATA after refusing the envelope gets an
			// empty message to end it; the reply does not matter.
			_, _ = w.WriteString(".\r\n")
			if err := w.Flush(); err != nil {
				return noReply(Temporary, err), failedAt
			}
			_, _, _ = text.ReadResponse(0)
		}
		return classify(failed), failedAt
	}
	if chunking {
		return Result{Outcome: Delivered, Code: 250, Response: "250 " + oneLine(lastResp)}, stageData
	}
	return writeData(text, o)
}

func writeMail(w *bufio.Writer, fromPath, params string) {
	_, _ = w.WriteString("MAIL FROM:")
	_, _ = w.WriteString(fromPath)
	_, _ = w.WriteString(params)
	_, _ = w.WriteString("\r\n")
}

func writeRcpt(w *bufio.Writer, rcptPath string) {
	_, _ = w.WriteString("RCPT TO:")
	_, _ = w.WriteString(rcptPath)
	_, _ = w.WriteString("\r\n")
}

// writeData sends the message, dot-stuffed, after the server's 354 and
// reads the verdict on it.
func writeData(text *textproto.Conn, o *outgoing) (Result, stage) {
	writeStuffed(text.W, o.data.Bytes())
	if err := text.W.Flush(); err != nil {
		return noReply(Temporary, fmt.Errorf("write message: %w", err)), stageData
	}
	_, resp, err := text.ReadResponse(250)
	if err != nil {
		return classify(err), stageData
	}
	return Result{Outcome: Delivered, Code: 250, Response: "250 " + oneLine(resp)}, stageData
}

// outgoing is one message ready for the wire: its recipient's path and the
// message with CRLF line ends (as BDAT carries it; writeData dot-stuffs it
// for DATA), so no connection is held while it is encoded.
type outgoing struct {
	rcptPath string
	data     *bytes.Buffer
	// eightBit: the data has bytes above 127 (needs BODY=8BITMIME);
	// smtpUTF8: an envelope address is not ASCII (needs SMTPUTF8).
	eightBit, smtpUTF8 bool
}

var dataPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (o *outgoing) release() {
	if o.data.Cap() <= 1<<20 {
		o.data.Reset()
		dataPool.Put(o.data)
	}
	o.data = nil
}

// build writes m as go-mail encodes it: UTF-8, the body quoted-printable
// and non-ASCII header text as RFC 2047 words, so it is 7-bit unless an
// address is not ASCII; the bytes decide BODY=8BITMIME either way.
func (c *Client) build(m Message) (*outgoing, error) {
	to, err := netmail.ParseAddress(m.To)
	if err != nil || to.Address != m.To {
		return nil, fmt.Errorf("mail: invalid recipient %q", m.To)
	}
	to.Name = m.ToName
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(c.from)
	msg.AddToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(messageID(m.MessageID, c.domain))
	if m.Date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(m.Date)
	}
	for k, v := range m.Headers {
		msg.SetGenHeader(gomail.Header(k), v)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.TextBody)
	if m.HTMLBody != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTMLBody)
	}
	o := &outgoing{rcptPath: path(to.Address), data: dataPool.Get().(*bytes.Buffer)}
	dw := &dotWriter{w: o.data, raw: true}
	if err := c.encode(dw, msg); err != nil {
		o.release()
		return nil, err
	}
	_ = dw.Close()
	o.eightBit = !isASCII(o.data.Bytes())
	o.smtpUTF8 = c.fromUTF8 || !isASCII(to.Address)
	return o, nil
}

// encode writes msg to dw, signed when the Client has a DKIM key. The
// signature covers the message as the receiver stores it (never the DATA
// encoding's doubled dots).
func (c *Client) encode(dw *dotWriter, msg *gomail.Msg) error {
	if c.dkim == nil {
		if _, err := msg.WriteTo(dw); err != nil {
			return fmt.Errorf("mail: encode message: %w", err)
		}
		return nil
	}
	raw := dataPool.Get().(*bytes.Buffer)
	defer func() {
		if raw.Cap() <= 1<<20 {
			raw.Reset()
			dataPool.Put(raw)
		}
	}()
	if _, err := msg.WriteTo(raw); err != nil {
		return fmt.Errorf("mail: encode message: %w", err)
	}
	sig, err := c.dkim.sign(raw.Bytes())
	if err != nil {
		return fmt.Errorf("mail: DKIM signature: %w", err)
	}
	_, _ = dw.Write([]byte(sig))
	_, _ = dw.Write(raw.Bytes())
	return nil
}

// path is an address as MAIL FROM and RCPT TO carry it: in angle brackets,
// the local part quoted when it needs to be.
func path(addr string) string {
	return (&netmail.Address{Address: addr}).String()
}

func isASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// classify turns an SMTP error into a Result: a reply code decides
// (4xx temporary, 5xx permanent); without a reply the attempt is temporary,
// except for faults no retry can fix.
func classify(err error) Result {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		r := Result{Code: tp.Code, Response: fmt.Sprintf("%03d %s", tp.Code, oneLine(tp.Msg)), Err: err}
		switch {
		case tp.Code >= 500:
			r.Outcome = Permanent
		case tp.Code >= 400:
			r.Outcome = Temporary
		default: // an unexpected 2xx/3xx where another was due: a confused server
			r.Outcome = Temporary
		}
		return r
	}
	var certErr *tls.CertificateVerificationError
	if errors.Is(err, ErrSTARTTLSUnavailable) || errors.As(err, &certErr) {
		return noReply(Permanent, err)
	}
	return noReply(Temporary, err)
}

func noReply(o Outcome, err error) Result {
	var ne net.Error
	msg := err.Error()
	if errors.As(err, &ne) && ne.Timeout() {
		msg = "timeout: " + msg
	}
	return Result{Outcome: o, Response: msg, Err: err}
}

func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.Join(strings.Fields(s), " ")
	}
	return s
}
