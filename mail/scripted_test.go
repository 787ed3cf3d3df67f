package mail_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// scriptServer is a small SMTP server on loopback that stands in for a
// third-party MTA as strict as Postfix with strict_rfc821_envelopes: it
// refuses an envelope address without angle brackets and a MAIL parameter
// for an extension it did not offer, records every command line it reads,
// and answers MAIL and RCPT as the test scripts. Unlike the Sink (go-smtp,
// which is lenient and always offers PIPELINING) its extensions are chosen.
type scriptServer struct {
	pipelining, chunking, eightBitMIME, smtpUTF8 bool
	tls                                          *tls.Config // offers STARTTLS when set
	// mail answers the nth MAIL command (1-based, across connections) with
	// a whole reply line, "" for 250; rcpt answers the nth RCPT for one
	// address (folded to lower case) the same way.
	mail func(n int) string
	rcpt func(to string, n int) string

	ln         net.Listener
	mu         sync.Mutex
	lines      []string
	conns      int
	handshakes int
	mails      int
	attempts   map[string]int
	data       [][]byte
}

func (s *scriptServer) start(t testing.TB) *scriptServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.attempts = ln, map[string]int{}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
	return s
}

func (s *scriptServer) url(query string) string { return "smtp://" + s.ln.Addr().String() + query }

// Lines are the command lines read so far whose verb is one of verbs
// (all of them when none is given).
func (s *scriptServer) Lines(verbs ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.lines {
		verb, _, _ := strings.Cut(l, " ")
		verb, _, _ = strings.Cut(verb, ":")
		if len(verbs) == 0 || containsFold(verbs, verb) {
			out = append(out, l)
		}
	}
	return out
}

func (s *scriptServer) Conns() (conns, handshakes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.handshakes
}

func (s *scriptServer) Data() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.data...)
}

func containsFold(list []string, v string) bool {
	for _, w := range list {
		if strings.EqualFold(w, v) {
			return true
		}
	}
	return false
}

var (
	mailRe = regexp.MustCompile(`^MAIL FROM:<([^<>]*)>((?: [A-Z0-9=-]+)*)$`)
	rcptRe = regexp.MustCompile(`^RCPT TO:<([^<>]+)>$`)
)

func (s *scriptServer) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	reply := func(lines ...string) bool {
		_, err := conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
		return err == nil
	}
	isTLS := false
	var from string
	var rcpts int
	if !reply("220 script.test ESMTP") {
		return
	}
	for {
		raw, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line := strings.TrimRight(raw, "\r\n")
		s.mu.Lock()
		s.lines = append(s.lines, line)
		s.mu.Unlock()
		verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
		verb, _, _ = strings.Cut(verb, ":")
		var ok bool
		switch verb {
		case "EHLO":
			ext := []string{"250-script.test"}
			if s.pipelining {
				ext = append(ext, "250-PIPELINING")
			}
			if s.eightBitMIME {
				ext = append(ext, "250-8BITMIME")
			}
			if s.chunking {
				ext = append(ext, "250-CHUNKING")
			}
			if s.smtpUTF8 {
				ext = append(ext, "250-SMTPUTF8")
			}
			if s.tls != nil && !isTLS {
				ext = append(ext, "250-STARTTLS")
			}
			ext = append(ext, "250 ENHANCEDSTATUSCODES")
			ok = reply(ext...)
		case "HELO":
			ok = reply("250 script.test")
		case "STARTTLS":
			if s.tls == nil || isTLS {
				ok = reply("502 5.5.1 STARTTLS not offered")
				break
			}
			if !reply("220 2.0.0 Ready to start TLS") {
				return
			}
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			s.mu.Lock()
			s.handshakes++
			s.mu.Unlock()
			conn, r, isTLS, from, rcpts = tc, bufio.NewReader(tc), true, "", 0
			ok = true
		case "MAIL":
			m := mailRe.FindStringSubmatch(line)
			if m == nil {
				ok = reply("501 5.1.7 Bad sender address syntax")
				break
			}
			if msg := s.badParams(m[2]); msg != "" {
				ok = reply(msg)
				break
			}
			s.mu.Lock()
			s.mails++
			n := s.mails
			s.mu.Unlock()
			if s.mail != nil {
				if ans := s.mail(n); ans != "" {
					ok = reply(ans)
					break
				}
			}
			from, rcpts = m[1], 0
			ok = reply("250 2.1.0 Ok")
		case "RCPT":
			m := rcptRe.FindStringSubmatch(line)
			switch {
			case from == "":
				ok = reply("503 5.5.1 Error: need MAIL command")
			case m == nil:
				ok = reply("501 5.1.3 Bad recipient address syntax")
			default:
				key := strings.ToLower(m[1])
				s.mu.Lock()
				s.attempts[key]++
				n := s.attempts[key]
				s.mu.Unlock()
				if s.rcpt != nil {
					if ans := s.rcpt(key, n); ans != "" {
						ok = reply(ans)
						if strings.HasPrefix(ans, "421") {
							return
						}
						break
					}
				}
				rcpts++
				ok = reply("250 2.1.5 Ok")
			}
		case "DATA":
			if rcpts == 0 {
				ok = reply("554 5.5.1 Error: no valid recipients")
				break
			}
			if !reply("354 End data with <CR><LF>.<CR><LF>") {
				return
			}
			var msg bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.data = append(s.data, msg.Bytes())
			s.mu.Unlock()
			from, rcpts = "", 0
			ok = reply(fmt.Sprintf("250 2.0.0 Ok: queued as Q%d", len(s.Data())))
		case "BDAT":
			// One chunk, LAST: the client never splits a message.
			var size int
			if _, err := fmt.Sscanf(line, "BDAT %d LAST", &size); err != nil || !s.chunking {
				ok = reply("501 5.5.4 Syntax: BDAT size LAST")
				break
			}
			chunk := make([]byte, size)
			if _, err := io.ReadFull(r, chunk); err != nil {
				return
			}
			if rcpts == 0 { // the chunk is read and dropped, as RFC 3030 says
				ok = reply("554 5.5.1 Error: no valid recipients")
				break
			}
			s.mu.Lock()
			s.data = append(s.data, chunk)
			n := len(s.data)
			s.mu.Unlock()
			from, rcpts = "", 0
			ok = reply(fmt.Sprintf("250 2.0.0 Ok: queued as Q%d", n))
		case "RSET":
			from, rcpts = "", 0
			ok = reply("250 2.0.0 Ok")
		case "NOOP":
			ok = reply("250 2.0.0 Ok")
		case "QUIT":
			reply("221 2.0.0 Bye")
			return
		default:
			ok = reply("502 5.5.2 Error: command not recognized")
		}
		if !ok {
			return
		}
	}
}

// badParams refuses MAIL parameters for extensions the server did not offer.
func (s *scriptServer) badParams(params string) string {
	for _, p := range strings.Fields(params) {
		switch {
		case p == "BODY=8BITMIME" && s.eightBitMIME:
		case p == "SMTPUTF8" && s.smtpUTF8:
		default:
			return "555 5.5.4 Unsupported option: " + p
		}
	}
	return ""
}
