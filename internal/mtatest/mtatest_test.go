package mtatest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// session is a raw SMTP conversation with an instance.
type session struct {
	t  *testing.T
	nc net.Conn
	c  *textproto.Conn
}

func dial(t *testing.T, m *MTA) *session {
	t.Helper()
	nc, err := net.DialTimeout("tcp", m.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", m.Addr(), err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	s := &session{t: t, nc: nc, c: textproto.NewConn(nc)}
	if _, _, err := s.c.ReadResponse(220); err != nil {
		t.Fatalf("banner: %v", err)
	}
	return s
}

// expect sends line and checks the reply code and the enhanced status code
// that starts its text; it returns the text.
func (s *session) expect(line string, code int, enhanced string) string {
	s.t.Helper()
	if err := s.c.PrintfLine("%s", line); err != nil {
		s.t.Fatalf("send %q: %v", line, err)
	}
	got, msg, err := s.c.ReadResponse(0)
	if err != nil && got == 0 {
		s.t.Fatalf("reply to %q: %v", line, err)
	}
	if got != code || !strings.HasPrefix(msg, enhanced) {
		s.t.Fatalf("%q: got %d %s, want %d %s…", line, got, msg, code, enhanced)
	}
	return msg
}

// reply sends line and returns the reply as it is.
func (s *session) reply(line string) (int, string) {
	s.t.Helper()
	if err := s.c.PrintfLine("%s", line); err != nil {
		s.t.Fatalf("send %q: %v", line, err)
	}
	code, msg, err := s.c.ReadResponse(0)
	if err != nil && code == 0 {
		s.t.Fatalf("reply to %q: %v", line, err)
	}
	return code, msg
}

// startTLS issues STARTTLS and returns the handshake's error; on success the
// session continues over TLS.
func (s *session) startTLS(cfg *tls.Config) (*tls.Conn, error) {
	s.t.Helper()
	s.expect("STARTTLS", 220, "2.0.0")
	tc := tls.Client(s.nc, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	s.c = textproto.NewConn(tc)
	return tc, nil
}

func (s *session) data(msg string) string {
	s.t.Helper()
	s.expect("DATA", 354, "")
	w := s.c.DotWriter()
	if _, err := w.Write([]byte(msg)); err != nil {
		s.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		s.t.Fatal(err)
	}
	code, text, err := s.c.ReadResponse(0)
	if err != nil && code == 0 {
		s.t.Fatal(err)
	}
	if code != 250 || !strings.HasPrefix(text, "2.0.0") {
		s.t.Fatalf("end of DATA: got %d %s, want 250 2.0.0", code, text)
	}
	return text
}

// TestStrictness runs its cases on one instance: they deliver nothing.
func TestStrictness(t *testing.T) {
	t.Parallel()
	m := Start(t, Options{})
	for name, f := range map[string]func(*testing.T, *MTA){
		"HELORequiresFullyQualifiedName": testHELORequiresFullyQualifiedName,
		"EnvelopeNeedsAngleBrackets":     testEnvelopeNeedsAngleBrackets,
		"BareLFAndEarlyPipelining":       testBareLFAndEarlyPipelining,
		"STARTTLSCertificate":            testSTARTTLSCertificate,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, m)
		})
	}
}

func testHELORequiresFullyQualifiedName(t *testing.T, m *MTA) {
	s := dial(t, m)
	s.expect("MAIL FROM:<herald@example.org>", 503, "5.5.1")
	s.expect("EHLO vm", 250, "")
	// Postfix answers HELO restrictions at RCPT (smtpd_delay_reject).
	s.expect("MAIL FROM:<herald@example.org>", 250, "2.1.0")
	msg := s.expect("RCPT TO:<someone@example.test>", 504, "5.5.2")
	if !strings.Contains(msg, "need fully-qualified hostname") {
		t.Errorf("504 text %q", msg)
	}

	s = dial(t, m)
	s.expect("EHLO mail.example.org", 250, "")
	s.expect("MAIL FROM:<herald@example.org>", 250, "2.1.0")
	s.expect("RCPT TO:<someone@example.test>", 250, "2.1.5")
	s.expect("QUIT", 221, "2.0.0")
}

