package mail_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testca"
	"github.com/heraldmail/herald/internal/testenv"
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
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint()})

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
	if entries, err := os.ReadDir(sink.Dir()); err != nil || len(entries) != 1 {
		t.Errorf("dir holds %d entries (%v), want 1", len(entries), err)
	}
}

// A line beginning with a dot reaches the receiver as written, whether the
// message goes as BDAT (no dot-stuffing) or DATA (a dot doubled on the way
// and taken off at the server): to the Sink (go-smtp offers CHUNKING) and to
// a server with and without it.
func TestLinesBeginningWithADotArriveAsWritten(t *testing.T) {
	t.Parallel()
	body := ".\n.hidden\n..two dots\nend.\n"
	check := func(t *testing.T, got string) {
		t.Helper()
		if got = strings.ReplaceAll(got, "\r\n", "\n"); !strings.Contains(got, "\n\n"+body) {
			t.Errorf("received\n%q\nwant the body\n%q", got, body)
		}
	}
	t.Run("sink", func(t *testing.T) {
		t.Parallel()
		sink := startSink(t, mail.SinkConfig{})
		c := newClient(t, mail.Config{Endpoint: sink.Endpoint()})
		if r := send(t, c, mail.Message{To: "dot@example.org", TextBody: body}); !r.OK() {
			t.Fatalf("send: %+v", r)
		}
		msgs, err := sink.WaitFor(ctx(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "\n\n"+msgs[0].Body)
	})
	for _, chunking := range []bool{true, false} {
		t.Run(fmt.Sprintf("chunking=%v", chunking), func(t *testing.T) {
			t.Parallel()
			srv := (&scriptServer{pipelining: true, chunking: chunking}).start(t)
			c := newClient(t, mail.Config{Endpoint: mail.MustParseURL(srv.url(""))})
			if r := send(t, c, mail.Message{To: "dot@example.org", TextBody: body}); !r.OK() {
				t.Fatalf("send: %+v", r)
			}
			if got := len(srv.Lines("BDAT")); (got == 1) != chunking {
				t.Errorf("%d BDAT commands with chunking %v", got, chunking)
			}
			check(t, string(srv.Data()[0]))
		})
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
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: 1})

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
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: 1})
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
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint()})
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
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: conc})

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
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: 8, Rate: 40})
	if r, b := c.RateLimit(); r != 40 || b != 1 {
		t.Fatalf("limiter %v/s burst %d, want 40/s burst 1", r, b)
	}
	if r, b := newClient(t, mail.Config{Endpoint: sink.Endpoint()}).RateLimit(); r != 0 || b != 0 {
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
	c := newClient(t, mail.Config{Endpoint: mail.MustParseURL(sink.URL() + "?starttls=required")})
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
	for _, q := range []string{"", "?starttls=required"} {
		ep := mail.MustParseURL("smtp://herald:s3cret@" + sink.Addr() + q)
		c := newClient(t, mail.Config{Endpoint: ep, RootCAs: roots})
		if r := c.Send(ctx(t), mail.Message{To: "tls@example.org", Subject: "s", TextBody: "b"}); !r.OK() {
			t.Fatalf("%s: %+v", q, r)
		}
		if s := c.Endpoint().String(); strings.Contains(s, "s3cret") {
			t.Errorf("endpoint string leaks the password: %s", s)
		}
	}
	// A certificate the client does not trust is a permanent fault.
	c := newClient(t, mail.Config{Endpoint: mail.MustParseURL(sink.URL() + "?starttls=required")})
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
	c = newClient(t, mail.Config{Endpoint: sink.Endpoint(), RootCAs: roots})
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
	c := newClient(t, mail.Config{Endpoint: first.Endpoint(), Concurrency: 1})
	if r := c.Send(ctx(t), mail.Message{To: "a@example.org", Subject: "s", TextBody: "b"}); !r.OK() {
		t.Fatal(r)
	}
	// The server goes away (dropping the pooled connection) and comes back.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := startSink(t, mail.SinkConfig{Dir: dir, Addr: addr})
	if r := c.Send(ctx(t), mail.Message{To: "b@example.org", Subject: "s", TextBody: "b"}); !r.OK() {
		t.Fatalf("after restart: %+v", r)
	}
	if c.Dials() != 2 || second.Connections() != 1 {
		t.Errorf("dials %d, second sink connections %d", c.Dials(), second.Connections())
	}
	// With no server at all: temporary, no reply code.
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
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
	c, err := mail.NewClient(mail.Config{Endpoint: sink.Endpoint(), From: "a@b.c"})
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
	testenv.Eventually(t, 30*time.Second, "the sink to see every connection closed after Close (QUIT)", func() bool { return sink.Open() == 0 })
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
	c := newClient(t, mail.Config{Endpoint: s.Endpoint()})
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
		{"smtp://mail.example.com", mail.Endpoint{Host: "mail.example.com", Port: 587}},
		{"SMTP://mail.example.com?starttls=opportunistic", mail.Endpoint{Host: "mail.example.com", Port: 587}},
		{"smtp://u%40x:p%3Aw@h:587?starttls=required", mail.Endpoint{Host: "h", Port: 587, TLS: mail.STARTTLSRequired, Username: "u@x", Password: "p:w"}},
		{"smtp://h:25?starttls=none", mail.Endpoint{Host: "h", Port: 25, TLS: mail.STARTTLSNone}},
		{"smtp://h?starttls=OFF", mail.Endpoint{Host: "h", Port: 587, TLS: mail.STARTTLSNone}},
		{"smtps://u:p@h", mail.Endpoint{Host: "h", Port: 465, TLS: mail.ImplicitTLS, Username: "u", Password: "p"}},
		{"smtps://u:p@h:2465?auth=scram-sha-256", mail.Endpoint{Host: "h", Port: 2465, TLS: mail.ImplicitTLS, Username: "u", Password: "p", Auth: "SCRAM-SHA-256"}},
		{"smtp://u:p@h?auth=login", mail.Endpoint{Host: "h", Port: 587, Username: "u", Password: "p", Auth: "LOGIN"}},
		{"smtp://u:p@h?auth=Cram-MD5&starttls=required", mail.Endpoint{Host: "h", Port: 587, TLS: mail.STARTTLSRequired, Username: "u", Password: "p", Auth: "CRAM-MD5"}},
		{"smtp://[::1]:2525", mail.Endpoint{Host: "::1", Port: 2525}},
	}
	for _, tc := range ok {
		got, err := mail.ParseURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"http://h", `scheme must be smtp or smtps, got "http"`},
		{"smtp://", "must name a host"},
		{"smtp://h:0", "port must be a number from 1 to 65535"},
		{"smtp://h:x", "must be a URL"},
		{"smtp://h?starttls=maybe", `starttls must be none, opportunistic or required, got "maybe"`},
		{"smtp://h?starttls=true", "starttls must be"},
		{"smtp://h?starttls=", "starttls must be"},
		{"smtps://h?starttls=required", "starttls does not apply to smtps://"},
		{"smtps://h?starttls=none", "starttls does not apply to smtps://"},
		{"smtp://h?tls=1", `unknown parameter "tls"`},
		{"smtp://h?starttls=none&starttls=required", `"starttls" given 2 times`},
		{"smtp://u:p@h?auth=kerberos", `auth must be one of plain|`},
		{"smtp://u:p@h?auth=custom", "auth must be one of"},
		{"smtp://h?auth=plain", "auth=plain needs a user"},
		{"::", "must be a URL"},
	}
	for _, tc := range bad {
		if _, err := mail.ParseURL(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	// The password never shows: not in errors, not in String().
	for _, in := range []string{"smtp://u:s3cr%zzet@h", "smtp://u:s3cret@h:99999", "smtp://u:s3cret@h?auth=nope", "ftp://u:s3cret@h", "smtp://u:s3cret@h?x=s3cret"} {
		if _, err := mail.ParseURL(in); err == nil || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("ParseURL(%q) error %v: want one without the password", in, err)
		}
	}
	ep := mail.MustParseURL("smtp://bob:s3cret@mail.example.com:2525?starttls=required&auth=plain")
	if got, want := ep.String(), "smtp://bob@mail.example.com:2525?starttls=required&auth=PLAIN"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := mail.MustParseURL("smtps://bob:s3cret@h").String(); got != "smtps://bob@h:465" {
		t.Errorf("String() = %q", got)
	}
	if got := mail.MustParseURL("smtp://h?starttls=off").String(); got != "smtp://h:587?starttls=none" {
		t.Errorf("String() = %q", got)
	}

	if _, err := mail.NewClient(mail.Config{Endpoint: mail.MustParseURL("smtp://h"), From: "not an address"}); err == nil || !strings.Contains(err.Error(), "MAIL_FROM") {
		t.Errorf("bad MAIL_FROM: %v", err)
	}
	if _, err := mail.NewClient(mail.Config{From: "a@b.c"}); err == nil || !strings.Contains(err.Error(), "SMTP_URL") {
		t.Errorf("no SMTP_URL: %v", err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	ca, err := testca.New("herald test sink")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, ca.Pool()
}

func send(t testing.TB, c *mail.Client, m mail.Message) mail.Result {
	t.Helper()
	if m.Subject == "" {
		m.Subject = "s"
	}
	if m.TextBody == "" {
		m.TextBody = "b"
	}
	return c.Send(ctx(t), m)
}

// The envelope as a strict server reads it: paths in angle brackets
// (RFC 5321 4.1.2), and SMTPUTF8 or BODY=8BITMIME only on a message that
// needs them, whether or not the server pipelines.
func TestEnvelopeOnTheWire(t *testing.T) {
	t.Parallel()
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			t.Parallel()
			srv := (&scriptServer{pipelining: pipelining, eightBitMIME: true, smtpUTF8: true}).start(t)
			c := newClient(t, mail.Config{Endpoint: mail.MustParseURL(srv.url("")), From: "Herald <herald@herald.test>", Concurrency: 1})

			if r := send(t, c, mail.Message{To: "ann@example.org", Subject: "Hello", TextBody: "plain ASCII\n"}); !r.OK() {
				t.Fatalf("ASCII message: %+v", r)
			}
			// Cyrillic subject and body: UTF-8, the subject in RFC 2047 words,
			// the body quoted-printable, so the message itself is 7-bit.
			subject, body := "Новости недели", "Здравствуйте, Анна!\nВот новости.\n"
			if r := send(t, c, mail.Message{To: "anna@example.org", ToName: "Анна", Subject: subject, TextBody: body}); !r.OK() {
				t.Fatalf("Cyrillic message: %+v", r)
			}
			// A non-ASCII recipient: SMTPUTF8, and the To header carries the
			// address as UTF-8, so the message is 8-bit too.
			if r := send(t, c, mail.Message{To: "пётр@пример.рф", Subject: subject, TextBody: body}); !r.OK() {
				t.Fatalf("UTF-8 recipient: %+v", r)
			}
			want := []string{
				"MAIL FROM:<herald@herald.test>",
				"RCPT TO:<ann@example.org>",
				"MAIL FROM:<herald@herald.test>",
				"RCPT TO:<anna@example.org>",
				"MAIL FROM:<herald@herald.test> BODY=8BITMIME SMTPUTF8",
				"RCPT TO:<пётр@пример.рф>",
			}
			if got := srv.Lines("MAIL", "RCPT"); !slices.Equal(got, want) {
				t.Errorf("envelope lines\n got %q\nwant %q", got, want)
			}
			data := srv.Data()
			if len(data) != 3 {
				t.Fatalf("server got %d messages, want 3", len(data))
			}
			for i, d := range data[:2] {
				for _, b := range d {
					if b >= 0x80 {
						t.Errorf("message %d has 8-bit data but went without BODY=8BITMIME", i+1)
						break
					}
				}
			}
			m, err := mail.ParseStored(data[1])
			if err != nil {
				t.Fatal(err)
			}
			if raw := m.Header.Get("Subject"); !strings.HasPrefix(strings.ToUpper(raw), "=?UTF-8?") {
				t.Errorf("Subject %q is not RFC 2047 encoded", raw)
			}
			if ct := m.Header.Get("Content-Type"); !strings.Contains(strings.ToLower(ct), "charset=utf-8") {
				t.Errorf("Content-Type %q", ct)
			}
			if m.Subject != subject || strings.ReplaceAll(m.Body, "\r\n", "\n") != body {
				t.Errorf("read back subject %q body %q", m.Subject, m.Body)
			}
		})
	}
}

