package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/mail"
)

func startSink(t testing.TB, cfg mail.SinkConfig) *mail.Sink {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := mail.NewSink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newClient(t testing.TB, cfg mail.Config) *mail.Client {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "Herald <noreply@herald.test>"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	c, err := mail.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestDeliveryIsStoredAndReadBack(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{URL: sink.URL()})

	long := strings.Repeat("word ", 60) // longer than a mail line: must survive encoding
	body := "Hello Zoë,\n\nverify here: http://localhost:8080/api/v1/auth/verify?token=abc_DEF-123=\n" + long + "\nbye\n"
	res := c.Send(ctx(t), mail.Message{
		To: "zoe@example.org", ToName: "Zoë Durand", Subject: "Vérifiez votre adresse",
		TextBody: body, MessageID: "run-1.client-7@herald.test",
		Headers: map[string]string{"X-Herald-Run": "run-1"},
	})
	if !res.OK() || res.Code != 250 || res.Err != nil {
		t.Fatalf("send: %+v", res)
	}
	msgs, err := sink.WaitFor(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if !regexp.MustCompile(`^\d{19}-\d{8}\.eml$`).MatchString(m.File) {
		t.Errorf("file name %q", m.File)
	}
	if want := "250 2.0.0 OK: queued as " + m.File; res.Response != want {
		t.Errorf("response %q, want %q", res.Response, want)
	}
	if m.From != "noreply@herald.test" || len(m.Recipients) != 1 || m.Recipients[0] != "zoe@example.org" {
		t.Errorf("envelope from %q to %v", m.From, m.Recipients)
	}
	if !strings.Contains(m.To, "zoe@example.org") {
		t.Errorf("To %q", m.To)
	}
	if m.Subject != "Vérifiez votre adresse" {
		t.Errorf("subject %q", m.Subject)
	}
	if m.MessageID != "run-1.client-7@herald.test" {
		t.Errorf("message id %q", m.MessageID)
	}
	if m.Header.Get("X-Herald-Run") != "run-1" {
		t.Errorf("extra header %q", m.Header.Get("X-Herald-Run"))
	}
	if got := strings.ReplaceAll(m.Body, "\r\n", "\n"); got != body {
		t.Errorf("body\n%q\nwant\n%q", got, body)
	}
	// No temp files left behind.
	entries, _ := os.ReadDir(sink.Dir())
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want 1", len(entries))
	}
}

func TestTemporaryReplyThenSuccessOnRetry(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	sink.SetReply(func(from, to string, attempt int) *mail.Reply {
		switch {
		case to == "busy@example.org" && attempt == 1:
			return &mail.Reply{Code: 421, Text: "too busy, try later"}
		case to == "grey@example.org" && attempt <= 2:
			return &mail.Reply{Code: 451, Text: "greylisted"}
		}
		return nil
	})
	c := newClient(t, mail.Config{URL: sink.URL(), Concurrency: 1})

	r := c.Send(ctx(t), mail.Message{To: "busy@example.org", Subject: "s", TextBody: "b", MessageID: "m1@h"})
	if r.Outcome != mail.Temporary || !r.Retryable() || r.Code != 421 || r.Response != "421 4.0.0 too busy, try later" || r.Err == nil {
		t.Fatalf("first attempt: %+v", r)
	}
	r = c.Send(ctx(t), mail.Message{To: "busy@example.org", Subject: "s", TextBody: "b", MessageID: "m1@h"})
	if !r.OK() {
		t.Fatalf("retry: %+v", r)
	}
	for i, want := range []mail.Outcome{mail.Temporary, mail.Temporary, mail.Delivered} {
		r := c.Send(ctx(t), mail.Message{To: "grey@example.org", Subject: "s", TextBody: "b", MessageID: "m2@h"})
		if r.Outcome != want {
			t.Fatalf("grey attempt %d: %+v, want %s", i+1, r, want)
		}
		if want == mail.Temporary && r.Response != "451 4.0.0 greylisted" {
			t.Errorf("grey attempt %d: response %q", i+1, r.Response)
		}
	}
	if sink.Attempts("busy@example.org") != 2 || sink.Attempts("GREY@example.org") != 3 {
		t.Errorf("attempts: busy %d grey %d", sink.Attempts("busy@example.org"), sink.Attempts("grey@example.org"))
	}
	msgs, err := sink.WaitFor(ctx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Errorf("stored %d, want exactly 2 (refused attempts store nothing)", len(msgs))
	}
}

func TestPermanentReplyKeepsTextAndConnection(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	sink.SetReply(func(from, to string, attempt int) *mail.Reply {
		if strings.HasPrefix(to, "nobody") {
			return &mail.Reply{Code: 550, Text: "mailbox unavailable"}
		}
		return nil
	})
	c := newClient(t, mail.Config{URL: sink.URL(), Concurrency: 1})
	r := c.Send(ctx(t), mail.Message{To: "nobody@example.org", Subject: "s", TextBody: "b"})
	if r.Outcome != mail.Permanent || r.Retryable() || r.Code != 550 || r.Response != "550 5.0.0 mailbox unavailable" {
		t.Fatalf("550: %+v", r)
	}
	// The same connection (RSET after the refusal) carries the next message.
	if r := c.Send(ctx(t), mail.Message{To: "somebody@example.org", Subject: "s", TextBody: "b"}); !r.OK() {
		t.Fatalf("after 550: %+v", r)
	}
	if sink.Connections() != 1 || c.Dials() != 1 {
		t.Errorf("connections %d dials %d, want 1", sink.Connections(), c.Dials())
	}
}

func TestInvalidRecipientIsPermanentWithoutConnecting(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{URL: sink.URL()})
	r := c.Send(ctx(t), mail.Message{To: "not an address", Subject: "s", TextBody: "b"})
	if r.Outcome != mail.Permanent || r.Code != 0 || !strings.Contains(r.Response, "invalid recipient") {
		t.Fatalf("%+v", r)
	}
	if c.Dials() != 0 {
		t.Errorf("dialed %d times", c.Dials())
	}
}