func testEnvelopeNeedsAngleBrackets(t *testing.T, m *MTA) {
	s := dial(t, m)
	s.expect("EHLO mail.example.org", 250, "")
	s.expect("MAIL FROM:herald@example.org", 501, "5.1.7")
	s.expect("MAIL FROM:<herald@example.org>", 250, "2.1.0")
	s.expect("RCPT TO:someone@example.test", 501, "5.1.3")
	s.expect("RCPT TO:<someone@example.test>", 250, "2.1.5")
}

func testBareLFAndEarlyPipelining(t *testing.T, m *MTA) {
	s := dial(t, m)
	s.expect("EHLO mail.example.org", 250, "")
	s.expect("MAIL FROM:<herald@example.org>", 250, "2.1.0")
	s.expect("RCPT TO:<someone@example.test>", 250, "2.1.5")
	s.expect("DATA", 354, "")
	if _, err := io.WriteString(s.nc, "Subject: bare\r\n\r\nline one\nline two\r\n.\r\n"); err != nil {
		t.Fatal(err)
	}
	code, msg, err := s.c.ReadResponse(0)
	if code != 550 || !strings.HasPrefix(msg, "5.5.2") || !strings.Contains(msg, "bare <LF>") {
		t.Fatalf("end of DATA with a bare LF: got %d %s (%v), want 550 5.5.2", code, msg, err)
	}
	s.expect("RSET", 250, "2.0.0")

	// A command sent before the reply to EHLO arrived.
	s = dial(t, m)
	if _, err := io.WriteString(s.nc, "EHLO mail.example.org\r\nMAIL FROM:<herald@example.org>\r\n"); err != nil {
		t.Fatal(err)
	}
	code, msg, err = s.c.ReadResponse(0)
	if code != 554 || !strings.HasPrefix(msg, "5.5.0") {
		t.Fatalf("pipelined EHLO: got %d %s (%v), want 554 5.5.0", code, msg, err)
	}
	if _, _, err := s.c.ReadResponse(0); err == nil {
		t.Fatal("connection still open after the synchronization error")
	}
}

func testSTARTTLSCertificate(t *testing.T, m *MTA) {
	s := dial(t, m)
	if ehlo := s.expect("EHLO mail.example.org", 250, ""); !strings.Contains(ehlo, "\nSTARTTLS") {
		t.Fatalf("EHLO does not offer STARTTLS:\n%s", ehlo)
	}
	tc, err := s.startTLS(&tls.Config{RootCAs: m.RootCAs(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("handshake with the CA: %v", err)
	}
	if len(tc.ConnectionState().VerifiedChains) == 0 {
		t.Fatal("no verified chain")
	}
	if ehlo := s.expect("EHLO mail.example.org", 250, ""); strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("STARTTLS offered again over TLS:\n%s", ehlo)
	}

	s = dial(t, m)
	s.expect("EHLO mail.example.org", 250, "")
	_, err = s.startTLS(&tls.Config{ServerName: "127.0.0.1"})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("handshake without the CA: got %v, want an unknown authority error", err)
	}
}