// A non-ASCII address needs SMTPUTF8: without it the mail is refused
// permanently before MAIL, and the connection serves the next message.
func TestNonASCIIAddressWithoutSMTPUTF8(t *testing.T) {
	t.Parallel()
	srv := (&scriptServer{pipelining: true, eightBitMIME: true}).start(t)
	c := newClient(t, mail.Config{Endpoint: mail.MustParseURL(srv.url("")), Concurrency: 1})
	r := send(t, c, mail.Message{To: "zoë@example.org"})
	if r.Outcome != mail.Permanent || !errors.Is(r.Err, mail.ErrSMTPUTF8Unavailable) {
		t.Fatalf("%+v", r)
	}
	if r := send(t, c, mail.Message{To: "zoe@example.org"}); !r.OK() {
		t.Fatalf("next message: %+v", r)
	}
	if got := srv.Lines("MAIL"); len(got) != 1 || c.Dials() != 1 {
		t.Errorf("MAIL lines %q, dials %d: want one MAIL on one connection", got, c.Dials())
	}
}

// The Sink (go-smtp) offers SMTPUTF8, so an internationalized address can
// be tried locally end to end.
func TestNonASCIIAddressThroughSink(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint()})
	if r := send(t, c, mail.Message{To: "пётр@пример.рф", Subject: "Привет", TextBody: "Здравствуйте\n"}); !r.OK() {
		t.Fatalf("%+v", r)
	}
	msgs, err := sink.WaitFor(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if m := msgs[0]; len(m.Recipients) != 1 || m.Recipients[0] != "пётр@пример.рф" || m.Subject != "Привет" || m.Body != "Здравствуйте\r\n" {
		t.Errorf("stored to %q subject %q body %q", m.Recipients, m.Subject, m.Body)
	}
}