func TestPoolReusesAtMostConcurrencyConnections(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	const conc, n = 4, 300
	c := newClient(t, mail.Config{URL: sink.URL(), Concurrency: conc})

	// Many more goroutines than connections, all sending at once.
	var wg sync.WaitGroup
	results := make(chan mail.Result, n)
	for i := range n {
		wg.Go(func() {
			results <- c.Send(ctx(t), mail.Message{To: fmt.Sprintf("c%d@example.org", i), Subject: "s", TextBody: "b", MessageID: fmt.Sprintf("k%d@h", i)})
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		if !r.OK() {
			t.Fatalf("send: %+v", r)
		}
	}
	if _, err := sink.WaitFor(ctx(t), n); err != nil {
		t.Fatal(err)
	}
	if got := sink.Connections(); got > conc || got < 1 {
		t.Errorf("sink saw %d connections for %d messages, want 1..%d", got, n, conc)
	}
	if sink.MaxOpen() > conc {
		t.Errorf("%d connections open at once, want ≤ %d", sink.MaxOpen(), conc)
	}
	// Every Message-ID arrived exactly once.
	msgs, err := sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.MessageID]++
	}
	for i := range n {
		if k := fmt.Sprintf("k%d@h", i); seen[k] != 1 {
			t.Errorf("%s stored %d times", k, seen[k])
		}
	}

	// SendBatch keeps order and the same bound.
	batch := make([]mail.Message, 50)
	for i := range batch {
		batch[i] = mail.Message{To: fmt.Sprintf("b%d@example.org", i), Subject: "s", TextBody: "b"}
	}
	for i, r := range c.SendBatch(ctx(t), batch) {
		if !r.OK() {
			t.Fatalf("batch %d: %+v", i, r)
		}
	}
	if got := sink.Connections(); got > conc {
		t.Errorf("after batch: %d connections", got)
	}
}