func TestRecipientAnswers(t *testing.T) {
	t.Parallel()
	m := Start(t, Options{GreylistDelay: 2 * time.Second})

	s := dial(t, m)
	s.expect("EHLO mail.example.org", 250, "")
	s.expect("MAIL FROM:<herald@example.org>", 250, "2.1.0")
	if msg := s.expect("RCPT TO:<"+RejectRecipient+">", 550, "5.1.1"); !strings.Contains(msg, "no such user") {
		t.Errorf("550 text %q", msg)
	}
	s.expect("RCPT TO:<someone@example.org>", 554, "5.7.1")
	if msg := s.expect("RCPT TO:<"+GreyRecipient+">", 450, "4.2.0"); !strings.Contains(msg, "Greylisted") {
		t.Errorf("450 text %q", msg)
	}
	s.expect("QUIT", 221, "2.0.0")

	// Retry in fresh sessions (each refusal counts towards smtpd's error
	// limits) until postgrey lets the triplet through.
	deadline := time.Now().Add(m.GreylistDelay() + 30*time.Second)
	for {
		s = dial(t, m)
		s.expect("EHLO mail.example.org", 250, "")
		s.expect("MAIL FROM:<herald@example.org>", 250, "2.1.0")
		code, msg := s.reply("RCPT TO:<" + GreyRecipient + ">")
		if code == 250 && strings.HasPrefix(msg, "2.1.5") {
			break
		}
		if code != 450 || !strings.HasPrefix(msg, "4.2.0") {
			t.Fatalf("greylisted retry: got %d %s, want 450 4.2.0 or 250 2.1.5", code, msg)
		}
		s.expect("QUIT", 221, "2.0.0")
		if time.Now().After(deadline) {
			t.Fatalf("still greylisted after %v", m.GreylistDelay())
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.data("From: <herald@example.org>\r\nTo: <grey-me@example.test>\r\nSubject: greylisted\r\n\r\nhello\r\n")
	s.expect("QUIT", 221, "2.0.0")
	d := m.WaitMessages(t, 1, 10*time.Second)[0]
	if d.Recipient != GreyRecipient || !strings.HasPrefix(d.Header.Get("X-Greylist"), "delayed ") {
		t.Errorf("delivered: recipient %q, X-Greylist %q", d.Recipient, d.Header.Get("X-Greylist"))
	}

	// The triplet includes the sender: another one starts over.
	s = dial(t, m)
	s.expect("EHLO mail.example.org", 250, "")
	s.expect("MAIL FROM:<other@example.org>", 250, "2.1.0")
	s.expect("RCPT TO:<"+GreyRecipient+">", 450, "4.2.0")
}

func TestDeliveryOverTLS(t *testing.T) {
	t.Parallel()
	m := Start(t, Options{})
	s := dial(t, m)
	s.expect("EHLO mail.example.org", 250, "")
	if _, err := s.startTLS(&tls.Config{RootCAs: m.RootCAs(), ServerName: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	s.expect("EHLO mail.example.org", 250, "")
	s.expect("MAIL FROM:<herald@example.org>", 250, "2.1.0")
	s.expect("RCPT TO:<someone@example.test>", 250, "2.1.5")
	s.expect("RCPT TO:<Other@Example.test>", 250, "2.1.5")
	s.data("From: Herald <herald@example.org>\r\nTo: someone@example.test\r\nSubject: hello\r\n" +
		"Message-ID: <1@example.org>\r\n\r\nfirst line\r\n.leading dot\r\n")
	s.expect("QUIT", 221, "2.0.0")

	all := m.WaitMessages(t, 2, 10*time.Second)
	if len(all) != 2 {
		t.Fatalf("%d messages, want one per recipient", len(all))
	}
	got := m.MessagesTo(t, "someone@example.test")
	if len(got) != 1 {
		t.Fatalf("%d messages to someone@example.test", len(got))
	}
	d := got[0]
	if d.Sender != "herald@example.org" || d.Header.Get("Subject") != "hello" || d.Header.Get("X-Original-To") != "someone@example.test" {
		t.Errorf("sender %q, subject %q, X-Original-To %q", d.Sender, d.Header.Get("Subject"), d.Header.Get("X-Original-To"))
	}
	if string(d.Body) != "first line\n.leading dot\n" {
		t.Errorf("body %q", d.Body)
	}
	received := strings.Join(d.Header["Received"], "\n")
	if !strings.Contains(received, "(using TLS") || !strings.Contains(received, "with ESMTPS") {
		t.Errorf("Received does not show TLS:\n%s", received)
	}
	if other := m.MessagesTo(t, "other@example.test"); len(other) != 1 {
		t.Errorf("%d messages to other@example.test", len(other))
	}
	if log := m.Maillog(t); !strings.Contains(log, "status=sent (delivered to maildir)") {
		t.Errorf("maillog has no delivery:\n%s", log)
	}
}

func TestDownAndUp(t *testing.T) {
	t.Parallel()
	m := Start(t, Options{})
	m.Down(t)
	if c, err := net.DialTimeout("tcp", m.Addr(), time.Second); err == nil {
		_ = c.Close()
		t.Fatal("port still accepts after Down")
	}
	m.Up(t)
	s := dial(t, m)
	s.expect("EHLO mail.example.org", 250, "")
	s.expect("MAIL FROM:<>", 250, "2.1.0")
	s.expect("RCPT TO:<someone@example.test>", 250, "2.1.5")
	s.data(fmt.Sprintf("Subject: after restart\r\nDate: %s\r\n\r\nbody\r\n", time.Now().Format(time.RFC1123Z)))
	if d := m.WaitMessages(t, 1, 10*time.Second)[0]; d.Sender != "" {
		t.Errorf("null sender delivered as %q", d.Sender)
	}
}