func TestEHLOName(t *testing.T) {
	t.Parallel()
	srv := (&scriptServer{pipelining: true}).start(t)
	ep := mail.MustParseURL(srv.url(""))
	for _, tc := range []struct{ from, helo, want string }{
		{"Herald <herald@herald.test>", "mta.herald.test", "EHLO mta.herald.test"},
		{"Herald <herald@news.herald.test>", "", "EHLO news.herald.test"},
		{"herald@localhost", "[127.0.0.1]", "EHLO [127.0.0.1]"},
	} {
		c := newClient(t, mail.Config{Endpoint: ep, From: tc.from, HELOName: tc.helo})
		if err := c.Check(ctx(t)); err != nil {
			t.Fatal(err)
		}
		lines := srv.Lines("EHLO")
		if got := lines[len(lines)-1]; got != tc.want {
			t.Errorf("from %q helo %q: greeted %q, want %q", tc.from, tc.helo, got, tc.want)
		}
		if got := c.HELOName(); "EHLO "+got != tc.want {
			t.Errorf("HELOName() = %q", got)
		}
	}
	for _, tc := range []struct{ from, helo, want string }{
		{"herald@herald.test", "vm", `SMTP_HELO_NAME: "vm" is not a fully qualified domain name`},
		{"herald@herald.test", "localhost", `SMTP_HELO_NAME: "localhost" is not a fully qualified`},
		{"herald@herald.test", "192.0.2.1", `"192.0.2.1" is not a fully qualified`},
		{"herald@herald.test", "[192.0.2.300]", "not an address literal"},
		{"herald@localhost", "", `MAIL_FROM's domain "localhost" is not a fully qualified domain name: set SMTP_HELO_NAME or use a fully qualified MAIL_FROM`},
		{"herald@[192.0.2.1]", "", "set SMTP_HELO_NAME"},
	} {
		_, err := mail.NewClient(mail.Config{Endpoint: ep, From: tc.from, HELOName: tc.helo})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("from %q helo %q: %v, want an error containing %q", tc.from, tc.helo, err, tc.want)
		}
	}
}