func TestRateCap(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{URL: sink.URL(), Concurrency: 8, Rate: 40})
	if r, b := c.RateLimit(); r != 40 || b != 1 {
		t.Fatalf("limiter %v/s burst %d, want 40/s burst 1", r, b)
	}
	if r, b := newClient(t, mail.Config{URL: sink.URL()}).RateLimit(); r != 0 || b != 0 {
		t.Fatalf("unlimited client has limiter %v/%d", r, b)
	}
	// 11 messages at 40/s with burst 1 cannot take less than 10/40 s.
	batch := make([]mail.Message, 11)
	for i := range batch {
		batch[i] = mail.Message{To: fmt.Sprintf("r%d@example.org", i), Subject: "s", TextBody: "b"}
	}
	start := time.Now()
	for _, r := range c.SendBatch(ctx(t), batch) {
		if !r.OK() {
			t.Fatalf("%+v", r)
		}
	}
	if el := time.Since(start); el < 240*time.Millisecond {
		t.Errorf("11 messages at 40/s took %s, the limiter allows no less than 250ms", el)
	}
}

func TestSTARTTLSRequiredAgainstPlainServer(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{URL: sink.URL() + "?starttls=required"})
	err := c.Check(ctx(t))
	if !errors.Is(err, mail.ErrSTARTTLSUnavailable) {
		t.Fatalf("check: %v", err)
	}
	r := c.Send(ctx(t), mail.Message{To: "a@example.org", Subject: "s", TextBody: "b"})
	if r.Outcome != mail.Permanent || !errors.Is(r.Err, mail.ErrSTARTTLSUnavailable) ||
		!strings.Contains(r.Response, "STARTTLS required but the server does not offer it") {
		t.Fatalf("%+v", r)
	}
	if sink.Count() != 0 {
		t.Errorf("a message went out in clear text")
	}
}

func TestTLSAndAuth(t *testing.T) {
	t.Parallel()
	serverTLS, roots := selfSigned(t)
	var mu sync.Mutex
	var stored []mail.Stored
	sink := startSink(t, mail.SinkConfig{TLSConfig: serverTLS, OnStored: func(s mail.Stored) {
		mu.Lock()
		stored = append(stored, s)
		mu.Unlock()
	}})
	clientTLS := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	for _, q := range []string{"", "?starttls=required"} {
		url := "smtp://herald:s3cret@" + sink.Addr() + q
		c := newClient(t, mail.Config{URL: url, TLSConfig: clientTLS})
		if r := c.Send(ctx(t), mail.Message{To: "tls@example.org", Subject: "s", TextBody: "b"}); !r.OK() {
			t.Fatalf("%s: %+v", q, r)
		}
		if s := c.Endpoint().String(); strings.Contains(s, "s3cret") {
			t.Errorf("endpoint string leaks the password: %s", s)
		}
	}
	// A certificate the client does not trust is a permanent fault.
	c := newClient(t, mail.Config{URL: sink.URL() + "?starttls=required"})
	if r := c.Send(ctx(t), mail.Message{To: "tls@example.org", Subject: "s", TextBody: "b"}); r.Outcome != mail.Permanent {
		t.Fatalf("untrusted certificate: %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stored) != 2 {
		t.Fatalf("stored %d, want 2", len(stored))
	}
	for _, s := range stored {
		if !s.TLS || s.User != "herald" {
			t.Errorf("stored over TLS %v as user %q, want TLS as herald", s.TLS, s.User)
		}
	}
	// Without credentials the client does not authenticate.
	c = newClient(t, mail.Config{URL: sink.URL(), TLSConfig: clientTLS})
	mu.Unlock() // OnStored needs it
	r := c.Send(ctx(t), mail.Message{To: "anon@example.org", Subject: "s", TextBody: "b"})
	mu.Lock()
	if !r.OK() {
		t.Fatal(r)
	}
	if s := stored[len(stored)-1]; !s.TLS || s.User != "" {
		t.Errorf("anonymous: TLS %v user %q", s.TLS, s.User)
	}
}

func TestReconnectAfterServerDroppedConnection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startSink(t, mail.SinkConfig{Dir: dir})
	addr := first.Addr()
	c := newClient(t, mail.Config{URL: first.URL(), Concurrency: 1})
	if r := c.Send(ctx(t), mail.Message{To: "a@example.org", Subject: "s", TextBody: "b"}); !r.OK() {
		t.Fatal(r)
	}
	// The server goes away (dropping the pooled connection) and comes back.
	_ = first.Close()
	second := startSink(t, mail.SinkConfig{Dir: dir, Addr: addr})
	if r := c.Send(ctx(t), mail.Message{To: "b@example.org", Subject: "s", TextBody: "b"}); !r.OK() {
		t.Fatalf("after restart: %+v", r)
	}
	if c.Dials() != 2 || second.Connections() != 1 {
		t.Errorf("dials %d, second sink connections %d", c.Dials(), second.Connections())
	}
	// With no server at all: temporary, no reply code.
	_ = second.Close()
	r := c.Send(ctx(t), mail.Message{To: "c@example.org", Subject: "s", TextBody: "b"})
	if r.Outcome != mail.Temporary || r.Code != 0 || !strings.Contains(r.Response, "connect") {
		t.Fatalf("server down: %+v", r)
	}
	msgs, err := mail.ReadDir(dir)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stored %d (%v), want 2", len(msgs), err)
	}
}

