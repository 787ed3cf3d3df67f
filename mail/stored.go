package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// StoredMessage is a message the Sink stored, read back from its .eml file.
type StoredMessage struct {
	File       string         // file name inside the Sink's directory
	From       string         // envelope sender (MAIL FROM)
	Recipients []string       // envelope recipients (RCPT TO)
	Header     netmail.Header // the message's own header
	To         string         // To header, as written
	Subject    string         // Subject, RFC 2047 words decoded
	MessageID  string         // Message-ID without the angle brackets
	Body       string         // the text body, transfer encoding undone
	HTML       string         // the HTML part of a multipart message, if any
}

// ReadDir reads every .eml file in dir, oldest first (file names sort in
// the order the Sink stored them).
func ReadDir(dir string) ([]StoredMessage, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mail: read %s: %w", dir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".eml") && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]StoredMessage, 0, len(names))
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("mail: read %s: %w", n, err)
		}
		m, err := ParseStored(raw)
		if err != nil {
			return nil, fmt.Errorf("mail: parse %s: %w", n, err)
		}
		m.File = n
		out = append(out, m)
	}
	return out, nil
}

// ParseStored parses one stored message: the Sink's envelope lines
// (Return-Path, Delivered-To) and the message itself.
func ParseStored(raw []byte) (StoredMessage, error) {
	var m StoredMessage
	// The envelope lines come first; the message's own header follows.
	for {
		line, rest, ok := bytes.Cut(raw, []byte("\r\n"))
		if !ok {
			break
		}
		s := string(line)
		if v, ok := strings.CutPrefix(s, "Return-Path: "); ok && m.From == "" && len(m.Recipients) == 0 {
			m.From = strings.Trim(v, "<>")
		} else if v, ok := strings.CutPrefix(s, "Delivered-To: "); ok {
			m.Recipients = append(m.Recipients, v)
		} else {
			break
		}
		raw = rest
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, err
	}
	m.Header = msg.Header
	m.To = msg.Header.Get("To")
	dec := new(mime.WordDecoder)
	m.Subject = msg.Header.Get("Subject")
	if s, err := dec.DecodeHeader(m.Subject); err == nil {
		m.Subject = s
	}
	m.MessageID = strings.Trim(strings.TrimSpace(msg.Header.Get("Message-ID")), "<>")
	if err := readBodies(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return m, fmt.Errorf("body: %w", err)
	}
	return m, nil
}

// readBodies sets m's text body and HTML part: the whole body of a
// single-part message (text unless it says text/html), or the first
// text/plain and text/html parts of a multipart one, however nested.
func readBodies(m *StoredMessage, contentType, cte string, r io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err == nil && strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := readBodies(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // skips line breaks itself
	}
	b, err := io.ReadAll(r)
	switch {
	case err != nil:
		return err
	case mt == "text/html":
		if m.HTML == "" {
			m.HTML = string(b)
		}
	case mt == "" || mt == "text/plain":
		if m.Body == "" {
			m.Body = string(b)
		}
	}
	return nil
}