func TestCheckHELOName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"mail.example.com", "a.b", "xn--e1afmkfd.xn--p1ai", "mx-1.example.co.uk", "[192.0.2.1]", "[IPv6:2001:db8::1]"} {
		if err := mail.CheckHELOName(ok); err != nil {
			t.Errorf("CheckHELOName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "vm", "localhost", "example.", ".example.com", "a..b", "-a.example.com", "a-.example.com", "a_b.example.com",
		"192.0.2.1", "пример.рф", "[192.0.2.1", "[2001:db8::1]", "[IPv6:192.0.2.1]", "[IPv6:fe80::1%eth0]", strings.Repeat("a", 64) + ".com"} {
		if err := mail.CheckHELOName(bad); err == nil {
			t.Errorf("CheckHELOName(%q) accepted", bad)
		}
	}
}

func TestMessageIDTakesTheSenderDomain(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), From: "Herald <herald@news.herald.test>", Concurrency: 1})
	for _, id := range []string{"", "run-1.client-7", "<run-2.client-8>", "kept@elsewhere.test"} {
		if r := send(t, c, mail.Message{To: "a@example.org", MessageID: id}); !r.OK() {
			t.Fatal(r)
		}
	}
	msgs, err := sink.WaitFor(ctx(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[0].MessageID; !regexp.MustCompile(`^[A-Za-z0-9]{16,}@news\.herald\.test$`).MatchString(got) {
		t.Errorf("generated Message-ID %q, want random@news.herald.test", got)
	}
	for i, want := range []string{"run-1.client-7@news.herald.test", "run-2.client-8@news.herald.test", "kept@elsewhere.test"} {
		if got := msgs[i+1].MessageID; got != want {
			t.Errorf("Message-ID %q, want %q", got, want)
		}
	}
}

// A relay with a certificate from a private CA: refused (permanently) until
// the CA is trusted through LoadRootCAs, then verified like any other.
func TestPrivateCA(t *testing.T) {
	t.Parallel()
	serverTLS, caFile := privateCA(t)
	sink := startSink(t, mail.SinkConfig{TLSConfig: serverTLS})
	ep := mail.MustParseURL(sink.URL() + "?starttls=required")

	c := newClient(t, mail.Config{Endpoint: ep})
	r := send(t, c, mail.Message{To: "a@example.org"})
	var certErr *tls.CertificateVerificationError
	if r.Outcome != mail.Permanent || !errors.As(r.Err, &certErr) {
		t.Fatalf("without the CA: %+v", r)
	}
	roots, err := mail.LoadRootCAs(caFile)
	if err != nil {
		t.Fatal(err)
	}
	c = newClient(t, mail.Config{Endpoint: ep, RootCAs: roots})
	if r := send(t, c, mail.Message{To: "a@example.org"}); !r.OK() {
		t.Fatalf("with the CA: %+v", r)
	}
	if sink.Count() != 1 {
		t.Errorf("sink stored %d, want 1", sink.Count())
	}

	if _, err := mail.LoadRootCAs(filepath.Join(t.TempDir(), "missing.pem")); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: %v", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.LoadRootCAs(junk); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("file without a certificate: %v", err)
	}
}