func TestCloseRefusesNewSends(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c, err := mail.NewClient(mail.Config{URL: sink.URL(), From: "a@b.c"})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Send(ctx(t), mail.Message{To: "a@example.org", Subject: "s", TextBody: "b"}); !r.OK() {
		t.Fatal(r)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if r := c.Send(ctx(t), mail.Message{To: "a@example.org", Subject: "s", TextBody: "b"}); !errors.Is(r.Err, mail.ErrClosed) {
		t.Fatalf("after close: %+v", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sink.Open() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if sink.Open() != 0 {
		t.Errorf("%d connections still open after Close (QUIT)", sink.Open())
	}
}

func TestSinkStopsWithContextAndOnStoredHasNoBody(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []mail.Stored
	c0, cancel := context.WithCancel(context.Background())
	s, err := mail.NewSink(mail.SinkConfig{Dir: filepath.Join(t.TempDir(), "new", "dir"), OnStored: func(st mail.Stored) {
		mu.Lock()
		seen = append(seen, mail.Stored{File: st.File, From: st.From, Recipients: append([]string(nil), st.Recipients...), Size: st.Size})
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(c0); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, mail.Config{URL: s.URL()})
	if r := c.Send(ctx(t), mail.Message{To: "x@example.org", Subject: "s", TextBody: "body"}); !r.OK() {
		t.Fatal(r)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].From != "noreply@herald.test" || len(seen[0].Recipients) != 1 || seen[0].Size <= 0 {
		t.Errorf("OnStored saw %+v", seen)
	}
	mu.Unlock()
	cancel()
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sink still serving after its context ended")
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Error("sink still accepts connections")
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in   string
		want mail.Endpoint
	}{
		{"smtp://localhost:2525", mail.Endpoint{Host: "localhost", Port: 2525}},
		{"smtp://mail.example.com", mail.Endpoint{Host: "mail.example.com", Port: 25}},
		{"smtp://u%40x:p%3Aw@h:587?starttls=required", mail.Endpoint{Host: "h", Port: 587, TLS: mail.STARTTLSRequired, Username: "u@x", Password: "p:w"}},
		{"smtp://h?starttls=off", mail.Endpoint{Host: "h", Port: 25, TLS: mail.STARTTLSOff}},
		{"smtps://u:p@h", mail.Endpoint{Host: "h", Port: 465, TLS: mail.ImplicitTLS, Username: "u", Password: "p"}},
		{"smtp://u:p@h?auth=login", mail.Endpoint{Host: "h", Port: 25, Username: "u", Password: "p", Auth: "LOGIN"}},
	}
	for _, tc := range ok {
		got, err := mail.ParseURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"http://h", "smtp://", "smtp://h:0", "smtp://h:x", "smtp://h?starttls=maybe", "smtps://h?starttls=required", "smtp://h?tls=1", "::"} {
		if _, err := mail.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
	if _, err := mail.NewClient(mail.Config{URL: "smtp://h", From: "not an address"}); err == nil || !strings.Contains(err.Error(), "MAIL_FROM") {
		t.Errorf("bad MAIL_FROM: %v", err)
	}
	if _, err := mail.NewClient(mail.Config{URL: "ftp://h", From: "a@b.c"}); err == nil || !strings.Contains(err.Error(), "SMTP_URL") {
		t.Errorf("bad SMTP_URL: %v", err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "herald test sink"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}