// A refused MAIL or RCPT (4xx or 5xx) keeps the connection: the client
// says RSET and the next message, a retry included, goes over it. Only a
// 421 (or no reply) drops it. Over STARTTLS that saves a handshake per retry.
func TestRefusalsKeepTheConnection(t *testing.T) {
	t.Parallel()
	serverTLS, caFile := privateCA(t)
	roots, err := mail.LoadRootCAs(caFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pipelining, chunking bool
		tls                  bool
	}{{true, false, false}, {false, false, false}, {true, true, false}, {false, true, false},
		{true, false, true}, {false, false, true}, {true, true, true}} {
		t.Run(fmt.Sprintf("pipelining=%v,chunking=%v,starttls=%v", tc.pipelining, tc.chunking, tc.tls), func(t *testing.T) {
			t.Parallel()
			srv := &scriptServer{pipelining: tc.pipelining, chunking: tc.chunking, eightBitMIME: true,
				mail: func(n int) string {
					if n == 1 {
						return "452 4.3.1 Insufficient system storage"
					}
					return ""
				},
				rcpt: func(to string, n int) string {
					switch {
					case to == "grey@example.org" && n == 1:
						return "451 4.7.1 Greylisted, try again later"
					case to == "nobody@example.org":
						return "550 5.1.1 No such user"
					case to == "bye@example.org":
						return "421 4.3.2 Shutting down"
					}
					return ""
				}}
			query := ""
			if tc.tls {
				srv.tls, query = serverTLS, "?starttls=required"
			}
			srv.start(t)
			c := newClient(t, mail.Config{Endpoint: mail.MustParseURL(srv.url(query)), RootCAs: roots, Concurrency: 1})

			steps := []struct {
				to      string
				outcome mail.Outcome
				code    int
			}{
				{"first@example.org", mail.Temporary, 452}, // MAIL refused
				{"grey@example.org", mail.Temporary, 451},
				{"nobody@example.org", mail.Permanent, 550},
				{"grey@example.org", mail.Delivered, 250},
				{"first@example.org", mail.Delivered, 250},
			}
			for i, s := range steps {
				r := send(t, c, mail.Message{To: s.to})
				if r.Outcome != s.outcome || r.Code != s.code {
					t.Fatalf("step %d (%s): %+v, want %s %d", i+1, s.to, r, s.outcome, s.code)
				}
			}
			conns, handshakes := srv.Conns()
			if c.Dials() != 1 || conns != 1 {
				t.Errorf("dials %d, server connections %d: want 1 connection for all %d messages", c.Dials(), conns, len(steps))
			}
			if tc.tls && handshakes != 1 {
				t.Errorf("%d TLS handshakes, want 1", handshakes)
			}
			if got := len(srv.Lines("RSET")); got != 3 {
				t.Errorf("%d RSETs, want one after each of the 3 refusals", got)
			}
			// BDAT goes with the pipeline only; without PIPELINING, DATA.
			bdat, data := len(srv.Lines("BDAT")), len(srv.Lines("DATA"))
			if tc.pipelining && tc.chunking && (bdat != len(steps) || data != 0) {
				t.Errorf("%d BDAT and %d DATA commands, want BDAT with each of the %d messages", bdat, data, len(steps))
			}
			if !(tc.pipelining && tc.chunking) && bdat != 0 {
				t.Errorf("%d BDAT commands without both PIPELINING and CHUNKING", bdat)
			}
			if got := len(srv.Data()); got != 2 {
				t.Errorf("the server stored %d messages, want the 2 delivered", got)
			}
			// 421 closes: the next message needs a new connection.
			if r := send(t, c, mail.Message{To: "bye@example.org"}); r.Code != 421 || r.Outcome != mail.Temporary {
				t.Fatalf("421: %+v", r)
			}
			if r := send(t, c, mail.Message{To: "after@example.org"}); !r.OK() {
				t.Fatalf("after 421: %+v", r)
			}
			if c.Dials() != 2 {
				t.Errorf("dials %d after a 421, want 2", c.Dials())
			}
		})
	}
}

// privateCA makes a CA, a server certificate for 127.0.0.1 it signed, and
// the CA's certificate as a PEM file, as an operator would hand it over.
func privateCA(t testing.TB) (*tls.Config, string) {
	t.Helper()
	ca, err := testca.New("Herald Test Private CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("relay.herald.test")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, file
}

func TestSinkDiscardCountsAndStoresNothing(t *testing.T) {
	t.Parallel()
	var sizes []int
	var mu sync.Mutex
	s, err := mail.NewSink(mail.SinkConfig{Discard: true, OnStored: func(st mail.Stored) {
		mu.Lock()
		sizes = append(sizes, st.Size)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := newClient(t, mail.Config{Endpoint: s.Endpoint()})
	for i := range 3 {
		if r := c.Send(ctx(t), mail.Message{To: fmt.Sprintf("d%d@example.org", i), Subject: "s", TextBody: "body"}); !r.OK() {
			t.Fatal(r)
		}
	}
	if n := s.Count(); n != 3 {
		t.Errorf("count %d, want 3", n)
	}
	if msgs, err := s.Messages(); err != nil || len(msgs) != 0 {
		t.Errorf("messages %d, %v; a discarding sink keeps none", len(msgs), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 3 || sizes[0] <= 0 {
		t.Errorf("OnStored saw sizes %v", sizes)
	}
}
